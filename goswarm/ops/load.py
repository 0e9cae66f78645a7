"""`goswarm load`: the blog's Gatling run, with goswarm's own generator, a live line, a table and an HTML report.

The generator is compiled from the Go sources that ship with goswarm (goswarm/go/loadgen) into dist/, on first
use and again only when its sources or Go change, as the edge and the probe are. While it runs, the stats of the
service's tasks are sampled (ops/stats.collect) on the same clock, and a --during command (a goswarm task, e.g.
`redeploy --force`) is started a third of the way in and marked. Every run is bounded: the generator stops at its
duration (and at EOF on its stdin), and is killed if it has not ended `plan.load.GRACE_S` + 15 s after that.
"""
import contextlib
import io
import json
import platform
import queue
import resource
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from goswarm.errors import Interrupted, PipelineError, Terminated
from goswarm.io import environment, machines, terminal
from goswarm.ops import build, stats
from goswarm.plan import config, loadreport, output, platforms
from goswarm.plan import load as plan

USERS, DURATION = 100, 30.0  # the blog's run is 1000 users for 30 s; 100 is kinder as a default
KILL_AFTER_S = plan.GRACE_S + 15
STATS_EVERY_S = 1.0
HOST_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


@dataclass
class Run:
    """What a load run came to."""

    target: plan.Target
    summary: dict
    ticks: list = field(default_factory=list)
    stats: list = field(default_factory=list)  # [(t, [TaskStats])]
    during: Optional[dict] = None
    report: Optional[Path] = None

    def as_json(self) -> dict:
        return plan.json_summary(self.summary, self.target.url, str(self.report) if self.report else None,
                                 self.during, plan.task_usage(self.stats))


def loadgen_binary(sh, cfg) -> Path:
    """dist/goswarm-loadgen-<os>-<arch> for this machine, compiled when missing or stale (its messages go to
    stderr: stdout may be the --json document)."""
    arch = HOST_ARCH.get(platform.machine().lower())
    if sys.platform != "linux" or arch is None:
        raise PipelineError(f"goswarm load runs its generator on linux/amd64 or linux/arm64, not "
                            f"{sys.platform}/{platform.machine()}")
    host = platforms.Platform("linux", arch)
    service = config.Service(plan.LOADGEN, environment.GO_SOURCES / plan.LOADGEN_SOURCE, port=1)
    artifact = build.Artifact(service, host, cfg.dist / platforms.artifact_name(plan.LOADGEN, host))
    with contextlib.redirect_stdout(io.StringIO()) as said:
        try:
            go_version, _ = build.go_facts(sh, cfg.dist)
            compiled = build.compile_all(sh, [artifact], cfg.ldflags, go_version)
        except PipelineError:
            sys.stderr.write(said.getvalue())  # the compiler's own output
            raise
    if compiled:
        print(f"compiled the load generator: {output.shown(artifact.path)}", file=sys.stderr)
    return artifact.path


def choose(cfg, wanted: Optional[str]) -> config.Service:
    """--service, else the only service, else the first with a `load:` scenario."""
    if wanted:
        chosen = config.select(cfg.services, wanted)
        if len(chosen) != 1:
            raise PipelineError("--service names one service for goswarm load")
        return chosen[0]
    services = list(cfg.services.values())
    with_scenario = [s for s in services if s.load]
    if len(services) == 1 or with_scenario:
        return (with_scenario or services)[0]
    raise PipelineError(f"give --service: one of {', '.join(cfg.services)}")


def known_hosts(cfg) -> set:
    """The addresses this project created or recorded: its machines (lab ones included), and the manager's."""
    hosts = {m.host for m in machines.all_machines()}
    if cfg.manager:
        hosts.add(cfg.manager.host)
    return hosts


def run(sh, cfg, service: config.Service, users: int, duration: float, ramp: float = 0.0, rate: float = 0.0,
        base_url: Optional[str] = None, target_ok: bool = False, during: Optional[tuple] = None,
        stream=None, reports: Optional[Path] = None) -> Run:
    """Load `service` and return the run, with its report written under `reports` (default <root>/reports).

    during: (the command as the user gave it, its argv) to run a third of the way in (plan.during_argv makes the
    argv). stream: where the live
    line or the plain periodic lines go (default stderr)."""
    stream = stream or sys.stderr
    target = plan.target(service, cfg.manager_ip, base_url)
    why = plan.refusal(target.base_url, known_hosts(cfg), target_ok)
    if why:
        raise PipelineError(why)
    if users < 1 or duration <= 0 or ramp < 0 or ramp > duration or rate < 0:
        raise PipelineError("--users must be at least 1, --duration more than 0, --ramp between 0 and --duration, "
                            "--rate 0 or more")
    make_room(users)
    binary = loadgen_binary(sh, cfg)
    argv = plan.loadgen_argv(str(binary), target, users, duration, ramp, rate)
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    result = Run(target, {})
    names = stats.service_names(cfg, [service])
    interrupted, terminated, sampler, side = False, [], None, None
    previous = _on_sigterm(terminated)
    try:
        # A Ctrl-C or SIGTERM that comes while the generator starts waits (blocked) until the handling below is in
        # place; the generator itself starts with nothing blocked.
        signal.pthread_sigmask(signal.SIG_BLOCK, STOPS)
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True, bufsize=1, preexec_fn=_unblock_stops)
            began, lines = time.monotonic(), _lines(proc)
        except OSError as e:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPS)
            raise PipelineError(f"cannot start the load generator {output.shown(binary)}: {e.strerror or e}") from None
        try:  # from here on a Ctrl-C or SIGTERM, even while the rest starts, stops the generator and keeps its figures
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPS)  # one that came meanwhile is handled now
            sampler = _Sampler(cfg, names, began)
            sampler.start()
            side = _During(*during, began + duration * plan.DURING_AT, began) if during else None
            result.summary = _follow(proc, lines, result.ticks, began + duration + KILL_AFTER_S,
                                     terminal.Status(stream, every=5), side)
        except KeyboardInterrupt:
            interrupted = True
            proc.stdin.close()  # EOF (and the Ctrl-C it got too): the generator stops and prints its summary
            result.summary = _follow(proc, lines, result.ticks, time.monotonic() + KILL_AFTER_S,
                                     terminal.Status(stream), None)
        finally:
            if sampler:
                sampler.stop()
            _reap(proc)
            if side:
                side.finish(began + duration + 300)
    except KeyboardInterrupt:  # before the generator started, or a second time while it stopped
        raise (Terminated if terminated else Interrupted)("the load was stopped before its figures could be read; "
                                                          "no report was written") from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    result.stats = sampler.series if sampler else []
    result.during = side.record() if side else None
    if not result.summary:
        raise PipelineError(f"the load generator ended without a summary: {proc.stderr.read().strip()[:300]}")
    if interrupted:
        result.summary["interrupted"] = True
    folder = _new_folder(reports or cfg.root / "reports", time.strftime("%Y%m%d-%H%M%S"))
    result.report = folder / "index.html"
    result.report.write_text(loadreport.page(result.summary, target.url, result.ticks, result.stats, result.during,
                                         started, sampler.error if sampler else None))
    (folder / "summary.json").write_text(json.dumps(result.as_json(), indent=1) + "\n")
    if interrupted:
        stopped = Terminated if terminated else Interrupted
        raise stopped(f"the load stopped early; its report so far is {output.shown(result.report)}")
    failed = plan.all_failed(result.summary, target.url)
    if failed:
        raise PipelineError(f"{failed}; the report is {output.shown(result.report)}")
    return result


def make_room(users: int) -> None:
    """Raise this process's (and so the generator's) open-file limit to what `users` need, within the hard
    limit; refuse a count past that limit or past the ephemeral port range, before anything starts."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    raise_to, refusal = plan.capacity(users, soft, hard if hard != resource.RLIM_INFINITY else 1 << 30,
                                      environment.ephemeral_ports())
    if refusal:
        raise PipelineError(refusal)
    if raise_to:
        resource.setrlimit(resource.RLIMIT_NOFILE, (raise_to, hard))


STOPS = {signal.SIGINT, signal.SIGTERM}


def _unblock_stops() -> None:
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPS)


def _on_sigterm(terminated: list):
    """SIGTERM stops the run as Ctrl-C does (the generator prints its summary, the report is written), and is
    remembered so the exit code says which it was. The handler it replaced, or None off the main thread."""
    def handler(signum, frame):
        terminated.append(signum)
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, handler)


def _new_folder(parent: Path, name: str) -> Path:
    """parent/name, or name-2, name-3... when runs end in the same second."""
    parent.mkdir(parents=True, exist_ok=True)
    for n in range(1, 1000):
        folder = parent / (name if n == 1 else f"{name}-{n}")
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue
    raise PipelineError(f"cannot make a new report folder in {output.shown(parent)}")


def _lines(proc) -> queue.Queue:
    """The generator's stdout, line by line, from a thread of its own (None at its end)."""
    lines = queue.Queue()

    def reader():
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=reader, daemon=True).start()
    return lines


def _follow(proc, lines: queue.Queue, ticks: list, kill_at: float, status, side) -> dict:
    """Read the generator's lines until its summary; the live line shows each tick."""
    errors_total = 0
    while True:
        if side:
            side.poll()
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            if time.monotonic() > kill_at:
                proc.kill()
                raise PipelineError("the load generator overran its time limit and was killed") from None
            continue
        if line is None:
            status.done()
            return {}
        record = plan.parse_line(line)
        if record is None:
            continue
        if record["type"] == "summary":
            status.done()
            return record
        ticks.append(record)
        errors_total += sum((record.get("errors") or {}).values())
        status.update(plan.live_line(record, errors_total), key="load")


def _reap(proc) -> None:
    with contextlib.suppress(OSError, ValueError):
        proc.stdin.close()
    try:
        proc.wait(KILL_AFTER_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class _Sampler:
    """The stats of the service's tasks, about once a second, on the load's clock, in a thread of its own."""

    def __init__(self, cfg, names: list, began: float):
        self.cfg, self.names, self.began = cfg, names, began
        self.series = []
        self.error = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="load-stats")

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join(stats.NODE_TIMEOUT + stats.CLOSE_S + 2)

    def _run(self):
        with stats.Streams() as streams:
            while not self._stop.is_set():
                asked = time.monotonic()
                try:
                    snapshot = stats.collect(self.cfg, self.names, streams)
                except PipelineError as e:  # the report says so; the load itself goes on
                    self.error = str(e)
                    self._stop.wait(STATS_EVERY_S)
                    continue
                self.series.append((round(time.monotonic() - self.began, 3), snapshot.tasks))
                self._stop.wait(max(0.0, STATS_EVERY_S - (time.monotonic() - asked)))


class _During:
    """The --during command: started once its time comes, its start and end on the load's clock."""

    def __init__(self, command: str, argv: list, at: float, began: float):
        self.command, self.argv, self.at, self.began = command, argv, at, began
        self.proc = self.reader = None
        self.start_s = self.end_s = None
        self.output = ""

    def poll(self):
        now = time.monotonic()
        if self.proc is None and now >= self.at:
            self.start_s = now - self.began
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, text=True)
            self.reader = threading.Thread(target=self._read, daemon=True)
            self.reader.start()
        elif self.proc is not None and self.end_s is None and self.proc.poll() is not None:
            self.end_s = now - self.began

    def _read(self):
        self.output = self.proc.stdout.read()

    def finish(self, deadline: float):
        """Wait for the command (it was started, or starts now if the load ended before its time), up to
        `deadline`; then it is killed."""
        if self.proc is None:
            self.at = 0
            self.poll()
        try:
            self.proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.end_s is None:
            self.end_s = time.monotonic() - self.began
        self.reader.join(5)

    def record(self) -> dict:
        last = [line for line in self.output.splitlines() if line.strip()][-1:] or [""]
        return {"command": self.command, "start_s": round(self.start_s, 3),
                "end_s": round(self.end_s, 3) if self.end_s is not None else None,
                "exit_code": self.proc.returncode if self.proc else None, "last_line": last[0]}
