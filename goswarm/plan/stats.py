"""`docker stats` for a whole swarm, the pure part: a container's stats payload read into counters, CPU % and
memory worked out as the docker CLI does, and the table grouped by service and node. Pure.

The CLI's arithmetic (cli/command/container/stats_helpers.go): CPU % is the container's CPU time over the
host's over the same stretch, times the online CPUs, times 100; memory is the usage minus the page cache
that the kernel can take back (cgroup v1: total_inactive_file; v2: inactive_file).
"""
from dataclasses import asdict, dataclass
from typing import Optional

from goswarm.plan import output


@dataclass(frozen=True)
class Sample:
    """One container's counters at one moment, from the engine's stats payload (API /containers/ID/stats)."""

    cpu_ns: int  # the container's CPU time so far
    system_ns: int  # the host's CPU time so far (all CPUs)
    online_cpus: int
    memory_bytes: int  # usage without the reclaimable cache, as the CLI shows it
    memory_limit_bytes: int
    net_rx_bytes: int
    net_tx_bytes: int
    pids: int


def memory_usage(memory_stats: dict) -> int:
    """Usage minus inactive file cache, as the CLI computes it for cgroup v1 and v2."""
    usage = int(memory_stats.get("usage") or 0)
    detail = memory_stats.get("stats") or {}
    cache = detail.get("total_inactive_file", detail.get("inactive_file"))
    if cache is not None and int(cache) < usage:
        return usage - int(cache)
    return usage


def _online_cpus(cpu_stats: dict) -> int:
    return int(cpu_stats.get("online_cpus") or len((cpu_stats.get("cpu_usage") or {}).get("percpu_usage") or [])
               or 1)


def _counters(cpu_stats: dict) -> tuple:
    return int((cpu_stats.get("cpu_usage") or {}).get("total_usage") or 0), int(cpu_stats.get("system_cpu_usage") or 0)


def parse(payload: dict) -> Sample:
    """A stats payload (one-shot or streamed) as counters."""
    cpu = payload.get("cpu_stats") or {}
    memory = payload.get("memory_stats") or {}
    networks = (payload.get("networks") or {}).values()
    cpu_ns, system_ns = _counters(cpu)
    return Sample(
        cpu_ns=cpu_ns,
        system_ns=system_ns,
        online_cpus=_online_cpus(cpu),
        memory_bytes=memory_usage(memory),
        memory_limit_bytes=int(memory.get("limit") or 0),
        net_rx_bytes=sum(int(n.get("rx_bytes") or 0) for n in networks),
        net_tx_bytes=sum(int(n.get("tx_bytes") or 0) for n in networks),
        pids=int((payload.get("pids_stats") or {}).get("current") or 0),
    )


def cpu_percent(before: Sample, after: Sample) -> float:
    """The container's share of the host's CPUs between two samples, 100 per busy CPU (the CLI's formula);
    0 when either clock did not move."""
    cpu_delta = after.cpu_ns - before.cpu_ns
    system_delta = after.system_ns - before.system_ns
    if cpu_delta <= 0 or system_delta <= 0:
        return 0.0
    return cpu_delta / system_delta * after.online_cpus * 100.0


def cpu_percent_of(payload: dict) -> float:
    """CPU % from one streamed payload, against its own precpu_stats, as `docker stats` shows it; 0 for a payload
    without them (a one-shot one, or a stream's first)."""
    cpu = payload.get("cpu_stats") or {}
    pre_cpu, pre_system = _counters(payload.get("precpu_stats") or {})
    if not pre_system:
        return 0.0
    cpu_ns, system_ns = _counters(cpu)
    cpu_delta, system_delta = cpu_ns - pre_cpu, system_ns - pre_system
    if cpu_delta <= 0 or system_delta <= 0:
        return 0.0
    return cpu_delta / system_delta * _online_cpus(cpu) * 100.0


@dataclass(frozen=True)
class TaskStats:
    """One row of `goswarm stats`: a task's figures, or why there are none (its node is down)."""

    service: str
    node: str
    task: str  # service.slot (or service.node-id for a global service), as `docker service ps` names it
    container: str  # the container's id, short
    cpu_percent: Optional[float]
    memory_bytes: Optional[int]
    memory_limit_bytes: Optional[int]
    net_rx_bytes: Optional[int]
    net_tx_bytes: Optional[int]
    pids: Optional[int]
    state: str = "running"  # or "down: <why>" for a task whose node did not answer

    def as_json(self) -> dict:
        return asdict(self)


def task_stats(service: str, node: str, task: str, container: str, before: Optional[Sample],
               after: Sample) -> TaskStats:
    """A task's row from its latest sample and the one before it (None: no CPU % yet)."""
    return TaskStats(service, node, task, container[:12],
                     round(cpu_percent(before, after), 2) if before is not None else None,
                     after.memory_bytes, after.memory_limit_bytes, after.net_rx_bytes, after.net_tx_bytes,
                     after.pids)


def down(service: str, node: str, task: str, container: str, why: str) -> TaskStats:
    return TaskStats(service, node, task, container[:12], None, None, None, None, None, None, f"down: {why}")


def task_name(service: str, task: dict) -> str:
    """A swarm task's name as `docker service ps` shows it: service.slot, or service.node for a global one."""
    slot = task.get("Slot")
    return f"{service}.{slot}" if slot else f"{service}.{str(task.get('NodeID', ''))[:12]}"


def _cpu(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.2f}%"


def _memory(used: Optional[int], limit: Optional[int]) -> str:
    if used is None:
        return "-"
    return f"{output.size(used)} / {output.size(limit)}" if limit else output.size(used)


def _net(rx: Optional[int], tx: Optional[int]) -> str:
    return "-" if rx is None else f"{output.size(rx)} / {output.size(tx)}"


def totals(rows: list) -> dict:
    """Per service: CPU %, memory, network and PIDs summed over its tasks that answered."""
    sums = {}
    for row in rows:
        total = sums.setdefault(row.service, {"tasks": 0, "cpu_percent": 0.0, "memory_bytes": 0,
                                               "net_rx_bytes": 0, "net_tx_bytes": 0, "pids": 0, "down": 0})
        total["tasks"] += 1
        if row.memory_bytes is None:
            total["down"] += 1
            continue
        total["cpu_percent"] += row.cpu_percent or 0.0
        for key in ("memory_bytes", "net_rx_bytes", "net_tx_bytes", "pids"):
            total[key] += getattr(row, key)
    return sums


HEADERS = ("SERVICE", "NODE", "TASK", "CPU %", "MEM USAGE / LIMIT", "NET IN / OUT", "PIDS", "STATE")


def table(rows: list, nodes_down: Optional[dict] = None) -> str:
    """Grouped by service then node, each service closed by its total; then the nodes that did not answer."""
    lines = []
    sums = totals(rows)
    for service in sorted(sums):
        mine = sorted((r for r in rows if r.service == service), key=lambda r: (r.node, r.task))
        for r in mine:
            lines.append((r.service, r.node, r.task, _cpu(r.cpu_percent), _memory(r.memory_bytes, r.memory_limit_bytes),
                          _net(r.net_rx_bytes, r.net_tx_bytes), "-" if r.pids is None else r.pids, r.state))
        t = sums[service]
        answered = t["tasks"] - t["down"]
        lines.append((f"{service} total", f"{len({r.node for r in mine})} nodes", f"{t['tasks']} tasks",
                      _cpu(t["cpu_percent"] if answered and any(r.cpu_percent is not None for r in mine) else None),
                      _memory(t["memory_bytes"] if answered else None, None),
                      _net(t["net_rx_bytes"], t["net_tx_bytes"]) if answered else "-", t["pids"] if answered else "-",
                      f"{t['down']} down" if t["down"] else ""))
    text = output.table(lines, HEADERS) if lines else "no running tasks"
    for node, why in sorted((nodes_down or {}).items()):
        text += f"\nnode {node}: down ({why})"
    return text
