"""Without a registry, copy images from the engine that built them into the swarm's nodes.

What each node was found to have, or was given, is kept (state_dir/shipped-<swarm>.json), keyed by the swarm's
node id: a node that leaves and joins again, e.g. with a new engine, has a new id and is asked again. A run
whose every image a node is known to have does not connect to that node at all, so a no-op on ten nodes costs
what it costs on one; a run with a new image asks every node, for every image, over one connection per node.
"""
import gzip
import json
import threading
import time

from goswarm import parallel, program
from goswarm.errors import PipelineError
from goswarm.io import engine, engineapi, environment, machines, ssh, terminal
from goswarm.ops import swarm
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


def known_to_have(targets: list, node_ids: dict, images: list, record: dict) -> list:
    """The machines among `targets` that the record says have every one of `images` (by id). Pure.
    node_ids: machine name -> its swarm node id now."""
    wanted = {i.id for i in images if i.id}
    return [m for m in targets if wanted <= set(record.get(node_ids.get(m.name, ""), ()))]


def remember(record: dict, node_ids: dict, has: dict) -> dict:
    """The record with what each machine was found to have or was given (has: name -> image ids), and
    without nodes that are no longer in the swarm. Pure."""
    current = set(node_ids.values())
    kept = {node: ids for node, ids in record.items() if node in current}
    for name, ids in has.items():
        node = node_ids[name]
        older = [i for i in kept.get(node, ()) if i not in ids]
        kept[node] = (older + list(ids))[-64:]  # bounded: the newest last, the images of recent runs
    return kept


def record_path(cfg):
    return cfg.state_dir / f"shipped-{swarm.swarm_slug(cfg.manager.name if cfg.manager else cfg.target_url)}.json"


def read_record(cfg) -> dict:
    try:
        found = json.loads(record_path(cfg).read_text())
        return found if isinstance(found, dict) else {}
    except (OSError, ValueError):
        return {}  # no record, or a damaged one: every node is asked


def write_record(cfg, record: dict) -> None:
    path = record_path(cfg)
    try:
        environment.private_dir(path.parent)
        path.write_text(json.dumps(record, sort_keys=True))
    except OSError:
        pass  # a record only: the next run asks the nodes again


def ship(sh, cfg, images: list, nodes: list = None) -> None:
    """Without a registry: stream each image from the engine that built it into every node that lacks it.
    nodes: the swarm's nodes as this run read them already."""
    builder, target = engine.client(), engine.client(cfg.target_url)
    with engine.errors("listing the swarm's nodes"):
        nodes = engineapi.nodes(target) if nodes is None else nodes
        if builder is target and len(nodes) == 1:
            return  # the engine that built the images is the whole swarm
        builder_node = builder.info().get("Swarm", {}).get("NodeID", "")
    known = {m.host: m for m in machines.all_machines()}
    targets, skipped = ship_targets(nodes, builder_node, known)
    for note in skipped:
        print(f"ship: skipped, {note}")
    node_ids = {known[n["Status"]["Addr"]].name: n["ID"] for n in nodes if n["Status"].get("Addr") in known}
    record = read_record(cfg)
    have = known_to_have(targets, node_ids, images, record)
    if have:
        print(f"ship: {', '.join(m.name for m in have)} already had every image (as recorded by an earlier run)")
    asked = [m for m in targets if m not in have]
    missing = dict(zip((m.name for m in asked), parallel.each(lambda m: lacking(m, images), asked, parallel.NODES)))
    if sh.dry:
        for name, lacks in missing.items():
            print(f"[dry] would ship {output.listed([i.ref for i in lacks]) or 'nothing'} to {name}")
        return
    # One tarball for each set of images some nodes lack (usually one set): layers the images share go once.
    with engine.errors("saving images from the engine that built them"):
        tarballs = {wanted: save(builder, [i for i in images if i.id in wanted])
                    for wanted in {frozenset(i.id for i in lacks) for lacks in missing.values() if lacks}}
    loaded = {}  # name -> the image ids it has now
    compressed = Compressed()
    # what all the nodes take together decides the way: paramiko's connections share one core
    bulk = sum(len(tarballs[frozenset(i.id for i in lacks)]) for lacks in missing.values() if lacks) >= LARGE

    def send(machine):
        started = time.monotonic()
        wanted = frozenset(i.id for i in missing[machine.name])
        with engine.errors(f"shipping images to {machine.name}"):
            if wanted:
                load(machine, tarballs[wanted], compressed, bulk)
        loaded[machine.name] = [i.id for i in images if i.id]
        return machine.name, time.monotonic() - started

    try:
        for name, took in parallel.each(send, asked, parallel.NODES):
            sent = len(tarballs.get(frozenset(i.id for i in missing[name]), b""))
            shipped = output.listed([i.ref for i in missing[name]])
            print(f"ship {name}: " + (f"loaded {shipped} ({output.size(sent)} in {took:.1f} s, "
                                      f"{output.size(sent / max(took, 0.001))}/s)" if shipped
                                      else "has every image, skipped"))
    finally:  # the nodes that failed are asked again next time
        write_record(cfg, remember(record, node_ids, loaded))


LOAD_TIMEOUT = 900  # seconds for one node to take one tarball
# When the nodes take this much in all, each tarball goes through OpenSSH's ssh, else through paramiko. Measured
# on the lab (bench/RESULTS.md section 12): 106 MB to 2 nodes at once took 218 s through paramiko, 22 s gzipped
# and 3.1 s through ssh; 9 MB to 2 nodes took 0.5 s through paramiko and 0.8 s through ssh, whose process and
# handshake cost about 0.3 s.
LARGE = 16 * 1024 * 1024


class Compressed:
    """Each tarball shipped in bulk gzipped once (level 1, about 60 MB/s, half the size of Go binaries), shared
    by the threads that ship it."""

    def __init__(self):
        self.lock, self.done = threading.Lock(), {}

    def __call__(self, tarball: bytes) -> bytes:
        with self.lock:
            if id(tarball) not in self.done:
                self.done[id(tarball)] = gzip.compress(tarball, compresslevel=1)
            return self.done[id(tarball)]


def load(machine, tarball: bytes, compressed: Compressed, bulk: bool) -> None:
    """`docker load` of the tarball on the machine. In bulk gzipped (once for all the nodes), through OpenSSH's ssh
    where it can carry it (see ssh.openssh_argv), else through the engine's API over paramiko; a little through
    paramiko as it is."""
    if not bulk:
        engineapi.add_images(engine.client(machine.url), tarball)
        return
    route = ssh.resolve(machine.ssh_host, machine.port, machine.user, machine.key)
    done = ssh.run_with_input(route, ["docker", "load", "-q"], compressed(tarball), LOAD_TIMEOUT)
    if done is not None and done[0] == 0:
        return
    if done is not None and done[0] != 255:  # ssh connected, and docker load failed
        raise PipelineError(f"docker load on {machine.name} failed: {done[1].splitlines()[-1] if done[1] else done[0]}")
    engineapi.add_images(engine.client(machine.url), compressed(tarball))


def save(builder, images: list) -> bytes:
    """`docker save` of the images in one tarball, with a line that counts the bytes as they come."""
    status, chunks, received = terminal.Status(), [], 0
    names = output.listed([i.ref for i in images])
    try:
        for chunk in engine.save_images(builder, [i.ref for i in images]):
            chunks.append(chunk)
            received += len(chunk)
            status.update(f"ship: saving {names} ({output.size(received)})", key=f"ship: saving {names}")
    finally:
        status.done()
    return b"".join(chunks)


def lacking(machine, images: list) -> list:
    """The images a node does not have yet (by id, so a re-tag does not count as new)."""
    client = engine.client(machine.url)
    with engine.errors(f"listing the images on {machine.name}"):
        present = engine.image_ids(client)
    return [i for i in images if i.id and i.id not in present]
