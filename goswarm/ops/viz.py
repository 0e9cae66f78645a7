"""`goswarm viz`: the swarm as a live page, read from the operator's side.

A poller reads the manager's nodes, services and tasks through the one client factory (ssh:// for a
machine), so nothing mounts the Docker socket into a container. It publishes the view model when it
changes; the page's server pushes it to every browser as a server-sent event. While the engine does not
answer, the model carries the reason, and the page says so over the last picture it had.
"""
import tempfile
import threading
import time
from pathlib import Path

from goswarm import program
from goswarm.errors import PipelineError
from goswarm.io import browser, engine, engineapi, viewserver
from goswarm.ops import external, swarm
from goswarm.plan import topology

EVERY = 0.5  # seconds between two reads of the engine: the page is at most this (plus a read) behind
READ_TIMEOUT = 5  # seconds one read may take before the engine counts as unreachable


class Reader:
    """Reads the swarm; keeps the health records of containers that ended (they no longer change)."""

    KEEP = 1000  # health records kept at most

    def __init__(self, cfg):
        self.cfg = cfg
        self.checks = {}

    def read(self) -> dict:
        """One view of the swarm, now."""
        client = engine.client(self.cfg.target_url)
        # this process only reads; a hung engine must not freeze the page
        engineapi.set_read_timeout(client, READ_TIMEOUT)
        try:
            with engine.errors("reading the swarm"):
                nodes = engineapi.nodes(client)
                services = engineapi.services(client, status=True)
                tasks = engineapi.tasks(client)
        except PipelineError as e:
            self.not_a_manager(client, e)
            raise
        now = time.time()
        self.read_checks(nodes, topology.to_inspect(services, tasks, now, self.checks))
        return topology.model(nodes, services, tasks, now, swarm.node_names(nodes), self.checks)

    def not_a_manager(self, client, error: PipelineError) -> None:
        """A worker's engine (or one in no swarm) refuses the swarm's lists as a manager that shuts down does:
        tell the two apart, once the lists failed."""
        try:
            control = swarm.swarm_info(client).get("ControlAvailable")
        except PipelineError:
            return
        if not control:
            where = f"machine {self.cfg.manager.name}" if self.cfg.manager else self.cfg.target_url
            raise PipelineError(f"{where} is not a swarm manager: point viz at the manager (--manager), or run "
                                f"{program.run('swarm.init')}") from None

    def read_checks(self, nodes: list, wanted: list) -> None:
        """The health records of containers that ended, from the engines of their nodes (a task whose program
        exited 0 when its failing check stopped it carries no error of its own). A node that cannot be asked
        is left out: the card then says what the engine said."""
        ready = [n for n in nodes if n["Status"]["State"] == "ready"]  # a node that is down would hold the page
        wanted = [(node, container) for node, container in wanted if node in {n["ID"] for n in ready}]
        if not wanted:
            return
        try:
            by_node = dict(zip((n["ID"] for n in ready), (c for _, c in external.clients(self.cfg, ready))))
        except PipelineError:
            return
        for node, container in wanted:
            client = by_node.get(node)
            if client is None:
                continue
            try:
                with engine.errors(f"inspecting container {container[:12]}"):
                    state = engineapi.container_state(client, container)
            except PipelineError:
                continue
            self.checks[container] = topology.health_record(state or {})
        while len(self.checks) > self.KEEP:
            self.checks.pop(next(iter(self.checks)))

    def observe(self, last=None) -> dict:
        """read(), or the reason the engine did not answer over the last view seen."""
        try:
            return self.read()
        except PipelineError as e:
            return topology.unreachable(str(e), last if last and not last.get("error") else (last or None))


class Poller:
    """Reads the swarm every EVERY seconds in a thread of its own and publishes what changed."""

    def __init__(self, reader: Reader, feed: viewserver.Feed, every: float = EVERY):
        self.reader, self.feed, self.every = reader, feed, every
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        last = self.feed.latest()[1]
        said = summary(last)
        while not self.stopping.wait(self.every):
            view = self.reader.observe(last)
            if self.feed.publish(view) and summary(view) != said:  # a line when the counts or the error change
                said = summary(view)
                print(f"viz: {said}", flush=True)
            last = view

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(READ_TIMEOUT + 2)


def summary(view: dict) -> str:
    return f"engine unreachable: {view['error']}" if view["error"] else describe(view)


def describe(view: dict) -> str:
    return f"{len(view['nodes'])} nodes, {len(view['services'])} services, {topology.count_cards(view)} tasks"


def svg_of(view: dict) -> str:
    return topology.svg(view, time.time())


def serve(cfg, host: str = "127.0.0.1", port: int = 0) -> None:
    """Serve the page until Ctrl-C (or SIGTERM)."""
    reader = Reader(cfg)
    feed = viewserver.Feed(reader.observe())
    try:
        server = viewserver.Server(feed, svg_of, host, port).start()
    except OSError as e:
        raise PipelineError(f"cannot listen on {host}:{port}: {(e.strerror or str(e)).lower()}") from None
    poller = Poller(reader, feed)
    poller.thread.start()
    where = "machine " + cfg.manager.name if cfg.manager else cfg.target_url
    print(f"viz: serving {server.url} (the swarm of {where}, read every {EVERY}s); Ctrl-C stops it", flush=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"viz: listening on {host}: anyone who reaches this machine on port {port} sees your swarm", flush=True)
    print(f"viz: {summary(feed.latest()[1])}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        print("viz: stopped")
    finally:
        poller.stop()
        server.close()


def snapshot(cfg, path: Path) -> str:
    """Write the picture once: .svg from the model, .png as Chromium paints the page. Returns what it did."""
    suffix = path.suffix.lower()
    if suffix not in (".svg", ".png"):
        raise PipelineError(f"--snapshot {path}: the file must end in .svg or .png")
    if suffix == ".png":
        browser.chromium()  # before reading the swarm: say at once when there is none
    view = Reader(cfg).read()
    try:
        if suffix == ".svg":
            path.write_text(svg_of(view))
        else:
            png(view, path)
    except OSError as e:
        raise PipelineError(f"cannot write {path}: {(e.strerror or str(e)).lower()}") from None
    return f"wrote {path}: {describe(view)}"


def png(view: dict, path: Path) -> None:
    feed = viewserver.Feed(view)
    server = viewserver.Server(feed, svg_of).start()
    columns = len(view["nodes"]) + bool(view["pending"])
    tallest = max([len(n["tasks"]) for n in view["nodes"]] + [len(view["pending"]), 1])
    width = max(900, 40 + columns * 266)
    height = max(500, 200 + tallest * 110 + (len(view["services"]) + len(view["networks"])) * 22)
    try:
        with tempfile.TemporaryDirectory(prefix="goswarm-chromium-") as profile:
            browser.screenshot(server.url + "?static", path.resolve(), width, height, Path(profile))
    finally:
        server.close()
