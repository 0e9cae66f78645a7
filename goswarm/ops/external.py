"""`image:` services: images goswarm does not build (the blog's add-ons), deployed as they are. Each must be on
every node that may run it, or pullable there; what is missing is said in one line, before anything changes."""
from goswarm import parallel
from goswarm.errors import PipelineError
from goswarm.io import engine, engineapi, machines
from goswarm.ops import image as images
from goswarm.ops import swarm
from goswarm.plan import config, placement


def split(ref: str) -> tuple:
    """(repository, tag) of a reference: `latest` when it names none, `digest` when it names one. Pure."""
    if "@" in ref:
        return ref.partition("@")[0], "digest"
    head, _, last = ref.rpartition("/")
    if ":" in last:
        name, _, tag = last.partition(":")
        return (f"{head}/{name}" if head else name), tag
    return ref, "latest"


def eligible(service: config.Service, nodes: list) -> list:
    """The ready, active nodes its constraints let it run on. Pure."""
    candidates = placement.usable(nodes)
    for text in service.constraints:
        constraint = placement.parse(text)
        candidates = [n for n in candidates if constraint.matches(n)]
    return candidates


def clients(cfg, nodes: list) -> list:
    """(node name, client) for each node: the target engine for its own node, a machine's for the others;
    None for a node that is no known machine (its engine pulls for itself, if it can)."""
    target = engine.client(cfg.target_url)
    own = swarm.swarm_info(target).get("NodeID")
    known = {m.host: m for m in machines.all_machines()}
    names = swarm.node_names(nodes)

    def client_of(node):  # over SSH a new client is a handshake: the nodes' are made side by side
        if node["ID"] == own:
            return target
        machine = known.get(node["Status"].get("Addr"))
        return engine.client(machine.url) if machine else None

    return [(names[node["ID"]], client) for node, client in
            zip(nodes, parallel.each(client_of, nodes, parallel.NODES))]


def present_or_pulled(sh, client, where: str, ref: str, field: str):
    """The image's inspect on that engine, pulled first when it lacks it; a failed pull is one line."""
    found = engine.find_image(client, ref)
    if found is not None:
        return found.attrs
    if sh.dry:
        print(f"[dry] would pull {ref} on {where} (it does not have it)")
        return None
    print(f"-> pull {ref} on {where} (it does not have it)")
    try:
        with engine.errors("pull"):
            return client.images.pull(ref).attrs
    except engine.EngineLost:
        raise
    except PipelineError as e:
        reason = str(e).removeprefix("pull: ")
        raise PipelineError(f"{field} {ref} is not on {where} and cannot be pulled there ({reason}); "
                            f"load it there (docker save | docker load) or push it to a registry the nodes reach; "
                            f"nothing was changed") from None


def resolve(sh, cfg, service: config.Service, section: str = "services") -> images.Image:
    """The Image of an `image:` service, once each node that may run it has it (or has pulled it). section: where
    the service is configured (`services`, or `addons`), for the error."""
    client = engine.client(cfg.target_url)
    with engine.errors("listing the swarm's nodes"):
        nodes = engineapi.nodes(client)
    candidates = eligible(service, nodes)
    attrs = None
    with engine.errors(f"looking for {service.image}"):
        for where, node_client in clients(cfg, candidates):
            if node_client is None:
                print(f"{service.name}: {where} is no known machine; its engine pulls {service.image} if it can")
                continue
            attrs = present_or_pulled(sh, node_client, where, service.image,
                                      f"{section}.{service.name}.image") or attrs
    repository, tag = split(service.image)
    check = ((attrs or {}).get("Config") or {}).get("Healthcheck")
    # deployed by the reference as given: a node without it can pull it; a digest is kept as such
    return images.Image(service.name, repository, tag, digest=service.image if "@" in service.image else "",
                        healthcheck=check)


def resolve_all(sh, cfg, services: list, section: str = "services") -> dict:
    """name -> Image for the `image:` services among `services`."""
    return {s.name: resolve(sh, cfg, s, section) for s in services if not s.built}
