"""`docker stats` for a whole swarm: every running task of the chosen services, asked of the engine on its node.

The manager says which tasks run where; each node's engine is then asked for its containers' stats, all nodes at
once (one thread each), with a deadline: a node that does not answer in time is shown as down, not waited for.
The manager's own node is the engine the other tasks use; other nodes are reached over SSH through their machine
records (`machine.create`, `lab.up`), with the project's one client factory.

CPU % needs two samples. The engine samples its containers once a second, and a one-shot stats call answers
with its next round (at once when no one was asking). So a first refresh asks twice, a round apart (about 1 s);
later refreshes (`--watch`, the load report) compare with the samples the previous one returned, so each costs
one round: at most a second, less the further the engine's round has come.

    snapshot = collect(cfg, ["accountservice"])            # Snapshot(tasks, nodes_down, samples, took_s)
    later = collect(cfg, ["accountservice"], snapshot.samples)
"""
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Optional

from goswarm import program
from goswarm.errors import PipelineError
from goswarm.io import engine, machines, terminal
from goswarm.plan import config
from goswarm.plan import stats as plan

NODE_TIMEOUT = 5.0  # seconds a node's engine gets to answer before its tasks are shown as down (a first
# refresh needs an SSH connection and two of the engine's sampling rounds, which are a second apart)
PER_NODE = 16  # containers asked at once on one node (each holds a connection, over SSH a `docker system dial-stdio`)


@dataclass
class Snapshot:
    tasks: list  # plan.TaskStats, one per running task of the chosen services
    nodes_down: dict = field(default_factory=dict)  # node name -> why it did not answer
    samples: dict = field(default_factory=dict)  # container id -> plan.Sample: pass to the next collect()
    took_s: float = 0.0
    at: float = 0.0  # time.time() when the samples were taken


def service_names(cfg, services: list) -> list:
    """The swarm services behind configured ones: each one, and its edge in publish_mode: edge."""
    names = []
    for service in services:
        names.append(service.name)
        if service.publish_mode == "edge":
            names.append(config.edge_of(service, cfg.root).name)
    return names


def collect(cfg, services: Optional[Iterable[str]] = None, previous: Optional[dict] = None,
            timeout: float = NODE_TIMEOUT) -> Snapshot:
    """The stats of every running task of `services` (swarm service names; None: every service on the swarm).

    previous: the `samples` of an earlier Snapshot, for CPU % without a second sample. Nodes are asked in parallel;
    one that has not answered after `timeout` seconds is in `nodes_down`, and its tasks are rows in state down.
    Raises PipelineError when the manager itself cannot be read.
    """
    began = time.monotonic()
    previous = previous or {}
    if not previous:  # a first refresh: connect to the project's machines while the manager answers
        for machine in machines.all_machines():
            threading.Thread(target=_connect, args=(machine.url,), daemon=True, name="stats-connect").start()
    manager = _connect(cfg.target_url)
    with engine.errors("reading the engine's swarm state"):
        swarm = manager.info().get("Swarm") or {}
    if not swarm.get("ControlAvailable"):
        where = f"machine {cfg.manager.name}" if cfg.manager else cfg.target_url
        raise PipelineError(f"{where} is not a swarm manager: run {program.run('swarm.init')}")
    self_id = swarm.get("NodeID")
    with engine.errors("reading the swarm's nodes, services and tasks"):
        nodes = manager.api.nodes()
        names = {s["ID"]: s["Spec"]["Name"] for s in manager.api.services()}
        tasks = manager.api.tasks(filters={"desired-state": "running"})
    wanted = set(services) if services is not None else None
    running = [t for t in tasks if t["Status"].get("State") == "running" and t["ServiceID"] in names
               and (wanted is None or names[t["ServiceID"]] in wanted)
               and (t["Status"].get("ContainerStatus") or {}).get("ContainerID")]
    node_name = _node_names(nodes)
    by_node = {}
    for task in running:
        by_node.setdefault(task.get("NodeID"), []).append(task)

    results, threads, down = {}, {}, {}
    for node in (n for n in nodes if n["ID"] in by_node):
        url, why = _engine_url(cfg, node, self_id)
        if url is None:
            down[node["ID"]] = why
            continue
        ids = [t["Status"]["ContainerStatus"]["ContainerID"] for t in by_node[node["ID"]]]
        thread = threading.Thread(target=_sample_node, args=(url, ids, previous, results, node["ID"]),
                                  name=f"stats-{node_name[node['ID']]}", daemon=True)
        thread.start()
        threads[node["ID"]] = thread
    deadline = time.monotonic() + timeout
    for node_id, thread in threads.items():
        thread.join(max(0.0, deadline - time.monotonic()))
        answer = results.get(node_id)
        if answer is None:
            down[node_id] = f"no answer within {timeout:g} s"
        elif isinstance(answer, str):
            down[node_id] = answer

    rows, samples = [], {}
    for task in sorted(running, key=lambda t: (names[t["ServiceID"]], t.get("Slot") or 0)):
        service, node_id = names[task["ServiceID"]], task.get("NodeID")
        container = task["Status"]["ContainerStatus"]["ContainerID"]
        name = plan.task_name(service, task)
        where = node_name.get(node_id, str(node_id)[:12])
        if node_id in down:
            rows.append(plan.down(service, where, name, container, down[node_id]))
            continue
        pair = results[node_id].get(container)
        if pair is None:  # gone between the task list and the stats: it is no longer running
            continue
        before, after = pair
        samples[container] = after
        rows.append(plan.task_stats(service, where, name, container, before, after))
    return Snapshot(rows, {node_name.get(n, n[:12]): why for n, why in down.items()}, samples,
                    time.monotonic() - began, time.time())


_connecting = {}  # engine URL -> its lock: one connection per engine, however many threads want it
_connecting_lock = threading.Lock()


def _connect(url: str):
    """engine.client(url), made once even when several threads ask for it at the same time."""
    with _connecting_lock:
        lock = _connecting.setdefault(url, threading.Lock())
    with lock:
        return engine.client(url)


def _node_names(nodes: list) -> dict:
    """Node id -> the machine's name where a record has its address, else its hostname."""
    known = {m.host: m.name for m in machines.all_machines()}
    return {n["ID"]: known.get(n["Status"].get("Addr"), n["Description"]["Hostname"]) for n in nodes}


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


def _sample_node(url: str, containers: list, previous: dict, results: dict, key: str) -> None:
    """Thread body: results[key] = {container id: (sample before or None, sample now)}, or a string saying why
    the node could not be read. The containers are asked at once: each one-shot answer waits for the engine's
    next round of sampling (once a second), so one at a time would take a second each."""
    try:
        client = _connect(url)
    except PipelineError as e:
        results[key] = str(e)
        return
    answers, threads, slots = {}, [], threading.BoundedSemaphore(PER_NODE)
    for container in containers:
        thread = threading.Thread(target=_sample_container, args=(client, container, container not in previous,
                                                                  answers, slots), daemon=True)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    failed = [a for a in answers.values() if isinstance(a, str)]
    if failed and len(failed) == len(containers):
        results[key] = failed[0]
        return
    pairs = {}
    for container, answer in answers.items():
        if isinstance(answer, tuple):
            first, second = answer
            pairs[container] = (first, second) if second is not None else (previous.get(container), first)
    results[key] = pairs


def _sample_container(client, container: str, twice: bool, answers: dict, slots) -> None:
    """answers[container] = (sample, the next sample or None), None when it is gone, or why it failed."""
    try:
        with slots:
            first = _one_shot(client, container)
            second = _one_shot(client, container) if twice and first is not None else None
    except PipelineError as e:
        answers[container] = str(e)
        return
    answers[container] = (first, second) if first is not None else None


def _one_shot(client, container: str):
    """The container's counters now, or None when it is gone."""
    payload = engine.unless_missing(f"reading the stats of container {container[:12]}", client.api.stats,
                                    container, None, False, True)
    if payload is None or not payload.get("read") or payload["read"].startswith("0001-"):
        return None  # a container that stopped answers with zeroed stats
    return plan.parse(payload)


def watch(cfg, services: Optional[Iterable[str]], stream, every: float = 1.0, refreshes: Optional[int] = None) -> None:
    """Refresh the table until Ctrl-C (KeyboardInterrupt propagates to the caller): redrawn in place on a terminal,
    as plain blocks of lines, each headed by its time, anywhere else. refreshes: stop after that many (tests)."""
    live = terminal.live(stream)
    samples, count = None, 0
    while refreshes is None or count < refreshes:
        snapshot = collect(cfg, services, samples)
        samples, count = snapshot.samples, count + 1
        head = f"{time.strftime('%H:%M:%S', time.localtime(snapshot.at))}  refresh {snapshot.took_s:.2f} s"
        text = f"{head}\n{plan.table(snapshot.tasks, snapshot.nodes_down)}\n"
        stream.write(("\x1b[H\x1b[2J" if live else "") + text + ("" if live else "\n"))
        stream.flush()
        time.sleep(max(0.0, every - snapshot.took_s))
