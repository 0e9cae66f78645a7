"""`goswarm check`: what a redeploy would trip over, found without changing anything: the config (read before
this runs), Go and the platforms, each service's Dockerfile and the base images it needs, its secrets and
configs, the engine and the swarm, the networks, ownership, published ports and placement.

Each check prints one line, ok or the problem; any problem makes the run exit 1.
"""
from goswarm.errors import ConfigError, PipelineError
from goswarm.io import engine, engineapi, environment
from goswarm.ops import build, image, rollout, secrets, swarm
from goswarm.plan import config, output, ownership, placement, platforms, servicespec


class Checks:
    """The lines so far, and how many were problems."""

    def __init__(self):
        self.problems = 0

    def run(self, what: str, check) -> object:
        """check() returns what to say when all is well (or None to say nothing), or raises with the problem."""
        try:
            said = check()
        except (PipelineError, ConfigError) as e:
            self.problems += 1
            print(f"problem: {what}: {e}")
            return None
        if said:
            print(f"ok: {what}: {said}")
        return said


def check(sh, cfg, services: list) -> None:
    """Run every check; PipelineError (one line) when any found a problem."""
    checks = Checks()
    print(f"ok: config: {len(cfg.services)} service(s) ({len(services)} checked), project {cfg.project}"
          + (f", destination {cfg.destination}" if cfg.destination else ""))
    built = [s for s in services if s.built]
    if built:
        checks.run("Go", lambda: _go(sh, cfg))
    for service in built:
        checks.run(f"{service.name}'s Dockerfile", lambda s=service: _dockerfile(cfg, s, None))
    for service in services:
        if service.secrets or service.configs:
            checks.run(f"{service.name}'s secrets and configs", lambda s=service: _files(s))
    reached = checks.run("engine", lambda: _engine(cfg))
    if reached is None:
        raise PipelineError(f"check found {checks.problems} problem(s) (the swarm's checks need the engine); "
                            f"nothing was changed")
    client = engine.client(cfg.target_url)
    for service in built:
        if service.dockerfile or (service.path / "Dockerfile").is_file():
            checks.run(f"{service.name}'s base images", lambda s=service: _dockerfile(cfg, s, client))
    checks.run(f"network {cfg.network}", lambda: swarm.network_id(client, cfg.network) and "exists")
    with engine.errors("listing the swarm's nodes and services"):
        nodes, others = engineapi.nodes(client), engineapi.services(client)
    names = swarm.node_names(nodes)
    for service in services:
        checks.run(service.name, lambda s=service: _service(cfg, client, s, nodes, others, names))
    if checks.problems:
        raise PipelineError(f"check found {checks.problems} problem(s); nothing was changed")
    print("check: no problem found; nothing was changed")


def _go(sh, cfg) -> str:
    version, supported = build.go_facts(sh, cfg.dist)
    platforms.validate(cfg.platforms, supported)
    return f"{version}, builds {', '.join(str(p) for p in cfg.platforms)}"


def _dockerfile(cfg, service, client) -> str:
    dockerfile = image.dockerfile_for(cfg, service)
    target = cfg.platforms[0]
    planned = image.build_plan(service, dockerfile, platforms.artifact_name(service.name, target), target)
    if client is None:
        how = "goswarm's binary in its final stage" if planned.how == "binary" else "built as written"
        return f"{output.shown(dockerfile)}: {how}"
    missing = image.missing_bases(client, service, dockerfile, planned)
    if missing:
        raise PipelineError(missing.removesuffix("; nothing was deployed"))
    return f"the engine has {', '.join(planned.bases)}" if planned.bases else None


def _files(service) -> str:
    for item in (*service.secrets, *service.configs):
        secrets.read(service.name, item)  # the value itself goes nowhere
    return f"{len(service.secrets) + len(service.configs)} readable"


def _engine(cfg) -> str:
    swarm.manager_client(cfg)
    return f"{cfg.target_url} answers, and is a swarm manager"


def _service(cfg, client, service, nodes, others, names) -> str:
    current = rollout.inspect(client, service.name)
    claim = ownership.check(service.name, current, cfg.project, adopt=False)
    if claim:
        raise PipelineError(claim)
    swarm.extra_networks(client, service)
    refusal = placement.refusal(service, nodes, cfg.platforms if service.built else [], names)
    if refusal:
        raise PipelineError(refusal)
    port = service.publish
    ours = {service.name, config.edge_of(service, environment.GO_SOURCES).name}
    taken = servicespec.port_conflicts(port, others, ours) if port else None
    if taken:
        raise PipelineError(f"port {port} is published by service {taken}; pick another publish: port")
    state = "deployed" if current else "not deployed yet"
    return f"{state}; can be placed" + (f"; port {port} is free for it" if port else "")
