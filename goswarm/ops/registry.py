"""The engines that talk to the registry, logged in to it with the project's credentials: the one that
pushes (at image.registry) and the one that deploys (its nodes pull from image.node_registry, else
image.registry). Every service create and update goes through the deploying one, so it carries them."""
from goswarm.io import engine, environment


def host(registry: str) -> str:
    """registry.example.com:5000/team -> registry.example.com:5000. Pure."""
    return registry.strip("/").split("/", 1)[0]


def push_client(cfg):
    """The engine that builds and pushes, logged in to image.registry when there are credentials."""
    client = engine.client()
    if cfg.registry:
        engine.login(client, host(cfg.registry), environment.registry_credentials(host(cfg.registry)), "push to")
    return client


def target_client(cfg, lane: int = 0):
    """The swarm manager that deploys, logged in to the registry as its nodes name it. lane > 0: a client of its
    own connection (engine.client)."""
    client = engine.client(cfg.target_url, lane)
    if cfg.registry:
        credentials = environment.registry_credentials(host(cfg.registry))
        engine.login(client, host(cfg.node_registry or cfg.registry), credentials, "pull from")
    return client
