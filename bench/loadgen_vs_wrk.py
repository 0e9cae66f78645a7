#!/usr/bin/env python3
"""Is goswarm's load generator the bottleneck? A comparison with wrk, on the same server in the same run.

Builds goswarm/go/loadgen and services/accountservice into a temp dir, starts the service on a free
port of 127.0.0.1, and for each concurrency runs, in turn and alternating which goes first,

    wrk -t2 -cN -dDs --latency http://127.0.0.1:PORT/accounts/10001
    loadgen -url http://127.0.0.1:PORT/accounts/{id} -ids 10000-10099 -users N -duration Ds

(wrk on one id, since a Lua script to vary it would cost wrk more than the server; loadgen picks a
random id per request, as it will when driven by `goswarm load`). Each tool gets --rounds runs per
concurrency; the table shows their medians, and the median of the rounds' loadgen/wrk ratios (runs
made back to back are compared, so that the drift of a shared machine's load cancels out). The goal
is that loadgen reaches at least 0.8x wrk's requests/s with p50 and p99 within 25% of wrk's: on 2
cores every CPU second a generator spends is taken from the server, so a costly generator shows as
fewer requests/s.

Columns: req/s; p50, p99 and mean latency; N/rps, the mean latency that Little's law allows at that
concurrency and rate (a mean above it means the tool's latency or its count is off); the generator's
CPU seconds (user+system, from getrusage of the reaped child) and per request; the server's CPU
seconds over the same run (from /proc); and the errors each tool saw, summed over the rounds (wrk's
socket errors and non-2xx; loadgen's error kinds).

Why N/rps: on the 2-core machine this was written on, wrk's mean latency came out well above it (3-4x
at 10 connections, and even with a single connection, where the mean cannot exceed the time per
request), while its p50 agreed with loadgen's; wg/wrk#438 reports the same. Its p99 is then suspect
too: where loadgen's p99 is far below wrk's, the verdict says whether wrk's mean broke the law.

Usage:  python3 bench/loadgen_vs_wrk.py [--concurrency 10,100,1000] [--seconds 5] [--rounds 3] [--long]
        --long adds one run of each at 1000 users for 30 s. Only 127.0.0.1 is ever sent traffic; every
        run is bounded in time. Needs go and wrk on PATH.
"""
import argparse
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/common.py, whatever the cwd
import common  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LOADGEN_SRC = ROOT / "goswarm" / "go" / "loadgen"
SERVICE_SRC = ROOT / "services" / "accountservice"
HOST = "127.0.0.1"
IDS = "10000-10099"  # what accountservice seeds
RUN_SLACK_S = 30  # a run that overruns its duration by this much is killed
WANT_RPS_RATIO = 0.8
WANT_LATENCY_TOLERANCE = 0.25


@dataclass
class Run:
    """One tool's figures for one run."""
    tool: str
    users: int
    seconds: int
    rps: float
    p50_ms: float
    p99_ms: float
    mean_ms: float
    cpu_s: float  # the generator's
    server_cpu_s: float
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def cpu_us_per_request(self) -> float:
        return self.cpu_s / (self.rps * self.seconds) * 1e6

    @property
    def littles_law_ms(self) -> float:
        """The highest mean latency that N users in a closed loop can have at this rate."""
        return self.users / self.rps * 1e3


RATIOS = ("rps", "p50_ms", "p99_ms", "mean_ms", "cpu_s", "cpu_us_per_request")


@dataclass
class Comparison:
    """Both tools at one concurrency: each one's medians over the rounds, and for each figure the median
    of the rounds' loadgen/wrk ratios. Pairing runs made back to back cancels out the drift of a shared
    machine's load, which a ratio of the two medians would not."""
    wrk: Run
    ours: Run
    ratios: dict[str, float]


class BenchError(Exception):
    pass


# --- building and serving ---------------------------------------------------------------------

def build(src: Path, out: Path) -> Path:
    env = dict(os.environ, CGO_ENABLED="0")
    result = subprocess.run(["go", "build", "-o", str(out), "."], cwd=src, env=env,
                            capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise BenchError(f"go build in {src} failed:\n{result.stderr[-3000:]}")
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def raise_fd_limit(want: int = 65536) -> None:
    """wrk and loadgen at 1000 connections, and the server too, need more than the usual 1024 fds.
    Children inherit the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < 4096:
        print(f"warning: RLIMIT_NOFILE is {target}: 1000 connections may fail", file=sys.stderr)


def start_server(binary: Path, port: int, log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        server = subprocess.Popen([str(binary)], env=dict(os.environ, PORT=str(port)),
                                  stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise BenchError(f"accountservice exited with {server.returncode}:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/health", timeout=1) as answer:
                if answer.status == 200:
                    return server
        except OSError:
            time.sleep(0.1)
    stop(server)
    raise BenchError(f"accountservice did not answer on port {port} within 15 s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measured(argv: list[str], seconds: int, server: subprocess.Popen) -> tuple[str, float, float]:
    """Run a generator to its end; return its stdout, its CPU seconds and the server's over the run."""
    cpu_before, server_before = children_cpu_s(), common.process_cpu_s(server.pid)
    try:
        result = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                                timeout=seconds + RUN_SLACK_S)
    except subprocess.TimeoutExpired:
        raise BenchError(f"`{' '.join(argv)}` overran its {seconds} s by {RUN_SLACK_S} s") from None
    if result.returncode != 0:
        raise BenchError(f"`{' '.join(argv)}` exited with {result.returncode}:\n{result.stderr[-2000:]}")
    return result.stdout, children_cpu_s() - cpu_before, common.process_cpu_s(server.pid) - server_before


# --- the two tools ----------------------------------------------------------------------------

WRK_UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def wrk_ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text).groups()
    return float(number) * WRK_UNITS_MS[unit]


def parse_wrk(out: str) -> dict:
    def find(pattern):
        match = re.search(pattern, out, re.MULTILINE)
        if not match:
            raise BenchError(f"no {pattern!r} in wrk's output:\n{out}")
        return match.group(1)

    errors = {}
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if socket_errors:
        for kind, count in zip(("connect", "read", "write", "timeout"), socket_errors.groups()):
            if int(count):
                errors[kind] = int(count)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        errors["non-2xx"] = int(non2xx.group(1))
    return {
        "rps": float(find(r"^Requests/sec:\s+([\d.]+)")),
        "p50_ms": wrk_ms(find(r"^\s+50%\s+(\S+)")),
        "p99_ms": wrk_ms(find(r"^\s+99%\s+(\S+)")),
        "mean_ms": wrk_ms(find(r"^\s+Latency\s+(\S+)")),
        "errors": errors,
    }


def run_wrk(port: int, users: int, seconds: int, server: subprocess.Popen) -> Run:
    argv = ["wrk", "-t2", f"-c{users}", f"-d{seconds}s", "--latency", f"http://{HOST}:{port}/accounts/10001"]
    out, cpu, server_cpu = measured(argv, seconds, server)
    return Run("wrk", users, seconds, cpu_s=cpu, server_cpu_s=server_cpu, **parse_wrk(out))


def run_loadgen(binary: Path, port: int, users: int, seconds: int, server: subprocess.Popen) -> Run:
    argv = [str(binary), "-url", f"http://{HOST}:{port}/accounts/{{id}}", "-ids", IDS,
            "-users", str(users), "-duration", f"{seconds}s"]
    out, cpu, server_cpu = measured(argv, seconds, server)
    summary = json.loads(out.strip().splitlines()[-1])
    if summary.get("type") != "summary":
        raise BenchError(f"loadgen's last line is not its summary:\n{out[-2000:]}")
    latency = summary["latency_ms"]
    return Run("loadgen", users, seconds, rps=summary["rps"], p50_ms=latency["p50"], p99_ms=latency["p99"],
               mean_ms=latency["mean"], cpu_s=cpu, server_cpu_s=server_cpu, errors=summary["errors"])


# --- the report -------------------------------------------------------------------------------

def median_run(runs: list[Run]) -> Run:
    """Each figure's median over the rounds (so not necessarily one real run's figures)."""
    errors: dict[str, int] = {}
    for run in runs:
        for kind, count in run.errors.items():
            errors[kind] = errors.get(kind, 0) + count
    return Run(runs[0].tool, runs[0].users, runs[0].seconds,
               **{name: statistics.median(getattr(run, name) for run in runs)
                  for name in ("rps", "p50_ms", "p99_ms", "mean_ms", "cpu_s", "server_cpu_s")},
               errors=errors)


def compared(wrk_runs: list[Run], our_runs: list[Run]) -> Comparison:
    ratios = {name: statistics.median(getattr(ours, name) / getattr(wrk, name)
                                      for wrk, ours in zip(wrk_runs, our_runs))
              for name in RATIOS}
    return Comparison(median_run(wrk_runs), median_run(our_runs), ratios)


HEADER = ("conc", "tool", "req/s", "p50 ms", "p99 ms", "mean ms", "N/rps ms", "CPU s", "CPU µs/req",
          "server CPU s", "errors")


def row(run: Run) -> tuple:
    errors = ", ".join(f"{kind} {count}" for kind, count in sorted(run.errors.items())) or "-"
    return (run.users, run.tool, f"{run.rps:,.0f}", f"{run.p50_ms:.3f}", f"{run.p99_ms:.3f}",
            f"{run.mean_ms:.3f}", f"{run.littles_law_ms:.3f}", f"{run.cpu_s:.2f}",
            f"{run.cpu_us_per_request:.1f}", f"{run.server_cpu_s:.2f}", errors)


def ratio_row(c: Comparison) -> tuple:
    r = {name: f"{ratio:.2f}x" for name, ratio in c.ratios.items()}
    return ("", "loadgen/wrk", r["rps"], r["p50_ms"], r["p99_ms"], r["mean_ms"], "", r["cpu_s"],
            r["cpu_us_per_request"], "", "")


def print_table(rows: list[tuple]) -> None:
    widths = [max(len(str(cells[i])) for cells in rows) for i in range(len(rows[0]))]
    for n, cells in enumerate(rows):
        print("  ".join(str(cell).rjust(width) if i not in (1, len(cells) - 1) else str(cell).ljust(width)
                        for i, (cell, width) in enumerate(zip(cells, widths))).rstrip())
        if n == 0:
            print("  ".join("-" * width for width in widths))


def verdict(c: Comparison) -> str:
    rps, p50, p99 = c.ratios["rps"], c.ratios["p50_ms"], c.ratios["p99_ms"]
    checks = [
        (f"req/s {rps:.2f}x (want >= {WANT_RPS_RATIO})", rps >= WANT_RPS_RATIO),
        (f"p50 {p50:.2f}x", abs(p50 - 1) <= WANT_LATENCY_TOLERANCE),
        (f"p99 {p99:.2f}x", abs(p99 - 1) <= WANT_LATENCY_TOLERANCE),
    ]
    failed = [text for text, ok in checks if not ok]
    status = "met" if not failed else "NOT met: " + "; ".join(failed)
    if failed and c.wrk.mean_ms > 1.1 * c.wrk.littles_law_ms:
        status += " (wrk's mean latency is above N/rps: its latencies are inflated)"
    return f"{c.ours.users:>5} users, {c.ours.seconds} s runs: {', '.join(text for text, _ in checks)} -> {status}"


# --- the benchmark ----------------------------------------------------------------------------

def compare(users: int, seconds: int, rounds: int, port: int, loadgen: Path,
            server: subprocess.Popen) -> Comparison:
    """`rounds` runs of each tool at one concurrency, alternating which goes first."""
    runs: dict[str, list[Run]] = {"wrk": [], "loadgen": []}
    for n in range(rounds):
        order = ["wrk", "loadgen"] if n % 2 == 0 else ["loadgen", "wrk"]
        for tool in order:
            if tool == "wrk":
                run = run_wrk(port, users, seconds, server)
            else:
                run = run_loadgen(loadgen, port, users, seconds, server)
            runs[tool].append(run)
            print(f"  {users:>5} users, round {n + 1}, {tool:<7} {run.rps:>9,.0f} req/s  p50 {run.p50_ms:.3f} "
                  f"p99 {run.p99_ms:.3f} ms  CPU {run.cpu_s:.2f} s", file=sys.stderr, flush=True)
            time.sleep(1)  # let the server settle between runs
    return compared(runs["wrk"], runs["loadgen"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--concurrency", default="10,100,1000", help="comma list of user counts")
    parser.add_argument("--seconds", type=int, default=5, help="per run")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each tool per concurrency")
    parser.add_argument("--long", action="store_true", help="also one run each at 1000 users for 30 s")
    args = parser.parse_args()
    concurrencies = [int(n) for n in args.concurrency.split(",")]
    for tool in ("go", "wrk"):
        if not shutil.which(tool):
            raise BenchError(f"{tool} is not on PATH")

    raise_fd_limit()
    tmp = Path(tempfile.mkdtemp(prefix="loadgen-vs-wrk-"))
    server = None
    try:
        loadgen = build(LOADGEN_SRC, tmp / "loadgen")
        service = build(SERVICE_SRC, tmp / "accountservice")
        port = free_port()
        server = start_server(service, port, tmp / "accountservice.log")
        print(f"accountservice on {HOST}:{port}, {os.cpu_count()} CPUs, {args.rounds} rounds of "
              f"{args.seconds} s per tool and concurrency", file=sys.stderr)

        plan = [(users, args.seconds, args.rounds) for users in concurrencies]
        if args.long:
            plan.append((1000, 30, 1))
        results = [compare(users, seconds, rounds, port, loadgen, server) for users, seconds, rounds in plan]
    finally:
        if server is not None:
            stop(server)
        shutil.rmtree(tmp, ignore_errors=True)

    rows = [HEADER]
    for c in results:
        rows += [row(c.wrk), row(c.ours), ratio_row(c)]
    print()
    print_table(rows)
    print()
    for c in results:
        print(verdict(c))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
