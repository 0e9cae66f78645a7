"""image.ship: without a registry, copy images from the engine that built them into the swarm's nodes."""
from concurrent.futures import ThreadPoolExecutor

from tasks import engine, machines, output
from tasks.errors import PipelineError
from tasks.image import _find


def ship_targets(nodes: list, builder_node: str, known: dict) -> tuple:
    """(machines to ship to, nodes left out and why) for the swarm's nodes. Pure.

    `known` maps an address to its machine record. The builder's own node already has the images;
    a node that is down cannot take them now (the next redeploy ships to it once it is back).
    """
    targets, skipped = [], []
    for node in nodes:
        addr = node["Status"].get("Addr", "")
        if node["ID"] == builder_node:
            continue
        if node["Status"]["State"] != "ready":
            skipped.append(f"{known[addr].name if addr in known else addr} is {node['Status']['State']}")
        elif addr in known:
            targets.append(known[addr])
        else:
            raise PipelineError(f"swarm node {node['Description']['Hostname']} ({addr}) is no known machine: add it "
                                f"with `inv machine.create`, or set image.registry so that nodes pull")
    return targets, skipped


def ship(c, cfg, images: list) -> None:
    """Without a registry: stream each image from the engine that built it into every node that lacks it."""
    builder = engine.client()
    with engine.errors("listing the swarm's nodes"):
        builder_node = builder.info().get("Swarm", {}).get("NodeID", "")
        nodes = engine.client(cfg.target_url).api.nodes()
    targets, skipped = ship_targets(nodes, builder_node, {m.host: m for m in machines.all_machines()})
    for note in skipped:
        print(f"ship: skipped, {note}")
    blobs = {}

    def one(machine):
        client = engine.client(machine.url)
        with engine.errors(f"shipping images to {machine.name}"):
            missing = [i for i in images if i.id and _find(client, i.id) is None]
            for img in missing:
                if output.is_dry(c):
                    print(f"[dry] would ship {img.ref} to {machine.name}")
                    continue
                if img.id not in blobs:  # the first thread to need it saves it; a repeat save is only wasted work
                    blobs[img.id] = b"".join(builder.api.get_image(img.ref))
                client.api.load_image(blobs[img.id])
        return machine.name, missing

    with ThreadPoolExecutor(max_workers=max(1, len(targets))) as pool:
        for name, missing in pool.map(one, targets):
            shipped = ", ".join(i.ref for i in missing)
            print(f"ship {name}: " + (f"loaded {shipped}" if shipped else "has every image, skipped"))
