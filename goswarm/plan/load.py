"""`goswarm load`, the pure part: where the load goes and whether it may, the generator's command line, its JSON
lines read back, and what a person reads while it runs and at its end. Pure.

The generator is goswarm/go/loadgen (Go, standard library): N users, each on its own keep-alive connection, loop
GETs over the scenario, and it prints a JSON tick per second and one summary (see its main.go).
"""
import ipaddress
import json
import re
import shlex
from dataclasses import dataclass
from typing import Optional

from goswarm.errors import PipelineError
from goswarm.plan import config, output

LOADGEN = "goswarm-loadgen"  # its binary in dist/, as the edge's and the probe's are
LOADGEN_SOURCE = "loadgen"
GRACE_S = 30  # loadgen's own wait for requests in flight after its duration; we kill it after this and more
DURING_AT = 1 / 3  # the --during command starts this far into the run: its cost shows against load before and after
ERROR_KINDS = ("refused", "reset", "timeout", "other")
FD_MARGIN = 64  # files the generator needs besides one connection per user (its binary, pipes, DNS, the runtime)


@dataclass(frozen=True)
class Target:
    """What the load GETs: base URL + path, with {id} from ids."""

    base_url: str
    path: str
    ids: str

    @property
    def url(self) -> str:
        return self.base_url.rstrip("/") + self.path


def target(service: config.Service, manager_ip: str, base_url: Optional[str]) -> Target:
    """The service's scenario (its `load:`, else its smoke path, else /) at --base-url, or where it is published."""
    scenario = service.load or config.Load(service.smoke or "/")
    if base_url is None:
        if service.publish is None:
            raise PipelineError(f"{service.name} publishes no port (services.{service.name}.publish): give "
                                f"--base-url")
        base_url = f"http://{host_in_url(manager_ip)}:{service.publish}"
    return Target(check_url(base_url), scenario.path, scenario.ids)


def number(where: str, value, unit: str) -> float:
    """A flag's value: a number, 0 or more."""
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise PipelineError(f"{where} must be a number of {unit}, got {value!r}") from None
    if not result >= 0 or result == float("inf"):
        raise PipelineError(f"{where} must be 0 or more {unit}, got {value!r}")
    return result


def host_in_url(host: str) -> str:
    return f"[{host}]" if ":" in host else host


_BASE_URL = re.compile(r"^http://(\[(?P<v6>[0-9a-fA-F:.]+)\]|(?P<host>[A-Za-z0-9._-]+))(:(?P<port>\d{1,5}))?"
                       r"(?P<path>/[^?#\s]*)?$")


def url_host(base_url: str) -> str:
    """The host of a base URL that check_url accepted."""
    match = _BASE_URL.match(base_url)
    return (match.group("v6") or match.group("host")).lower() if match else ""


def check_url(base_url: str) -> str:
    """http://host[:port][/prefix], nothing else (the generator speaks plain HTTP/1.1)."""
    match = _BASE_URL.match(base_url or "")
    if not match:
        raise PipelineError(f"--base-url must be http://HOST[:PORT][/PATH], got {base_url!r}")
    if match.group("port") and not 1 <= int(match.group("port")) <= 65535:
        raise PipelineError(f"--base-url has a port outside 1-65535: {base_url!r}")
    return base_url


def loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refusal(base_url: str, known_hosts: set, target_ok: bool) -> Optional[str]:
    """Why the load may not go to `base_url` (None: it may). Only loopback and the machines this project created
    or recorded are fair game; anything else needs --target-ok, so a typo cannot load someone else's server."""
    host = url_host(base_url)
    if target_ok or loopback(host) or host in known_hosts:
        return None
    return (f"refusing to load {host}: it is neither loopback nor a machine of this project "
            f"({', '.join(sorted(known_hosts)) or 'none recorded'}); pass --target-ok if it is yours")


def loadgen_argv(binary: str, target_: Target, users: int, duration: float, ramp: float, rate: float) -> list:
    """The generator's command line; it stops by itself at the duration, or at EOF on its stdin."""
    argv = [binary, "-url", target_.url, "-users", str(users), "-duration", f"{duration:g}s",
            "-ramp", f"{ramp:g}s", "-interval", "1s", "-stdin-stop"]
    if target_.ids:
        argv += ["-ids", target_.ids]
    if rate:
        argv += ["-rate", f"{rate:g}"]
    return argv


def parse_line(line: str) -> Optional[dict]:
    """A tick or the summary, or None for a line that is neither."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) and record.get("type") in ("tick", "summary") else None


def during_argv(program_argv: list, task: str, command: str, python: str) -> list:
    """The goswarm/inv command line that runs `command` (e.g. "redeploy --force") with this one's core options
    (-f FILE, --root ...): the words of `program_argv` before `task`, then the command's words."""
    words = shlex.split(command)
    if not words:
        raise PipelineError("--during names no task: give one, like --during 'redeploy --force'")
    argv = list(program_argv)
    core = argv[1:argv.index(task)] if task in argv[1:] else argv[1:]
    return [python, argv[0], *core, *words]


def live_line(tick: dict, errors_total: int) -> str:
    """The line redrawn while the load runs."""
    latency = tick.get("latency_ms") or {}
    return (f"{tick['t']:6.1f} s  {tick.get('users', 0):>5} users  {tick['requests']:>8,} req/s  "
            f"p50 {latency.get('p50', 0):.2f}  p95 {latency.get('p95', 0):.2f}  p99 {latency.get('p99', 0):.2f} ms  "
            f"errors {errors_total:,}")


def error_kinds(errors: dict) -> list:
    """(kind, count): transport errors first in a fixed order, then HTTP statuses by number."""
    fixed = [(k, errors[k]) for k in ERROR_KINDS if errors.get(k)]
    return fixed + sorted((k, v) for k, v in errors.items() if k not in ERROR_KINDS and v)


def capacity(users: int, soft: int, hard: int, ports: tuple) -> tuple:
    """(the RLIMIT_NOFILE soft limit to raise to first, or None; a one-line refusal, or None). Each user holds one
    connection, so one file and, to one target, one local port: a run past either limit would fail in a way that
    looks like the target's fault (and once took the engine's docker-proxy of the port down with it). Pure."""
    need = users + FD_MARGIN
    if need > hard:
        return None, (f"--users {users} needs {need:,} open files, and this process may open at most {hard:,} "
                      f"(its hard RLIMIT_NOFILE, `ulimit -Hn`): lower --users, or raise the hard limit")
    low, high = ports
    span = high - low + 1
    if users > span - FD_MARGIN:
        return None, (f"--users {users} needs one local port each to one target, and the ephemeral port range "
                      f"{low}-{high} (net.ipv4.ip_local_port_range) has {span:,}: lower --users to "
                      f"{max(span - FD_MARGIN, 1):,} or widen the range")
    return (need if need > soft else None), None


def all_failed(summary: dict, url: str) -> Optional[str]:
    """Why a run counts as failed (no request answered, e.g. the target down or refusing), else None. Pure."""
    if summary.get("interrupted") or summary.get("ok"):
        return None
    kinds = error_kinds(summary.get("errors") or {})
    how = ", ".join(f"{kind} {count:,}" for kind, count in kinds) or "no request completed"
    return (f"every request to {url} failed ({how}): is it up and published? `goswarm check` shows the services "
            f"and their ports")


def summary_table(summary: dict, url: str) -> str:
    """The closing table: requests, req/s, latency, errors by kind."""
    latency = summary["latency_ms"]
    rows = [("url", url), ("users", summary.get("users", "")),
            ("duration", f"{summary['duration_s']:.1f} s" + (" (interrupted)" if summary.get("interrupted") else "")),
            ("requests", f"{summary['requests']:,}"), ("req/s", f"{summary['rps']:,.1f}"),
            ("latency ms", "  ".join(f"{k} {latency[k]:.2f}" for k in ("min", "p50", "p95", "p99", "max")))]
    kinds = error_kinds(summary.get("errors") or {})
    total = sum(v for _, v in kinds)
    rows.append(("errors", f"{total:,}" + (f" ({total / summary['requests'] * 100:.2f}%)" if summary["requests"]
                                            else "")))
    rows += [(f"  {kind}", f"{count:,}") for kind, count in kinds]
    width = max(len(str(key)) for key, _ in rows)
    return "\n".join(f"{str(key).ljust(width)}  {value}" for key, value in rows)


def json_summary(summary: dict, url: str, report: Optional[str], during: Optional[dict], tasks: list) -> dict:
    """The --json document: the generator's figures plus where they came from."""
    latency = summary["latency_ms"]
    return {"url": url, "users": summary.get("users"), "duration_s": summary["duration_s"],
            "requests": summary["requests"], "ok": summary.get("ok"), "rps": summary["rps"],
            "errors": dict(summary.get("errors") or {}),
            "latency_ms": {k: latency[k] for k in ("min", "mean", "p50", "p90", "p95", "p99", "max") if k in latency},
            "during": during, "tasks": tasks, "report": report, "interrupted": bool(summary.get("interrupted"))}


def task_usage(series: list) -> list:
    """Per task container, from the stats sampled during the run ([(t, [TaskStats])]): mean and peak CPU %, peak
    memory; a task that a redeploy replaced is two rows (same task name, two containers), in the order they ran."""
    seen = {}
    for t, rows in series:
        for row in rows:
            if row.memory_bytes is None:
                continue
            entry = seen.setdefault((row.service, row.task, row.node, row.container),
                                    {"first": t, "cpu": [], "memory": []})
            if row.cpu_percent is not None:
                entry["cpu"].append(row.cpu_percent)
            entry["memory"].append(row.memory_bytes)
    ordered = sorted(seen.items(), key=lambda item: (item[0][0], item[0][1], item[1]["first"]))
    return [{"service": service, "task": task, "node": node, "container": container,
             "cpu_percent_mean": round(sum(e["cpu"]) / len(e["cpu"]), 2) if e["cpu"] else None,
             "cpu_percent_max": max(e["cpu"]) if e["cpu"] else None,
             "memory_bytes_max": max(e["memory"]), "samples": len(e["memory"])}
            for (service, task, node, container), e in ordered]


def usage_table(tasks: list) -> str:
    rows = [(t["task"], t["container"][:6], t["node"],
             "-" if t["cpu_percent_mean"] is None else f"{t['cpu_percent_mean']:.1f}%",
             "-" if t["cpu_percent_max"] is None else f"{t['cpu_percent_max']:.1f}%",
             output.size(t["memory_bytes_max"])) for t in tasks]
    return output.table(rows, ("TASK", "CONTAINER", "NODE", "CPU % MEAN", "CPU % PEAK", "MEMORY PEAK"))


def closing(summary: dict, doc: dict, report: str) -> str:
    """What `goswarm load` prints at the end: the table, the tasks' usage, the --during command, the report."""
    parts = [summary_table(summary, doc["url"]), usage_table(doc["tasks"])]
    during = doc.get("during")
    if during:
        end = "-" if during["end_s"] is None else f"{during['end_s']:.1f}"
        parts.append(f"during: `{during['command']}` {during['start_s']:.1f}-{end} s, exit {during['exit_code']}"
                     + (f" ({during['last_line']})" if during.get("exit_code") and during.get("last_line") else ""))
    parts.append(f"report: {report}")
    return "\n\n".join(parts)
