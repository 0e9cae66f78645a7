"""`docker stats` for a whole swarm: every running task of the chosen services, read from the engine on its node.

The manager says which tasks run where. As the docker CLI's own `docker stats` does, each container's stats are
then streamed (the engine sends a payload a second), one connection per container (over SSH a channel, at most
parallel.PER_CONNECTION to one SSH connection: sshd's MaxSessions), each read by a thread that keeps its latest
two samples: a refresh reads what the streams hold, without waiting for the engine. Only a new
container is waited for, until its second sample (a second after the first, for its CPU %) or the deadline, so a
first refresh takes about a second, as `docker stats --no-stream` does, and later ones a few milliseconds. A node
whose streams fail, or fall silent for SILENT_S, is shown as down and not waited for. The manager's own node is the
engine the other tasks use; other nodes are reached over SSH through their machine records (`machine.create`,
`lab.up`), with the project's one client factory.

    snapshot = collect(cfg, ["accountservice"])            # Snapshot(tasks, nodes_down, samples, took_s, at)
    with Streams() as streams:                             # --watch, the load report: streams kept open
        later = collect(cfg, ["accountservice"], streams)
"""
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Optional

from goswarm import parallel, program
from goswarm.errors import PipelineError
from goswarm.io import engine, engineapi, machines, terminal
from goswarm.ops import swarm
from goswarm.plan import config
from goswarm.plan import stats as plan

NODE_TIMEOUT = 5.0  # seconds a new stream gets to answer (a first refresh needs an SSH connection and two samples
# a second apart)
SILENT_S = 3.0  # an open stream without a sample for this long is shown as down (the engine sends one a second; one
# whose engine stopped can stay open and silent)
RETRY_S = 10.0  # a stream that failed is opened again after this long (an engine that came back)
CLOSE_S = 1.0  # how long closing waits for the reading threads to end


@dataclass
class Snapshot:
    tasks: list  # plan.TaskStats, one per running task of the chosen services
    nodes_down: dict = field(default_factory=dict)  # node name -> why it did not answer
    samples: dict = field(default_factory=dict)  # container id -> its latest plan.Sample
    took_s: float = 0.0
    at: float = 0.0  # time.time() when the refresh ended


class _Stream:
    """One container's stats stream, read by a daemon thread that keeps the latest sample and the one before."""

    def __init__(self, url: str, container: str, lane: int = 0):
        self.url, self.container, self.lane = url, container, lane
        self.pair = (None, None)  # (the sample before, the latest), replaced together
        self.at = 0.0  # time.monotonic() of the latest
        self.error = None  # why it could not be read
        self.gone = False  # the container is no longer there, or stopped
        self.ended_at = None  # time.monotonic() when the reading ended
        self.ready = threading.Event()  # two samples, or the end
        self._closed, self._source = False, None
        self._thread = threading.Thread(target=self._read, daemon=True, name=f"stats-stream-{container[:12]}")
        self._thread.start()

    def _read(self) -> None:
        try:
            self._source = engine.stats_stream(_connect(self.url, self.lane), self.container)
            if self._source is None:
                self.gone = True
                return
            if self._closed:  # closed while it opened
                return
            for payload in self._source:
                if not payload.get("read") or payload["read"].startswith("0001-"):
                    self.gone = True  # a container that stopped sends zeroed stats
                    return
                self.pair, self.at = (self.pair[1], plan.parse(payload)), time.monotonic()
                if self.pair[0] is not None:
                    self.ready.set()
            self.gone = not self._closed  # the engine ends the stream of a container that stopped
        except PipelineError as e:
            self.error = None if self._closed else str(e)
        except Exception:
            if not self._closed:  # a reader whose connection we closed under it may fail in any way
                raise
        finally:
            self.ended_at = time.monotonic()
            self.ready.set()
            if self._source is not None:
                self._source.close()

    def close(self) -> None:
        self._closed = True
        if self._source is not None:
            self._source.close()

    def join(self, timeout: float) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()


class Streams:
    """The open stats streams, one per container (started as tasks appear, closed as they end), kept between
    refreshes. A context manager: leaving it closes them all, also on Ctrl-C."""

    def __init__(self):
        self._open = {}  # container id -> _Stream

    def __len__(self) -> int:
        return len(self._open)

    def follow(self, wanted: dict) -> tuple:
        """({container: its stream} for `wanted` ({container id: its engine's URL}), the containers just opened):
        streams of containers no longer wanted are closed, and failed ones opened again after RETRY_S."""
        for container in [c for c in self._open if c not in wanted]:
            self._open.pop(container).close()
        opened, now = [], time.monotonic()
        for container, url in wanted.items():
            stream = self._open.get(container)
            if stream is None or (stream.error and now - stream.ended_at > RETRY_S):
                if stream is None:
                    opened.append(container)
                self._open[container] = _Stream(url, container, self._lane(url, container))
        return {c: self._open[c] for c in wanted}, opened

    def _lane(self, url: str, container: str) -> int:
        """Over SSH, at most parallel.PER_CONNECTION streams share a connection (sshd's MaxSessions)."""
        if not url.startswith("ssh://"):
            return 0
        return parallel.lane([s.lane for c, s in self._open.items() if s.url == url and c != container])

    def close(self) -> bool:
        """Close every stream; True when every reading thread has ended (within CLOSE_S)."""
        streams, self._open = list(self._open.values()), {}
        for stream in streams:
            stream.close()
        deadline = time.monotonic() + CLOSE_S
        return all([stream.join(max(0.0, deadline - time.monotonic())) for stream in streams])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def service_names(cfg, services: list) -> list:
    """The swarm services behind configured ones: each one, and its edge in publish_mode: edge."""
    names = []
    for service in services:
        names.append(service.name)
        if service.publish_mode == "edge":
            names.append(config.edge_of(service, cfg.root).name)
    return names


def collect(cfg, services: Optional[Iterable[str]] = None, streams: Optional[Streams] = None,
            timeout: float = NODE_TIMEOUT) -> Snapshot:
    """The stats of every running task of `services` (swarm service names; None: every service on the swarm).

    streams: kept open between calls (--watch, the load report), so that a refresh reads what they hold; without
    them, streams are opened for this one refresh and closed. New streams are waited for until their second sample
    or `timeout` seconds; a node none of whose streams has a sample younger than SILENT_S is in `nodes_down`, and its
    tasks are rows in state down. Raises PipelineError when the manager itself cannot be read.
    """
    if streams is None:
        with Streams() as once:
            return collect(cfg, services, once, timeout)
    began = time.monotonic()
    if not streams:  # a first refresh: connect to the project's machines while the manager answers
        for machine in machines.all_machines():
            threading.Thread(target=_connect, args=(machine.url,), daemon=True, name="stats-connect").start()
    manager = _connect(cfg.target_url)
    state = swarm.swarm_info(manager)
    if not state.get("ControlAvailable"):
        where = f"machine {cfg.manager.name}" if cfg.manager else cfg.target_url
        raise PipelineError(f"{where} is not a swarm manager: run {program.run('swarm.init')}")
    self_id = state.get("NodeID")
    with engine.errors("reading the swarm's nodes, services and tasks"):
        nodes = engineapi.nodes(manager)
        names = {s["ID"]: s["Spec"]["Name"] for s in engineapi.services(manager)}
        tasks = engineapi.tasks(manager, running=True)
    wanted = set(services) if services is not None else None
    running = [t for t in tasks if t["Status"].get("State") == "running" and t["ServiceID"] in names
               and (wanted is None or names[t["ServiceID"]] in wanted)
               and (t["Status"].get("ContainerStatus") or {}).get("ContainerID")]
    node_name = swarm.node_names(nodes)

    urls, down = {}, {}
    for node in (n for n in nodes if n["ID"] in {t.get("NodeID") for t in running}):
        urls[node["ID"]], why = _engine_url(cfg, node, self_id)
        if why:
            down[node["ID"]] = why
    followed, opened = streams.follow({_container(t): urls[t["NodeID"]] for t in running if urls.get(t["NodeID"])})
    deadline = time.monotonic() + timeout
    for container in opened:  # only new containers are waited for: the others are read as they are
        followed[container].ready.wait(max(0.0, deadline - time.monotonic()))

    now, rows, samples, answered, why_not = time.monotonic(), [], {}, set(), {}
    for task in sorted(running, key=lambda t: (names[t["ServiceID"]], t.get("Slot") or 0)):
        service, node_id, container = names[task["ServiceID"]], task.get("NodeID"), _container(task)
        name, where = plan.task_name(service, task), node_name.get(node_id, str(node_id)[:12])
        stream = followed.get(container)
        if stream is not None and stream.gone:  # ended between the task list and its stats: no longer running
            continue
        before, after = stream.pair if stream is not None else (None, None)
        if after is not None and now - stream.at <= SILENT_S:
            answered.add(node_id)
            samples[container] = after
            rows.append(plan.task_stats(service, where, name, container, before, after))
            continue
        why = down.get(node_id) or stream.error or (f"no stats for {now - stream.at:.0f} s" if after is not None
                                                    else f"no answer within {timeout:g} s")
        why_not.setdefault(node_id, why)
        rows.append(plan.down(service, where, name, container, why))
    down.update((n, why) for n, why in why_not.items() if n not in answered)
    return Snapshot(rows, {node_name.get(n, n[:12]): why for n, why in down.items()}, samples,
                    time.monotonic() - began, time.time())


def _container(task: dict) -> str:
    return task["Status"]["ContainerStatus"]["ContainerID"]


_connecting = {}  # engine URL -> its lock: one connection per engine, however many threads want it
_connecting_lock = threading.Lock()


def _connect(url: str, lane: int = 0):
    """engine.client(url, lane), made once even when several threads ask for it at the same time."""
    with _connecting_lock:
        lock = _connecting.setdefault((url, lane), threading.Lock())
    with lock:
        return engine.client(url, lane)


def _engine_url(cfg, node: dict, self_id: str):
    """(URL of the node's engine, None) or (None, why it cannot be asked)."""
    if node["ID"] == self_id:
        return cfg.target_url, None
    if node["Status"].get("State") == "down":
        return None, "the manager sees it as down"
    address = node["Status"].get("Addr")
    machine = machines.by_host(address) if address else None
    if machine is None:
        return None, f"no machine record for its address {address} (goswarm machine.create)"
    return machine.url, None


def watch(cfg, services: Optional[Iterable[str]], out, every: float = 1.0, refreshes: Optional[int] = None) -> None:
    """Refresh the table until Ctrl-C (KeyboardInterrupt propagates to the caller, the streams closed): redrawn in
    place on a terminal, as plain blocks of lines, each headed by its time, anywhere else. refreshes: stop after
    that many (tests)."""
    live = terminal.live(out)
    with Streams() as streams:
        count = 0
        while refreshes is None or count < refreshes:
            snapshot = collect(cfg, services, streams)
            count += 1
            head = f"{time.strftime('%H:%M:%S', time.localtime(snapshot.at))}  refresh {snapshot.took_s:.2f} s"
            text = f"{head}\n{plan.table(snapshot.tasks, snapshot.nodes_down)}\n"
            out.write(("\x1b[H\x1b[2J" if live else "") + text + ("" if live else "\n"))
            out.flush()
            time.sleep(max(0.0, every - snapshot.took_s))
