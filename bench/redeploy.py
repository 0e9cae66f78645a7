#!/usr/bin/env python3
"""Benchmark `inv redeploy` against the blog's hand-written script (bench/copyall.sh).

Both run in one process, one after the other, on the same engine, each on its
own copy of services/accountservice in a temp dir, under its own service name
and port, so neither touches the project's real services:

    ours (edge)  inv -f <tmp>/bench-edged.yaml redeploy --service bench-edged  (port 16770)
                 publish_mode: edge, as the sample accountservice: start-first behind bench-edged-edge
    ours (host)  inv -f <tmp>/bench-accounts.yaml redeploy --service bench-accounts  (port 16767)
                 publish_mode: host: the task binds the port, so the update is stop-first
    baseline  bash bench/copyall.sh                  service bench-copyall (port 16768)
              the blog's script as a user runs it today: `service create` waits for convergence
    baseline  DETACH=1 bash bench/copyall.sh         service bench-copyall-detach (port 16769)
              `service create --detach`, as the blog's Docker (before 17.10) returned at once
    ours (dev --live)  inv -f <tmp>/bench-live.yaml dev --live --service bench-live  (port 16771), in the
                 background from before the first edit: publish_mode: edge; each save is compiled and swapped
                 into the running task (b and b' only: b' is when dev says the change is served)

Scenarios (median of --runs):
    a) redeploy with nothing changed, after one warm-up deploy
    b) edit-to-serving: one-line change in main.go -> redeploy; the clock stops when the new text is
       first served (a client polls every 20 ms from the edit on, while the redeploy runs)
    b') the same edits: until the redeploy command returns (it waits for the rollout to finish)
    c) `inv --list` wall time (ours only)

Usage:  python bench/redeploy.py [--runs 5]      (from anywhere; commands run in the repo root)
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/common.py, whatever the cwd
from common import (  # noqa: E402
    IMAGE_PREFIX,
    ROOT,
    SMOKE,
    BenchError,
    FirstAnswer,
    copy_source,
    failed,
    in_turn,
    machine,
    median,
    one_service_config,
    print_samples,
    remove_images,
    remove_services,
    run,
    run_unlocked,
    set_name_prefix,
    table,
    timed,
    wait_for_text,
)

COPYALL = ROOT / "bench" / "copyall.sh"
SERVE_TIMEOUT = 60.0


# --- helpers ------------------------------------------------------------------

def version_index(service: str) -> int:
    return int(run(["docker", "service", "inspect", "-f", "{{.Version.Index}}", service]).stdout.strip())


def image_id(ref: str) -> str:
    result = run(["docker", "image", "inspect", "-f", "{{.Id}}", ref], check=False)
    return result.stdout.strip() if result.returncode == 0 else ""


# --- the contenders -------------------------------------------------------

@dataclass
class Target:
    label: str
    service: str
    port: int
    src: Path  # this target's own copy of the service
    argv: list
    env: dict
    image: str  # the image ref the redeploy leaves behind (to clean up)
    images: set = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{SMOKE}"

    def redeploy(self) -> float:
        seconds, _, _ = run_unlocked(self.argv, self.env)  # a run refused for another's deploy lock is not timed
        built = image_id(self.image)
        if built:
            self.images.add(built)
        return seconds


class Live(Target):
    """`inv dev --live` in the background: an edit is all it takes, and `redeploy` waits for dev to say so."""

    proc = None
    served = 0

    @property
    def log(self) -> Path:
        return self.src.parent / f"{self.service}-dev.log"

    def start(self) -> float:
        began = time.perf_counter()
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        self.wait_for("runs under goswarm's supervisor", 1, 300)
        return time.perf_counter() - began

    def wait_for(self, text: str, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.log.read_text().count(text) < count:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise BenchError(f"dev --live did not print {text!r} x{count}:\n{self.log.read_text()[-2000:]}")
            time.sleep(0.01)

    def redeploy(self) -> float:
        began, self.served = time.perf_counter(), self.served + 1
        self.wait_for(f"dev: {self.service} is serving the change", self.served, SERVE_TIMEOUT)
        return time.perf_counter() - began

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


def ours(workdir: Path, network: str, mode: str, live: bool = False) -> Target:
    service, port = ("bench-edged", 16770) if mode == "edge" else ("bench-accounts", 16767)
    if live:
        service, port = "bench-live", 16771
    src = copy_source(workdir / service)
    config = workdir / f"{service}.yaml"
    config.write_text(one_service_config("bench/redeploy.py", service, src, port, mode, workdir / "dist", network))
    env = {**os.environ, "GOSWARM_ROOT": str(workdir)}  # the project is the temp dir: its sources are there
    if live:
        argv = ["inv", "-f", str(config), "dev", "--live", "--service", service]
        return Live("ours (dev --live)", service, port, src, argv, env, f"{IMAGE_PREFIX}/{service}:latest")
    argv = ["inv", "-f", str(config), "redeploy", "--service", service]
    return Target(f"ours ({mode})", service, port, src, argv, env, f"{IMAGE_PREFIX}/{service}:latest")


def copyall(workdir: Path, network: str, detach: bool = False) -> Target:
    label, service, port = ("copyall.sh --detach", "bench-copyall-detach", 16769) if detach else \
        ("copyall.sh", "bench-copyall", 16768)
    src = copy_source(workdir / service)
    image = f"{IMAGE_PREFIX}/{service}"
    env = {**os.environ, "SERVICE": service, "SRC": str(src), "PORT": str(port), "NETWORK": network,
           "IMAGE": image, "DETACH": "1" if detach else ""}
    return Target(label, service, port, src, ["bash", str(COPYALL)], env, f"{image}:latest")


# --- scenarios ----------------------------------------------------------------

def warm_up(targets) -> dict:
    seconds = {}
    for target in targets:
        seconds[target.label] = target.redeploy()
        wait_for_text(target.url, '"name":"Person_0"', SERVE_TIMEOUT)
    return seconds


def nothing_changed(targets, runs: int, tracked: Target) -> tuple:
    """a) Redeploy unchanged sources; for `tracked`, count runs that changed the swarm service."""
    samples = {t.label: [] for t in targets}
    updates = 0
    for i in range(runs):
        for target in in_turn(targets, i):
            before = version_index(tracked.service) if target is tracked else None
            samples[target.label].append(target.redeploy())
            if target is tracked and version_index(tracked.service) != before:
                updates += 1
    return samples, updates


def edit_to_serving(targets, runs: int, tracked: Target) -> tuple:
    """b) From just after a one-line edit until the new text is first served, and until the command returns."""
    answers, returns = ({t.label: [] for t in targets} for _ in range(2))
    updates = 0
    for i in range(runs):
        for target in in_turn(targets, i):
            marker = f"Bench{i}x{uuid.uuid4().hex[:8]}_"
            set_name_prefix(target.src / "main.go", marker)
            before = version_index(tracked.service) if target is tracked else None
            first = FirstAnswer(target.url, f'"name":"{marker}0"', SERVE_TIMEOUT)
            target.redeploy()
            returns[target.label].append(time.time() - first.began)
            answers[target.label].append(first.seconds())
            if target is tracked and version_index(tracked.service) != before:
                updates += 1
    return answers, returns, updates


def list_tasks(runs: int) -> list:
    """c) `inv --list`: the cost of loading the task collection."""
    return [timed(run, ["inv", "--list"])[0] for _ in range(runs)]


# --- report -------------------------------------------------------------------

def row(scenario: str, samples: dict, targets) -> list:
    """The median of each contender, then each of ours / copyall.sh."""
    cells = [f"{median(samples[t.label]):.2f}" if t.label in samples else "n/a" for t in targets]
    base = samples.get("copyall.sh")
    ratios = [f"{median(samples[t.label]) / median(base):.2f}" if base and t.label in samples else "n/a"
              for t in targets if t.label.startswith("ours")]
    return [scenario, *cells, *ratios]


# --- setup and cleanup --------------------------------------------------------

def wait_for_engine(timeout: float = 60) -> bool:
    """Cleanup may follow an engine restart (another user of the engine); give it time to come back."""
    deadline = time.monotonic() + timeout
    while run(["docker", "info", "--format", "{{.Swarm.LocalNodeState}}"], check=False).stdout.strip() != "active":
        if time.monotonic() > deadline:
            print(f"warning: the engine is not an active swarm manager after {timeout:.0f}s; clean up by hand: "
                  "docker service rm bench-accounts bench-copyall bench-copyall-detach", file=sys.stderr)
            return False
        time.sleep(1)
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="measured runs per scenario (default: 5)")
    parser.add_argument("--network", default="my_network", help="overlay network (default: my_network)")
    parser.add_argument("--keep", action="store_true", help="leave the services, images and temp dir in place")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    workdir = Path(tempfile.mkdtemp(prefix="bench-redeploy-"))
    live = ours(workdir, args.network, "edge", live=True)
    redeployed = [ours(workdir, args.network, "edge"), ours(workdir, args.network, "host"),
                  copyall(workdir, args.network), copyall(workdir, args.network, detach=True)]
    targets = [live, *redeployed]
    services = [f"{redeployed[0].service}-edge", f"{live.service}-edge", *(t.service for t in targets)]
    mine = redeployed[0]
    try:
        remove_services(services)  # leftovers of an interrupted earlier run: ours by name
        print("\n".join(machine()))
        print(f"runs:    {args.runs} per scenario (median); ratio = ours / copyall.sh, below 1 means ours is faster")
        print()
        warm = warm_up(redeployed)
        warm[live.label] = live.start()
        print("warm-up deploy (create, once): "
              + ", ".join(f"{label} {seconds:.2f}s" for label, seconds in warm.items()))
        a, a_updates = nothing_changed(redeployed, args.runs, mine)
        b, b_returns, b_updates = edit_to_serving(targets, args.runs, mine)
        c = {mine.label: list_tasks(args.runs)}
        print()
        print(table([
            row("a) redeploy, nothing changed", a, targets),
            row("b) edit -> new code answers", b, targets),
            row("b') edit -> command returns", b_returns, targets),
            row("c) inv --list", c, targets),
        ], ["scenario", *(f"{t.label} (median s)" for t in targets),
            *(f"{t.label} / copyall.sh" for t in targets if t.label.startswith("ours"))]))
        print()
        print(f"a) {mine.label}: swarm service updates in {args.runs} no-change redeploys: {a_updates} (goal 0; "
              f"runs where `docker service inspect -f '{{{{.Version.Index}}}}' {mine.service}` changed)")
        print(f"b) {mine.label}: swarm service updates in {args.runs} edits: {b_updates} (expected {args.runs})")
        print_samples([*((f"{s} {t.label}", r[t.label]) for s, r in (("a", a), ("b", b), ("b'", b_returns))
                         for t in targets if t.label in r), ("c inv --list", c[mine.label])])
        return 0
    except BenchError as e:
        return failed(e)
    finally:
        live.stop()
        if args.keep:
            print(f"\nkept: services {', '.join(t.service for t in targets)}, temp dir {workdir}", file=sys.stderr)
        else:
            if wait_for_engine():
                remove_services(services)
                # the images this run built (ids recorded after each redeploy), and what an interrupted
                # run left: our repositories, by name
                repositories = [t.image.rsplit(":", 1)[0] for t in targets] + [f"{IMAGE_PREFIX}/goswarm-edge"]
                remove_images(repositories, [i for t in targets for i in t.images])
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
