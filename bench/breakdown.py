#!/usr/bin/env python3
"""Where the normal path's seconds go: one-line edit -> `inv redeploy` -> the new code answers at the edge.

One service (a copy of services/accountservice, publish_mode: edge, one replica) is deployed once, then
edited and redeployed --runs times. Each run is timed from the edit, with three clocks read together:

  goswarm's own stage table   build, image, ship, deploy, smoke (what the command prints)
  the engine's events         the new task's container created and started, its first healthy check
  a client at the edge        polls the edge every 10 ms and keeps when the new text is first served

and split into phases that follow each other (the medians of the runs):

  start        the edit to goswarm's first stage (Python and Invoke start, settings, the engine's answer)
  build        `go build` (cached) and the build key
  image        the image of the new binary
  to the task  the end of the image stage to the new task's container being created: the plan, a trial
               container where one is needed, the update call, then the engine's orchestrator, scheduler and
               agent (the task is assigned, its network attachment allocated)
  start task   created to started
  health       started to the first healthy check (the check's interval, then the probe)
  to the edge  healthy to the first answer with the new text through the edge (the engine puts the task in
               tasks.<service>; HAProxy resolves it every 250 ms and checks it every 500 ms)
  answered     the edit to that first answer: the sum of the above
  returns      the edit to the command's return (drain of the old task, the smoke test)

--baseline REV runs the same on a service of its own with the code at a git revision (from `git archive`),
in turn with this checkout's, and prints the ratio of each phase.

Usage:  python bench/breakdown.py [--runs 5] [--baseline 0fd3d94]
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import docker

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/common.py, whatever the cwd
from common import (  # noqa: E402
    IMAGE_PREFIX,
    ROOT,
    SMOKE,
    BenchError,
    FirstAnswer,
    baseline_checkout,
    copy_source,
    failed,
    in_turn,
    machine,
    median,
    one_service_config,
    remove_images,
    remove_services,
    run_unlocked,
    set_name_prefix,
    table,
    wait_for_text,
)

SERVICE, PORT = "bench-breakdown", 16772
SERVE_TIMEOUT = 60.0
STAGE = re.compile(r"^(build|image|ship|deploy|smoke)\s+([\d.]+)s\s", re.M)
PHASES = ("start", "build", "image", "to the task", "start task", "health", "to the edge",
          "answered", "returns")


class Events(threading.Thread):
    """The engine's container events for a service's tasks from now on, each with its wall time."""

    def __init__(self, client, service: str):
        super().__init__(daemon=True)
        self.service = service
        self.stream = client.events(since=int(time.time()) - 1, decode=True,
                                    filters={"type": ["container"]})
        self.seen = []
        self.start()

    def run(self):
        try:
            for event in self.stream:
                self.seen.append(event)
        except Exception:  # the stream is closed at the end of the run
            pass

    def first(self, action: str, after: float, exclude: str = ""):
        """The wall time of the first such event at or after `after`, not of container `exclude` (None if none)."""
        for event in self.seen:
            at = event.get("timeNano", 0) / 1e9
            attributes = event.get("Actor", {}).get("Attributes", {})
            if not event.get("Action", "").startswith(action) or at < after:
                continue
            if attributes.get("com.docker.swarm.service.name") != self.service:
                continue
            if exclude and event.get("id") == exclude:
                continue
            return at
        return None

    def close(self):
        self.stream.close()


@dataclass
class Contender:
    label: str
    service: str
    port: int
    cwd: Path  # the tree whose goswarm runs: this checkout, or the baseline's
    workdir: Path
    src: Path  # its own copy of services/accountservice

    @property
    def argv(self) -> list:
        # `python -m invoke` from the tree's root imports that tree's goswarm and tasks
        return [sys.executable, "-m", "invoke", "-f", str(self.workdir / "goswarm.yaml"), "redeploy",
                "--service", self.service]

    @property
    def env(self) -> dict:
        return {**os.environ, "GOSWARM_ROOT": str(self.workdir)}

    def redeploy(self):
        return run_unlocked(self.argv, self.env, cwd=self.cwd)


def contender(label: str, service: str, port: int, cwd: Path, parent: Path, network: str) -> Contender:
    workdir = parent / service
    src = copy_source(workdir)
    (workdir / "goswarm.yaml").write_text(
        one_service_config("bench/breakdown.py", service, src, port, "edge", workdir / "dist", network))
    return Contender(label, service, port, cwd, workdir, src)


def running_container(client, service: str) -> str:
    tasks = client.api.tasks(filters={"service": service, "desired-state": "running"})
    ids = [t["Status"].get("ContainerStatus", {}).get("ContainerID", "") for t in tasks]
    if len(ids) != 1 or not ids[0]:
        raise BenchError(f"expected one running task of {service}, found {len(ids)}")
    return ids[0]


def one_run(client, who: Contender) -> dict:
    old = running_container(client, who.service)
    marker = f"Bd{uuid.uuid4().hex[:8]}_"
    events = Events(client, who.service)
    time.sleep(0.2)  # the event stream is open before the edit
    t0 = time.time()
    set_name_prefix(who.src / "main.go", marker)
    first = FirstAnswer(f"http://127.0.0.1:{who.port}{SMOKE}", f'"name":"{marker}0"', SERVE_TIMEOUT, 0.01)
    seconds, result, _ = who.redeploy()
    returned = t0 + seconds
    first.seconds()  # raises when the edge never served it
    time.sleep(0.5)  # late events
    events.close()
    stages = {name: float(value) for name, value in STAGE.findall(result.stdout)}
    if set(stages) < {"build", "image", "deploy"}:
        raise BenchError(f"no stage table in the redeploy's output:\n{result.stdout[-2000:]}")
    # goswarm's stages run back to back and end with the command: its start is what is left before them
    started = returned - sum(stages.values())
    built = started + stages["build"]
    imaged = built + stages["image"]
    created = events.first("create", imaged, exclude=old)
    up = events.first("start", imaged, exclude=old)
    healthy = events.first("health_status: healthy", imaged, exclude=old)
    if None in (created, up, healthy):
        raise BenchError(f"missing engine events (create {created}, start {up}, healthy {healthy}); "
                         f"seen: {[e.get('Action') for e in events.seen]}")
    points = [t0, started, built, imaged, created, up, healthy, first.at]
    phases = dict(zip(PHASES, [b - a for a, b in zip(points, points[1:])]))
    phases["answered"] = first.at - t0
    phases["returns"] = returned - t0
    return phases


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--baseline", default="", help="a git revision to run side by side (its own service)")
    args = parser.parse_args()
    client = docker.from_env()
    network = "my_network"
    workdir = Path(tempfile.mkdtemp(prefix="bench-breakdown-"))
    who = [contender("this checkout", SERVICE, PORT, ROOT, workdir, network)]
    print("\n".join(machine()))
    samples = {}
    try:
        if args.baseline:
            tree = baseline_checkout(args.baseline, workdir)
            who.append(contender(f"baseline {args.baseline}", f"{SERVICE}-base", PORT + 1, tree, workdir, network))
        for one in who:
            one.redeploy()
            wait_for_text(f"http://127.0.0.1:{one.port}{SMOKE}", '"name":"Person_0"', SERVE_TIMEOUT)
            samples[one.label] = {phase: [] for phase in PHASES}
        for i in range(args.runs):
            for one in in_turn(who, i):
                for phase, seconds in one_run(client, one).items():
                    samples[one.label][phase].append(seconds)
    except BenchError as error:
        return failed(error)
    finally:
        remove_services([name for one in who for name in (one.service, f"{one.service}-edge")])
        remove_images([f"{IMAGE_PREFIX}/{one.service}" for one in who])
        subprocess.run(["rm", "-rf", str(workdir)], check=False)
    print(f"\nedit -> new code at the edge, {args.runs} runs each, in turn (seconds; phases follow each other)\n")
    headers = ["phase", *(f"{one.label} (median)" for one in who)]
    rows = [[phase, *(f"{median(samples[one.label][phase]):.2f}" for one in who)] for phase in PHASES]
    if len(who) == 2:
        headers.append("ratio")
        rows = [row + [f"{float(row[1]) / float(row[2]):.2f}" if float(row[2]) else "n/a"] for row in rows]
    print(table(rows, headers))
    print("samples (s):")
    for one in who:
        for phase in PHASES:
            print(f"  {one.label}, {phase}: " + " ".join(f"{s:.2f}" for s in samples[one.label][phase]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
