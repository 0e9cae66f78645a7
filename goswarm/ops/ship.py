"""Without a registry, copy images from the engine that built them into the swarm's nodes."""
import time
from concurrent.futures import ThreadPoolExecutor

from goswarm import program
from goswarm.errors import PipelineError
from goswarm.io import engine, machines, terminal
from goswarm.plan import output


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
                                f"with {program.run('machine.create')}, or set image.registry so that nodes pull")
    return targets, skipped


def ship(sh, cfg, images: list, nodes: list = None) -> None:
    """Without a registry: stream each image from the engine that built it into every node that lacks it.
    nodes: the swarm's nodes as this run read them already."""
    builder, target = engine.client(), engine.client(cfg.target_url)
    with engine.errors("listing the swarm's nodes"):
        nodes = target.api.nodes() if nodes is None else nodes
        if builder is target and len(nodes) == 1:
            return  # the engine that built the images is the whole swarm
        builder_node = builder.info().get("Swarm", {}).get("NodeID", "")
    targets, skipped = ship_targets(nodes, builder_node, {m.host: m for m in machines.all_machines()})
    for note in skipped:
        print(f"ship: skipped, {note}")
    with ThreadPoolExecutor(max_workers=max(1, len(targets))) as pool:
        missing = dict(zip((m.name for m in targets), pool.map(lambda m: lacking(m, images), targets)))
    needed = {i.id: i for lacks in missing.values() for i in lacks}
    if sh.dry:
        for name, lacks in missing.items():
            print(f"[dry] would ship {', '.join(i.ref for i in lacks) or 'nothing'} to {name}")
        return
    with engine.errors("saving images from the engine that built them"):
        tarballs = {image_id: save(builder, img) for image_id, img in needed.items()}

    def load(machine):
        started = time.monotonic()
        with engine.errors(f"shipping images to {machine.name}"):
            for img in missing[machine.name]:
                engine.client(machine.url).api.load_image(tarballs[img.id])
        return machine.name, time.monotonic() - started

    with ThreadPoolExecutor(max_workers=max(1, len(targets))) as pool:
        for name, took in pool.map(load, targets):
            sent = sum(len(tarballs[i.id]) for i in missing[name])
            shipped = ", ".join(i.ref for i in missing[name])
            print(f"ship {name}: " + (f"loaded {shipped} ({output.size(sent)} in {took:.1f} s, "
                                      f"{output.size(sent / max(took, 0.001))}/s)" if shipped
                                      else "has every image, skipped"))


def save(builder, image) -> bytes:
    """`docker save` of one image, with a line that counts the bytes as they come."""
    status, chunks, received = terminal.Status(), [], 0
    try:
        for chunk in builder.api.get_image(image.ref):
            chunks.append(chunk)
            received += len(chunk)
            status.update(f"ship: saving {image.ref} ({output.size(received)})", key=f"ship: saving {image.ref}")
    finally:
        status.done()
    return b"".join(chunks)


def lacking(machine, images: list) -> list:
    """The images a node does not have yet (by id, so a re-tag does not count as new)."""
    client = engine.client(machine.url)
    with engine.errors(f"listing the images on {machine.name}"):
        return [i for i in images if i.id and engine.find_image(client, i.id) is None]
