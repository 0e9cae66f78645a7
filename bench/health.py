#!/usr/bin/env python3
"""What health checks cost an idle engine, and how soon a new task is healthy, side by side in one run.

Three ways to check the sample accountservice, each run as a service of 3 replicas on the host engine:

  self       the binary checks itself every 0.5 s: `/service -healthcheck` (goswarm's default before #6)
  probe      goswarm's probe every 0.5 s: `/.goswarm/probe http://127.0.0.1:6767/health`
  steady     goswarm's probe as deployed on engines without StartInterval (Docker < 25): the same check,
             but once the service has answered it stays in its check for 10 s (`-steady 10s`)

For each: the CPU that dockerd, containerd, the shims and the containers use over an idle window once all
tasks are healthy, minus the same window with no service (the engine's own idle), per task as a % of one
core; and the time from creating the service to each task being healthy (what an edit waits for before
the new code takes traffic). All three run in turn, twice, in this one process; medians are printed.

Usage: python bench/health.py [--window 30] [--rounds 2]     (root: it reads every process's CPU time)
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/common.py, whatever the cwd
import common  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SERVICE = "bench-health"
REPLICAS = 3
SECOND = 1_000_000_000
ENGINE_PROGRAMS = ("dockerd", "containerd", "containerd-shim", "containerd-shim-runc-v2")
CHECKS = {
    "self": ["CMD", "/service", "-healthcheck"],
    "probe": ["CMD", "/.goswarm/probe", "http://127.0.0.1:6767/health"],
    "steady": ["CMD", "/.goswarm/probe", "-steady", "10s", "http://127.0.0.1:6767/health"],
}
TIMEOUTS = {"self": 2 * SECOND, "probe": 2 * SECOND, "steady": 14 * SECOND}


def image_with_probe(workdir: Path) -> str:
    """The sample accountservice as goswarm builds it (its binary at /service, the probe at /.goswarm/probe)."""
    shutil.copytree(ROOT / "services" / "accountservice", workdir / "accountservice")
    (workdir / "goswarm.yaml").write_text(
        f"image: {{prefix: bench}}\ndeploy: {{lock: bench-health}}\n"
        f"services:\n  {SERVICE}: {{path: accountservice, port: 6767}}\n")
    env = {**os.environ, "GOSWARM_ROOT": str(workdir)}
    env.pop("DOCKER_HOST", None)
    for task in ("build", "image.build"):
        subprocess.run([sys.executable, "-m", "goswarm", task], cwd=workdir, env=env, check=True,
                       stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL, timeout=300)
    return f"bench/{SERVICE}:latest"


def engine_cpu_seconds() -> float:
    """CPU seconds (user + system) of the engine's processes and of every container, so far."""
    return sum(spent for name, spent in common.processes_cpu().values()
               if name in ENGINE_PROGRAMS or name.startswith("containerd-shim")) + containers_cpu_seconds()


def containers_cpu_seconds() -> float:
    """The host engine's containers' own CPU (probe processes included), from their cgroups: cgroup v1's
    cpuacct where it is mounted, else v2's cpu.stat."""
    v1 = Path("/sys/fs/cgroup/cpuacct/docker")
    if v1.is_dir():
        return sum(int(p.read_text()) / 1e9 for p in v1.glob("*/cpuacct.usage"))
    total = 0.0
    for path in [*Path("/sys/fs/cgroup/system.slice").glob("docker-*.scope/cpu.stat"),
                 *Path("/sys/fs/cgroup/docker").glob("*/cpu.stat")]:
        for line in path.read_text().splitlines():
            if line.startswith("usage_usec "):
                total += int(line.split()[1]) / 1e6
    return total


def idle_cpu(window: float) -> float:
    before = engine_cpu_seconds()
    time.sleep(window)
    return engine_cpu_seconds() - before


def deploy(client, image: str, kind: str) -> list:
    """Create the service; return the seconds from the create call to each task being healthy."""
    check = {"Test": CHECKS[kind], "Interval": SECOND // 2, "Timeout": TIMEOUTS[kind], "Retries": 3,
             "StartPeriod": 10 * SECOND}
    started = time.monotonic()
    client.api.create_service({"ContainerSpec": {"Image": image, "Env": ["PORT=6767"], "Healthcheck": check}},
                              name=f"{SERVICE}-{kind}", mode={"Replicated": {"Replicas": REPLICAS}})
    healthy = {}
    deadline = started + 60
    while len(healthy) < REPLICAS and time.monotonic() < deadline:
        for task in client.api.tasks(filters={"service": f"{SERVICE}-{kind}", "desired-state": "running"}):
            if task["Status"]["State"] == "running" and task["ID"] not in healthy:
                healthy[task["ID"]] = time.monotonic() - started
        time.sleep(0.05)
    if len(healthy) < REPLICAS:
        raise SystemExit(f"{kind}: only {len(healthy)}/{REPLICAS} tasks healthy after 60 s")
    return sorted(healthy.values())


def remove(client, kind: str) -> None:
    try:
        client.api.remove_service(f"{SERVICE}-{kind}")
    except docker.errors.NotFound:
        return
    deadline = time.monotonic() + 60
    while client.containers.list(all=True, filters={"label": f"com.docker.swarm.service.name={SERVICE}-{kind}"}):
        if time.monotonic() > deadline:
            raise SystemExit(f"{kind}: containers still there 60 s after removal")
        time.sleep(0.2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--window", type=float, default=30, help="idle seconds measured per run (default 30)")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each kind, in turn (default 2)")
    args = parser.parse_args()
    client = docker.from_env()
    results = {kind: {"cpu": [], "healthy": []} for kind in CHECKS}
    baseline = []
    with tempfile.TemporaryDirectory(prefix="bench-health-") as tmp:
        image = image_with_probe(Path(tmp))
        print(f"image: {image}; {REPLICAS} replicas; idle window {args.window:g} s; {args.rounds} rounds",
              file=sys.stderr)
        try:
            for round_ in range(args.rounds):
                baseline.append(idle_cpu(args.window))
                for kind in CHECKS:
                    results[kind]["healthy"] += deploy(client, image, kind)
                    time.sleep(2)  # let the creation's own work settle
                    results[kind]["cpu"].append(idle_cpu(args.window))
                    remove(client, kind)
                    print(f"round {round_ + 1}: {kind} done", file=sys.stderr)
        finally:
            for kind in CHECKS:
                remove(client, kind)
    idle = statistics.median(baseline)
    print(f"engine idle, no service: {idle / args.window * 100:.2f} % of a core")
    print(f"{'check':8} {'CPU per task':>14} {'(% of a core)':>14} {'create -> healthy, median':>26} {'max':>6}")
    for kind, figures in results.items():
        per_task = (statistics.median(figures["cpu"]) - idle) / args.window / REPLICAS
        print(f"{kind:8} {per_task * 1000:>11.1f} ms/s {per_task * 100:>13.2f}% "
              f"{statistics.median(figures['healthy']):>25.2f}s {max(figures['healthy']):>5.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
