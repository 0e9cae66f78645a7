"""`goswarm prune`: this project's old images and dead task containers go, on this engine and on every node the
images were shipped to. Each repository keeps its newest `keep` images, the images of each service's last `keep`
releases in the history (what `deploy.rollback --to` goes back to), and any image that a service's spec or its
previous spec (what a rollback puts back) runs, whatever its age.
"""
from goswarm import parallel
from goswarm.io import engine, engineapi, machines
from goswarm.ops import history, rollout, ship
from goswarm.plan import config, output

DEAD = ("exited", "dead", "created")


def repositories(cfg, services: list) -> list:
    """The image repositories of these services: theirs and their edges'."""
    built = [s for s in services if s.built]
    names = {s.name for s in built} | {config.edge_image(s) for s in built if s.publish_mode == "edge"}
    return sorted(cfg.repository(name) for name in names)


def referenced(client, cfg) -> set:
    """What the specs of this project's services (and their edges) run, and what a rollback would run: image ids
    (sha256:...) and registry digests (repo@sha256:...). All of them: services share the edge's repository."""
    found = set()
    for service in cfg.services.values():
        for name in (service.name, f"{service.name}-edge"):
            current = rollout.inspect(client, name) or {}
            for spec in (current.get("Spec"), current.get("PreviousSpec")):
                image = (((spec or {}).get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("Image")
                if image:
                    found |= {image, digest_ref(image)}
    return found


def digest_ref(image: str) -> str:
    """repo:tag@sha256:... as the engine lists it among an image's RepoDigests (repo@sha256:...). Pure."""
    if "@" not in image:
        return image
    name, digest = image.split("@", 1)
    if ":" in name.rsplit("/", 1)[-1]:
        name = name.rsplit(":", 1)[0]
    return f"{name}@{digest}"


def stale(images: list, keep: int, wanted: set) -> list:
    """The images of one repository to remove: all but the newest `keep` and those in `wanted` (ids or
    digests). images: the engine's image list entries. Pure."""
    newest = sorted(images, key=lambda i: i.attrs.get("Created", ""), reverse=True)
    return [i for i in newest[keep:] if i.id not in wanted and not set(i.attrs.get("RepoDigests") or ()) & wanted]


def engines(cfg) -> dict:
    """Where images of this project may be: this engine, and the swarm's other nodes that are known machines."""
    builder, target = engine.client(), engine.client(cfg.target_url)
    found = {"this engine": builder}
    with engine.errors("listing the swarm's nodes"):
        nodes = engineapi.nodes(target)
        builder_node = builder.info().get("Swarm", {}).get("NodeID", "")
    known = {m.host: m for m in machines.all_machines()}
    targets, skipped = ship.ship_targets(nodes, builder_node, known)
    for note in skipped:
        print(f"prune: skipped, {note}")
    for machine in targets:
        found[machine.name] = engine.client(machine.url)
    return found


def prune_one(sh, cfg, services: list, where: str, client, keep: int, wanted: set) -> tuple:
    """(images removed, bytes freed, containers removed) on one engine."""
    containers = images = freed = 0
    names = [s.name for s in services] + [f"{s.name}-edge" for s in services]
    with engine.errors(f"listing containers on {where}"):
        dead = [c for name in names for c in client.containers.list(
            all=True, filters={"label": f"com.docker.swarm.service.name={name}"}) if c.status in DEAD]
    for container in dead:
        with engine.errors(f"removing container {container.name} on {where}"):
            sh.act(f"remove dead container {container.name} on {where}", container.remove)
        containers += 1
    for repository in repositories(cfg, services):
        with engine.errors(f"listing images of {repository} on {where}"):
            listed = client.images.list(name=repository)
        for image in stale(listed, keep, wanted):
            shown = ", ".join(image.tags) or image.short_id
            try:
                sh.act(f"remove image {shown} on {where} ({output.size(image.attrs.get('Size', 0))})",
                       client.images.remove, image.id, force=True, noprune=False)
            except engine.sdk().errors.APIError as e:  # a container still uses it: it stays
                print(f"prune: {shown} on {where} stays: {e.explanation or e}")
                continue
            images += 1
            freed += image.attrs.get("Size", 0)
    return images, freed, containers


def in_history(client, cfg, services: list, keep: int) -> set:
    """What the last `keep` releases in the project's history ran, for each of these services and their edges."""
    entries = history.read(client, cfg.project)
    keys = {s.name for s in services} | {config.edge_image(s) for s in services if s.publish_mode == "edge"}
    runs = {r["runs"] for key in keys for r in history.plan.releases_of(entries, key)[:keep]}
    return runs | {digest_ref(r) for r in runs}


def prune(sh, cfg, services: list, keep: int = 3) -> None:
    """Remove the old images and dead task containers of these services (and their edges) everywhere."""
    client = engine.client(cfg.target_url)
    wanted = referenced(client, cfg) | in_history(client, cfg, services, keep)
    found = engines(cfg)
    results = parallel.each(lambda item: (item[0], prune_one(sh, cfg, services, item[0], item[1], keep, wanted)),
                            list(found.items()), parallel.NODES)
    images = sum(r[1][0] for r in results)
    freed = sum(r[1][1] for r in results)
    containers = sum(r[1][2] for r in results)
    verb = "would remove" if sh.dry else "removed"
    print(f"prune: {verb} {images} image(s) ({output.size(freed)}) and {containers} dead container(s) on "
          f"{len(found)} engine(s); kept the newest {keep} of each repository, the last {keep} releases of each "
          f"service and every image a spec or its previous spec runs")
