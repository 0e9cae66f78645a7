#!/usr/bin/env python3
"""The blog's measurement as one command: `goswarm load --users N --duration S` against the sample accountservice,
next to wrk at the same concurrency on the same service in the same run, in edge mode and in the blog's
copyall.sh-style deployment (a host-mode port, no edge), to show what the edge hop costs.

In a temp project (GOSWARM_ROOT), on the local swarm:
    edge      goswarm redeploy of accountservice, publish_mode: edge (bench-op-edged, and its edge service)
    copyall   bash bench/copyall.sh (go build, docker build, service create --publish mode=host), bench-op-copyall
For each, in turn: wrk -t2 -cN -dSs --latency URL/accounts/10001, then goswarm load --json (random ids over the
seeded accounts), each with the service's tasks' CPU and memory sampled by goswarm.ops.stats during the run, and
the generator's own CPU (user+system of the reaped child: for goswarm load, the Python task and its loadgen).
Services, images and the temp dir are removed at the end. Traffic goes to 127.0.0.1 only; every run is bounded.

Usage:  python bench/operator.py [--users 1000] [--seconds 30]
"""
import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
from loadgen_vs_wrk import parse_wrk, raise_fd_limit  # noqa: E402

EDGE, COPYALL, NETWORK, LOCK = "bench-op-edged", "bench-op-copyall", "bench-op-net", "bench-op-lock"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Sampler:
    """The tasks' stats of some services, about once a second, with goswarm's own collector."""

    def __init__(self, cfg, names):
        from goswarm.ops import stats

        self.stats, self.cfg, self.names, self.series = stats, cfg, names, []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        with self.stats.Streams() as streams:  # one stats stream per container, read at each refresh
            while not self.stop.is_set():
                self.series.append(self.stats.collect(self.cfg, self.names, streams).tasks)
                self.stop.wait(0.5)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(10)

    def usage(self) -> dict:
        """Per task: mean CPU % over the samples that have one, peak memory."""
        from goswarm.plan import load as plan

        return {t["task"]: t for t in plan.task_usage([(0, rows) for rows in self.series])}


def fmt_usage(usage: dict) -> str:
    return "; ".join(f"{task.split('.')[0]}: CPU {u['cpu_percent_mean']:.0f}% (peak {u['cpu_percent_max']:.0f}%), "
                     f"mem {u['memory_bytes_max'] / 1e6:.1f} MB" for task, u in sorted(usage.items())
                     if u["cpu_percent_mean"] is not None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=30)
    args = parser.parse_args()
    raise_fd_limit()
    tmp = Path(tempfile.mkdtemp(prefix="bench-operator-"))
    edge_port, copyall_port = free_port(), free_port()
    for name in ("edge", "copyall"):
        shutil.copytree(ROOT / "services" / "accountservice", tmp / name)
    scenario = {"path": "/accounts/{id}", "ids": "10000-10099"}
    cfg_file = tmp / "bench.json"
    cfg_file.write_text(json.dumps({
        "image": {"prefix": "bench-op"}, "swarm": {"network": NETWORK}, "deploy": {"lock": LOCK},
        "services": {EDGE: {"path": str(tmp / "edge"), "port": 6767, "publish": edge_port, "publish_mode": "edge",
                            "smoke": "/accounts/10000", "healthcheck": {"http": "/health"}, "load": scenario},
                     COPYALL: {"path": str(tmp / "copyall"), "port": copyall_port, "publish": copyall_port,
                               "publish_mode": "host", "load": scenario}}}))
    env = {**os.environ, "GOSWARM_ROOT": str(tmp), "MANAGER_IP": "127.0.0.1"}
    goswarm = [sys.executable, "-m", "goswarm", "-f", str(cfg_file)]
    os.environ.update(GOSWARM_ROOT=str(tmp), MANAGER_IP="127.0.0.1")
    from goswarm import settings

    cfg = settings.read(json.loads(cfg_file.read_text()))
    results = []
    try:
        subprocess.run([*goswarm, "swarm.init"], env=env, check=True, capture_output=True, timeout=120)
        subprocess.run([*goswarm, "redeploy", "--service", EDGE], env=env, check=True, capture_output=True,
                       timeout=600)
        subprocess.run(["bash", str(ROOT / "bench" / "copyall.sh")], check=True, capture_output=True, timeout=600,
                       env={**os.environ, "SRC": str(tmp / "copyall"), "SERVICE": COPYALL, "PORT": str(copyall_port),
                            "NETWORK": NETWORK, "IMAGE": f"bench-op/{COPYALL}"})
        # the generator is compiled before the first measured run
        subprocess.run([*goswarm, "load", "--service", EDGE, "--users", "2", "--duration", "1", "--json"], env=env,
                       check=True, capture_output=True, timeout=300)
        for label, service, port, names in (("edge", EDGE, edge_port, [EDGE, f"{EDGE}-edge"]),
                                            ("copyall.sh (host port)", COPYALL, copyall_port, [COPYALL])):
            time.sleep(3)
            before = children_cpu()
            with Sampler(cfg, names) as sampler:
                out = subprocess.run(["wrk", "-t2", f"-c{args.users}", f"-d{args.seconds}s", "--latency",
                                      f"http://127.0.0.1:{port}/accounts/10001"], capture_output=True, text=True,
                                     timeout=args.seconds + 60, check=True).stdout
            wrk = parse_wrk(out)  # wrk --latency has no p95
            results.append((label, "wrk", wrk["rps"], wrk["p50_ms"], None, wrk["p99_ms"], wrk["errors"],
                            children_cpu() - before, sampler.usage()))
            time.sleep(3)
            before = children_cpu()
            done = subprocess.run([*goswarm, "load", "--service", service, "--users", str(args.users), "--duration",
                                   str(args.seconds), "--json"], env=env, capture_output=True, text=True,
                                  timeout=args.seconds + 120, check=True)
            doc = json.loads(done.stdout)
            lat = doc["latency_ms"]
            usage = {t["task"]: t for t in doc["tasks"]}
            results.append((label, "goswarm load", doc["rps"], lat["p50"], lat["p95"], lat["p99"], doc["errors"],
                            children_cpu() - before, usage))
            for row in results[-2:]:
                print(f"  {row[0]:<24} {row[1]:<13} {row[2]:>9,.0f} req/s", file=sys.stderr, flush=True)
    finally:
        subprocess.run(["docker", "service", "rm", EDGE, f"{EDGE}-edge", COPYALL], capture_output=True)
        time.sleep(3)
        subprocess.run(["docker", "network", "rm", NETWORK], capture_output=True)
        images = subprocess.run(["docker", "images", "--format", "{{.Repository}}:{{.Tag}}"], capture_output=True,
                                text=True).stdout.split()
        mine = [ref for ref in images if ref.startswith("bench-op/")]  # this script's prefix only
        if mine:
            subprocess.run(["docker", "rmi", *mine], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"\n{args.users} users, {args.seconds} s each, {os.cpu_count()} CPUs, one run each, wrk first\n")
    print("| deployment | tool | req/s | p50 ms | p95 ms | p99 ms | errors | generator CPU s | service tasks |")
    print("|---|---|---:|---:|---:|---:|---|---:|---|")
    for label, tool, rps, p50, p95, p99, errors, cpu, usage in results:
        errs = ", ".join(f"{k} {v}" for k, v in sorted(errors.items())) or "0"
        print(f"| {label} | {tool} | {rps:,.0f} | {p50:.2f} | {'-' if p95 is None else f'{p95:.2f}'} | {p99:.2f} "
              f"| {errs} | {cpu:.1f} | {fmt_usage(usage)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
