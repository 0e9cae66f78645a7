#!/usr/bin/env python3
"""Is goswarm's load generator the bottleneck? It against wrk, on the same server, in the same run.

Builds goswarm/go/loadgen and services/accountservice into a temp dir, starts the service on a free
port of 127.0.0.1, and for each concurrency runs, in turn and alternating which goes first,

    wrk -t2 -cN -dDs --latency http://127.0.0.1:PORT/accounts/10001
    loadgen -url http://127.0.0.1:PORT/accounts/{id} -ids 10000-10099 -users N -duration Ds

(wrk on one id, since a Lua script to vary it would cost wrk more than the server; loadgen picks a
random id per request, as it will when driven by `goswarm load`). Each tool gets --rounds runs per
concurrency; the table shows their medians and loadgen/wrk ratios. The goal is that loadgen reaches
at least 0.8x wrk's requests/s with p50 and p99 within 25% of wrk's: on 2 cores every CPU second a
generator spends is taken from the server, so a costly generator shows as fewer requests/s.

Columns: req/s; p50, p99 and mean latency; N/rps, the mean latency that Little's law allows at that
concurrency and rate (a mean above it means the tool's latency or its count is off); the generator's
CPU seconds (user+system, from getrusage of the reaped child) and per request; the server's CPU
seconds over the same run (from /proc); and the errors each tool saw (wrk's socket errors and
non-2xx; loadgen's error kinds).

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
from typing import Dict, List

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
    rps: float
    p50_ms: float
    p99_ms: float
    mean_ms: float
    cpu_s: float  # the generator's
    server_cpu_s: float
    errors: Dict[str, int] = field(default_factory=dict)


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


def process_cpu_s(pid: int) -> float:
    """utime + stime of a running process, from /proc (getrusage only sees reaped children)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measured(argv: List[str], seconds: int, server: subprocess.Popen) -> (str, float, float):
    """Run a generator to its end; return its stdout, its CPU seconds and the server's over the run."""
    cpu_before, server_before = children_cpu_s(), process_cpu_s(server.pid)
    try:
        result = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                                timeout=seconds + RUN_SLACK_S)
    except subprocess.TimeoutExpired:
        raise BenchError(f"`{' '.join(argv)}` overran its {seconds} s by {RUN_SLACK_S} s") from None
    if result.returncode != 0:
        raise BenchError(f"`{' '.join(argv)}` exited with {result.returncode}:\n{result.stderr[-2000:]}")
    return result.stdout, children_cpu_s() - cpu_before, process_cpu_s(server.pid) - server_before


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
    return Run("wrk", users, cpu_s=cpu, server_cpu_s=server_cpu, **parse_wrk(out))


def run_loadgen(binary: Path, port: int, users: int, seconds: int, server: subprocess.Popen) -> Run:
    argv = [str(binary), "-url", f"http://{HOST}:{port}/accounts/{{id}}", "-ids", IDS,
            "-users", str(users), "-duration", f"{seconds}s"]
    out, cpu, server_cpu = measured(argv, seconds, server)
    summary = json.loads(out.strip().splitlines()[-1])
    if summary.get("type") != "summary":
        raise BenchError(f"loadgen's last line is not its summary:\n{out[-2000:]}")
    latency = summary["latency_ms"]
    return Run("loadgen", users, rps=summary["rps"], p50_ms=latency["p50"], p99_ms=latency["p99"],
               mean_ms=latency["mean"], cpu_s=cpu, server_cpu_s=server_cpu, errors=summary["errors"])


# --- the report -------------------------------------------------------------------------------

def median_run(runs: List[Run]) -> Run:
    """Each figure's median over the rounds (so not necessarily one real run's figures)."""
    errors: Dict[str, int] = {}
    for run in runs:
        for kind, count in run.errors.items():
            errors[kind] = errors.get(kind, 0) + count
    return Run(runs[0].tool, runs[0].users,
               **{name: statistics.median(getattr(run, name) for run in runs)
                  for name in ("rps", "p50_ms", "p99_ms", "mean_ms", "cpu_s", "server_cpu_s")},
               errors=errors)


def cpu_us_per_request(run: Run, seconds: int) -> float:
    return run.cpu_s / (run.rps * seconds) * 1e6


HEADER = ("conc", "tool", "req/s", "p50 ms", "p99 ms", "mean ms", "N/rps ms", "CPU s", "CPU µs/req",
          "server CPU s", "errors")


def row(run: Run, seconds: int) -> tuple:
    errors = ", ".join(f"{kind} {count}" for kind, count in sorted(run.errors.items())) or "-"
    return (run.users, run.tool, f"{run.rps:,.0f}", f"{run.p50_ms:.3f}", f"{run.p99_ms:.3f}",
            f"{run.mean_ms:.3f}", f"{run.users / run.rps * 1e3:.3f}", f"{run.cpu_s:.2f}",
            f"{cpu_us_per_request(run, seconds):.1f}", f"{run.server_cpu_s:.2f}", errors)


def ratio_row(wrk: Run, ours: Run, seconds: int) -> tuple:
    def r(a, b):
        return f"{a / b:.2f}x" if b else "-"
    return ("", "loadgen/wrk", r(ours.rps, wrk.rps), r(ours.p50_ms, wrk.p50_ms), r(ours.p99_ms, wrk.p99_ms),
            r(ours.mean_ms, wrk.mean_ms), "", r(ours.cpu_s, wrk.cpu_s),
            r(cpu_us_per_request(ours, seconds), cpu_us_per_request(wrk, seconds)), "", "")


def print_table(rows: List[tuple]) -> None:
    widths = [max(len(str(cells[i])) for cells in rows) for i in range(len(rows[0]))]
    for n, cells in enumerate(rows):
        print("  ".join(str(cell).rjust(width) if i not in (1, len(cells) - 1) else str(cell).ljust(width)
                        for i, (cell, width) in enumerate(zip(cells, widths))).rstrip())
        if n == 0:
            print("  ".join("-" * width for width in widths))


def verdict(wrk: Run, ours: Run) -> str:
    def within(ours_ms, wrk_ms):
        return abs(ours_ms / wrk_ms - 1) <= WANT_LATENCY_TOLERANCE
    checks = [
        (f"req/s {ours.rps / wrk.rps:.2f}x (want >= {WANT_RPS_RATIO})", ours.rps >= WANT_RPS_RATIO * wrk.rps),
        (f"p50 {ours.p50_ms / wrk.p50_ms:.2f}x", within(ours.p50_ms, wrk.p50_ms)),
        (f"p99 {ours.p99_ms / wrk.p99_ms:.2f}x", within(ours.p99_ms, wrk.p99_ms)),
    ]
    failed = [text for text, ok in checks if not ok]
    status = "met" if not failed else "NOT met: " + "; ".join(failed)
    return f"{ours.users:>5} users: {', '.join(text for text, _ in checks)} -> {status}"


# --- the benchmark ----------------------------------------------------------------------------

def compare(users: int, seconds: int, rounds: int, port: int, loadgen: Path,
            server: subprocess.Popen) -> (Run, Run):
    """`rounds` runs of each tool at one concurrency, alternating which goes first; their medians."""
    runs: Dict[str, List[Run]] = {"wrk": [], "loadgen": []}
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
    return median_run(runs["wrk"]), median_run(runs["loadgen"])


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
        results = [(seconds, *compare(users, seconds, rounds, port, loadgen, server))
                   for users, seconds, rounds in plan]
    finally:
        if server is not None:
            stop(server)
        shutil.rmtree(tmp, ignore_errors=True)

    rows = [HEADER]
    for seconds, wrk, ours in results:
        rows += [row(wrk, seconds), row(ours, seconds), ratio_row(wrk, ours, seconds)]
    print()
    print_table(rows)
    print()
    for seconds, wrk, ours in results:
        print(f"{verdict(wrk, ours)}  ({seconds} s runs)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
