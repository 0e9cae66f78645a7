#!/usr/bin/env python3
"""The edge's own change under load (issue #15): a goswarm upgrade that brings a new HTTP edge, under 100
keep-alive users, this code (the edge reloads in place) next to a baseline (the edge's tasks are replaced).

An upgrade is made here as a copy of a goswarm tree whose edge config differs (HAProxy adds a response header),
so its edge image differs as a real upgrade's would. For each contender (ours: this checkout; baseline:
--baseline, from `git archive`), on the host engine (one node), its own copy of services/accountservice in
edge mode, 2 replicas, deployed by its plain tree; then --changes times in turn: `goswarm load --users 100`
starts, --settle s later the other tree (upgraded, then plain again: each an edge change) runs `redeploy`, and
the load stops --settle s after it returned. Per contender: the requests and the errors the load counted
(refused, reset, timeout, HTTP statuses), whether the edge's task was replaced, and each redeploy's seconds.

Everything it creates is removed at the end (services, images, temp dir), also on failure.

Usage: python bench/edgeupgrade.py [--changes 4] [--baseline REV] [--settle 3]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    ROOT,
    BenchError,
    baseline_checkout,
    copy_source,
    free_port,
    remove_images,
    remove_services,
    run,
    wait_for_text,
)

HEADER = "  http-response set-header X-Upgraded yes\n"
PREFIX = "eup"


def upgraded(tree: Path, into: Path) -> Path:
    """A copy of the goswarm of `tree` whose edge differs: another HAProxy config."""
    for package in ("goswarm", "tasks"):
        shutil.copytree(tree / package, into / package, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    source = into / "goswarm" / "plan" / "edgeproxy.py"
    text = source.read_text()
    if text.count("frontend edge\n") != 1:
        raise BenchError(f"{source}: no one `frontend edge` line to add a header under")
    source.write_text(text.replace("frontend edge\n", "frontend edge\n" + HEADER))
    return into


class Contender:
    def __init__(self, label: str, plain: Path, workdir: Path):
        self.label, self.trees = label, [plain, upgraded(plain, workdir / f"{label}-upgraded")]
        self.project = workdir / f"{label}-project"
        self.project.mkdir()
        self.name, self.port = f"{PREFIX}{label[0]}", free_port()
        src = copy_source(self.project)
        (self.project / "goswarm.yaml").write_text(
            f"project: {PREFIX}-{label}\nimage: {{prefix: {PREFIX}}}\nbuild: {{dist: {self.project / 'dist'}}}\n"
            f"swarm: {{network: my_network}}\ndeploy: {{lock: {PREFIX}-{label}}}\nservices:\n"
            f"  {self.name}:\n    path: {src}\n    port: 6767\n    publish: {self.port}\n    publish_mode: edge\n"
            f"    replicas: 2\n    smoke: /accounts/10000\n"
            f"    load: {{path: '/accounts/{{id}}', ids: 10000-10099}}\n")
        self.results = {"requests": 0, "errors": {}, "seconds": [], "replaced": 0}

    def goswarm(self, tree: Path, *args) -> list:
        return [sys.executable, "-m", "goswarm", "-r", str(self.project), *args]

    def env(self, tree: Path) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GOSWARM_", "INVOKE_"))}
        return {**env, "PYTHONPATH": str(tree)}

    def edge_tasks(self) -> set:
        out = run(["docker", "service", "ps", "-q", "--filter", "desired-state=running", f"{self.name}-edge"]).stdout
        return set(out.split())


def change(c: Contender, i: int, settle: float, seconds: int) -> None:
    """One edge change under load: the tree of the other edge redeploys while 100 users run."""
    tree = c.trees[(i + 1) % 2]
    before = c.edge_tasks()
    load = subprocess.Popen(c.goswarm(c.trees[0], "load", "--service", c.name, "--users", "100", "--duration",
                                      str(seconds), "--json"), cwd=c.trees[0], env=c.env(c.trees[0]),
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True)
    loading = time.perf_counter()
    try:
        time.sleep(settle)
        started = time.perf_counter()
        run(c.goswarm(tree, "redeploy", "--service", c.name), env=c.env(tree), cwd=tree, timeout=300)
        ended = time.perf_counter()
        c.results["seconds"].append(round(ended - started, 2))
        out, _ = load.communicate(timeout=seconds + 60)
    finally:
        if load.poll() is None:
            load.kill()
            load.wait()
    if ended - loading + settle > seconds:
        raise BenchError(f"{c.label}: the redeploy ended {ended - loading:.0f} s into a {seconds} s load: "
                         f"give a longer --load-s")
    doc = json.loads(out)
    c.results["requests"] += doc["requests"]
    for kind, count in (doc.get("errors") or {}).items():
        c.results["errors"][kind] = c.results["errors"].get(kind, 0) + count
    c.results["replaced"] += c.edge_tasks() != before
    with urllib.request.urlopen(f"http://127.0.0.1:{c.port}/accounts/10000", timeout=5) as answer:
        header = answer.headers.get("X-Upgraded", "")
    if (header == "yes") != (tree is c.trees[1]):
        raise BenchError(f"{c.label}: after change {i + 1} the edge does not run the config it was given")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=4, help="edge changes per contender (default 4)")
    parser.add_argument("--baseline", default="HEAD", help="the code before (a git revision)")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds of load before and after each change")
    parser.add_argument("--load-s", type=int, default=40, help="each load's length (default 40 s)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-edgeupgrade-"))
    contenders = []
    try:
        contenders = [Contender("ours", ROOT, workdir),
                      Contender("baseline", baseline_checkout(args.baseline, workdir), workdir)]
        print(f"date: {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}, nproc {os.cpu_count()}, "
              f"baseline {args.baseline}, changes {args.changes}, load {args.load_s} s", flush=True)
        for c in contenders:
            run(c.goswarm(c.trees[0], "redeploy"), env=c.env(c.trees[0]), cwd=c.trees[0], timeout=600)
            wait_for_text(f"http://127.0.0.1:{c.port}/accounts/10000", "Person_0", 60)
        for i in range(args.changes):
            for c in contenders if i % 2 == 0 else contenders[::-1]:
                change(c, i, args.settle, args.load_s)
                print(f"change {i + 1} {c.label}: {json.dumps(c.results)}", flush=True)
    except BenchError as e:
        print(f"bench failed: {e}", file=sys.stderr)
        return 1
    finally:
        remove_services([n for c in contenders for n in (c.name, f"{c.name}-edge")])
        remove_images([f"{PREFIX}/*"])
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"\nan edge change under goswarm load --users 100 ({args.changes} per contender, in turn)")
    print(f"{'':10} {'requests':>10} {'errors':>8}  {'kinds':30} {'edge replaced':>13}  redeploy s")
    for c in contenders:
        r = c.results
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(r["errors"].items())) or "-"
        print(f"{c.label:10} {r['requests']:>10,} {sum(r['errors'].values()):>8,}  {kinds:30} "
              f"{r['replaced']:>6} of {args.changes:<4}  {' '.join(map(str, r['seconds']))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
