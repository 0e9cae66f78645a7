#!/usr/bin/env python3
"""`goswarm dev --live` on a lab: from a save to every node serving the change, this code next to a baseline.

The lab: --nodes netns machines of this script's own (lab.prefix --prefix, its own MACHINES_DIR), brought up
from nothing. The service: a copy of services/accountservice, one replica per node, published in host mode, so
that every node runs a task and all but the manager's are reached over SSH.

Each contender (ours: this checkout's goswarm; baseline: --baseline, from `git archive`) runs `python -m goswarm
dev --live` in turn, --rounds times: it enters the live session (a rollout, untimed), then --edits one-line edits
are timed, one after another. For each edit:
    served     from the file's write to the last node answering with the new text (a poller per node, 10 ms);
    swap       what dev prints for the swap into the running tasks ("swapped into N running task(s) (X s)");
    dev total  what dev prints as its total (compile and swap; the debounce before it is not in it).
Medians per contender, and ours / baseline. Root and Linux; every command and wait is bounded, and the lab,
the images and the temp dir are removed at the end, also on failure.

Usage: python bench/livelab.py [--nodes 3] [--rounds 2] [--edits 3] [--baseline REV]
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    ROOT,
    BenchError,
    FirstAnswer,
    baseline_checkout,
    copy_source,
    free_port,
    remove_images,
    run,
    set_name_prefix,
)

SWAPPED = re.compile(r"swapped into (\d+) running task\(s\) \(([\d.]+) s\)")
SERVING = re.compile(r"is serving the change in the same (\d+) task\(s\) \(total ([\d.]+) s\)")
TIMEOUT = 600


class Dev:
    """`goswarm dev --live` of one contender in the background; its output in a file."""

    def __init__(self, python_path: Path, project: Path, env: dict, log: Path):
        self.log = log
        with open(log, "w") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "goswarm", "-r", str(project), "dev", "--live"],
                                         env={**env, "PYTHONPATH": str(python_path)}, stdout=out,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)

    def output(self) -> str:
        return self.log.read_text()

    def wait_for(self, pattern, count: int, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while len(re.findall(pattern, self.output())) < count:
            if self.proc.poll() is not None:
                raise BenchError(f"dev exited {self.proc.returncode}:\n{self.output()[-3000:]}")
            if time.monotonic() > deadline:
                raise BenchError(f"dev printed no {pattern!r} x{count} in {timeout:.0f} s:\n{self.output()[-3000:]}")
            time.sleep(0.05)
        return self.output()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 2)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait(10)


def hosts(machines_dir: Path, prefix: str) -> list:
    records = [json.loads(p.read_text()) for p in sorted(machines_dir.glob("*/machine.json"))]
    return [r["host"] for r in records if r["name"].startswith(f"{prefix}-")]


def session(label: str, tree: Path, project: Path, env: dict, main_go: Path, urls: list, edits: int,
            round_index: int, found: dict) -> None:
    dev = Dev(tree, project, env, project.parent / f"dev-{label}-{round_index}.log")
    try:
        dev.wait_for(r"runs under goswarm's supervisor", 1, TIMEOUT)
        for i in range(edits):
            marker = f"L{label[0]}{round_index}x{i}_"
            pollers = [FirstAnswer(url, marker, 120, interval=0.01) for url in urls]
            set_name_prefix(main_go, marker)
            out = dev.wait_for(SERVING, i + 1, 120)
            found["served"].append(max(p.seconds() for p in pollers))
            found["swap"].append(float(SWAPPED.findall(out)[-1][1]))
            found["dev total"].append(float(SERVING.findall(out)[-1][1]))
            time.sleep(1)
    finally:
        dev.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=3, help="lab nodes (default 3)")
    parser.add_argument("--rounds", type=int, default=2, help="dev sessions per contender, in turn (default 2)")
    parser.add_argument("--edits", type=int, default=3, help="timed edits per session (default 3)")
    parser.add_argument("--baseline", default="HEAD", help="the code before (a git revision, default HEAD)")
    parser.add_argument("--prefix", default="llb", help="the lab's prefix (default llb)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-livelab-"))
    machines = workdir / "machines"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOSWARM_", "INVOKE_"))}
    env["MACHINES_DIR"] = str(machines)
    project = workdir / "project"
    project.mkdir()
    src = copy_source(project)
    port = free_port()
    (project / "goswarm.yaml").write_text(
        f"image: {{prefix: {args.prefix}}}\nswarm: {{network: {args.prefix}-net, manager: {args.prefix}-1}}\n"
        f"lab: {{prefix: {args.prefix}}}\nbuild: {{dist: {workdir / 'dist'}}}\nservices:\n"
        f"  acc:\n    path: {src}\n    port: 6767\n    publish: {port}\n    publish_mode: host\n"
        f"    replicas: {args.nodes}\n    smoke: /accounts/10000\n")
    contenders = [("ours", ROOT), ("baseline", baseline_checkout(args.baseline, workdir))]
    found = {label: {"served": [], "swap": [], "dev total": []} for label, _ in contenders}
    print(f"date: {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}, nproc {os.cpu_count()}, "
          f"nodes {args.nodes}, baseline {args.baseline}, rounds {args.rounds}, edits {args.edits}", flush=True)
    up = False
    try:
        run([sys.executable, "-m", "goswarm", "-r", str(project), "lab.up", "--nodes", str(args.nodes)],
            env={**env, "PYTHONPATH": str(ROOT)}, timeout=TIMEOUT)
        up = True
        urls = [f"http://{host}:{port}/accounts/10000" for host in hosts(machines, args.prefix)]
        for r in range(args.rounds):
            for label, tree in contenders if r % 2 == 0 else contenders[::-1]:
                session(label, tree, project, env, src / "main.go", urls, args.edits, r, found[label])
                print(f"round {r} {label}: " + ", ".join(f"{k} {v[-args.edits:]}" for k, v in found[label].items()),
                      flush=True)
    except BenchError as e:
        print(f"bench failed: {e}", file=sys.stderr)
        return 1
    finally:
        if up:
            run([sys.executable, "-m", "goswarm", "-r", str(project), "lab.down"], env={**env, "PYTHONPATH": str(ROOT)},
                check=False, timeout=TIMEOUT)
        remove_images([f"{args.prefix}/*"])
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"\ndev --live on {args.nodes} nodes, medians of {args.rounds * args.edits} edits (seconds)")
    print(f"{'':12} {'ours':>8} {'baseline':>9} {'ratio':>6}")
    for key in ("served", "swap", "dev total"):
        a, b = statistics.median(found["ours"][key]), statistics.median(found["baseline"][key])
        print(f"{key:12} {a:8.2f} {b:9.2f} {a / b:6.2f}")
    for label, _ in contenders:
        print(f"samples {label}: " + "; ".join(f"{k} " + " ".join(f"{s:.2f}" for s in v)
                                               for k, v in found[label].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
