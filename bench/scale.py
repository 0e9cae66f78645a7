#!/usr/bin/env python3
"""How a redeploy's cost grows with nodes and with services, this code next to the code before (issue #19).

Both contenders are `python -m goswarm` from a `git archive` of a revision (ours: HEAD, or the work tree with
--ours-tree; before: --baseline), run in turn on the same project, the same lab and the same services, so
they meet the same engine and the same noise; compare their ratios, not the seconds of another run.

The project: copies of services/quotes-service, `scl-01`..`scl-NN`, 3 replicas each, internal (no published
port), with an HTTP health check: every update is start-first and health-gated. The swarm: a lab of netns
machines of this script's own (lab.prefix --prefix, its own MACHINES_DIR), brought up from nothing for each
node count; the images are shipped to the nodes (no registry), as the issue measured.

For each node count (--nodes, default 1,3,5,10), with one service:
    lab.up --nodes N (from nothing), and lab.down at the end (ours only: the lab code did not change)
    no-op        a redeploy with nothing changed (median of --runs per contender)
    one changed  a one-line edit of scl-01, then a redeploy (median of --runs per contender; every edit new)
On the largest lab, for each service count (--services, default 1,5,10,20; deployed once, untimed):
    no-op, one changed (as above), and for the largest count `all changed`: every service edited, once each.

It prints a table and the samples, writes them as JSON (--json, default bench/scale.json) and plots them
(--plot, default bench/scale.png, with matplotlib). Root and Linux (netns machines); a bounded run: every
command has a time limit, and the lab and the temp dir are removed at the end, also on failure.

With --baseline none only this code runs. A baseline from before project ownership (f812559), such as ee2c48c,
cannot share a swarm with this code: it leaves services unlabelled, and this code refuses to take them over.

Usage: python bench/scale.py [--nodes 1,3,5,10] [--services 1,5,10,20] [--runs 3] [--baseline ee2c48c|none]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "services" / "quotes-service"
EDITED = '{Quote: "Clear is better than clever."'
TIMEOUT = 900  # seconds for any one command: a hung command fails the bench, never stalls it


class BenchError(Exception):
    pass


def run(argv, env, timeout=TIMEOUT, cwd=None) -> subprocess.CompletedProcess:
    try:
        result = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                                timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BenchError(f"`{' '.join(map(str, argv))}` did not finish in {timeout} s") from None
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-30:])
        raise BenchError(f"`{' '.join(map(str, argv))}` exited {result.returncode}:\n{tail}")
    return result


def timed(argv, env) -> float:
    started = time.perf_counter()
    run(argv, env)
    return time.perf_counter() - started


def export(revision: str, into: Path) -> Path:
    """The goswarm package as of `revision`, from `git archive` (no worktree is added to the repository)."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "goswarm"], capture_output=True,
                             check=True, timeout=120).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True, timeout=120)
    return into


class Contender:
    def __init__(self, label: str, tree: Path, env: dict):
        self.label, self.tree = label, tree
        # bytecode is written (as any install does): both pay compiling once, in the warm-up
        self.env = {**env, "PYTHONPATH": str(tree)}
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)

    def goswarm(self, project: Path, *args) -> list:
        return [sys.executable, "-m", "goswarm", "-r", str(project), *args]

    def redeploy(self, project: Path) -> float:
        return timed(self.goswarm(project, "redeploy"), self.env)

    def counted_redeploy(self, project: Path, out: Path) -> tuple:
        """(seconds, {api, ssh, channels}) of a redeploy run through bench/counted.py."""
        out.unlink(missing_ok=True)
        seconds = timed([sys.executable, str(ROOT / "bench" / "counted.py"), "-r", str(project), "redeploy"],
                        {**self.env, "COUNTED_OUT": str(out)})
        return seconds, json.loads(out.read_text().splitlines()[-1])


def write_project(project: Path, prefix: str, count: int) -> list:
    """goswarm.yaml with services scl-01..scl-<count> (their sources copied once); their names."""
    names = [f"scl-{i:02}" for i in range(1, count + 1)]
    for name in names:
        if not (project / name).exists():
            shutil.copytree(SOURCE, project / name)
    services = "".join(f"  {n}: {{path: {n}, port: 8080, replicas: 3, healthcheck: {{http: /health}}}}\n"
                       for n in names)
    (project / "goswarm.yaml").write_text(
        f"image: {{prefix: {prefix}}}\nswarm: {{network: {prefix}-net, manager: {prefix}-1}}\n"
        f"deploy: {{timeout: 300, lock: {prefix}-lock}}\nlab: {{prefix: {prefix}}}\nservices:\n{services}")
    return names


def edit(project: Path, name: str) -> None:
    main = project / name / "main.go"
    text = main.read_text()
    start = text.index("{Quote: \"")
    end = text.index('"', start + len("{Quote: \""))
    main.write_text(text[:start] + f'{{Quote: "Edited {uuid.uuid4().hex[:8]}' + text[end:])


def median(samples) -> float:
    return statistics.median(samples)


def measure(contenders, project: Path, names: list, runs: int, all_changed: bool, noop_only: bool = False) -> dict:
    """{scenario: {label: [seconds]}} for the project as it is configured now."""
    for c in contenders:  # settle: each contender's first run may do what the other's left (a record, a tag)
        c.redeploy(project)
    found = {"no-op": {c.label: [] for c in contenders}, "one changed": {c.label: [] for c in contenders}}
    found["no-op calls"] = {c.label: [] for c in contenders}
    for i in range(runs):
        for c in contenders if i % 2 == 0 else contenders[::-1]:
            seconds, counts = c.counted_redeploy(project, project.parent / "counted.jsonl")
            found["no-op"][c.label].append(seconds)
            found["no-op calls"][c.label].append(counts)
    if noop_only:
        del found["one changed"]
        return found
    for i in range(runs):
        for c in contenders if i % 2 == 0 else contenders[::-1]:
            edit(project, names[0])
            found["one changed"][c.label].append(c.redeploy(project))
    if all_changed and not noop_only:
        found["all changed"] = {c.label: [] for c in contenders}
        for c in contenders:
            for name in names:
                edit(project, name)
            found["all changed"][c.label].append(c.redeploy(project))
    return found


TIMED = ("no-op", "one changed", "all changed")


def counts(results: dict, axis: str, n: str, label: str) -> dict:
    """The median of each count over a contender's no-ops."""
    runs = results[axis][n].get("no-op calls", {}).get(label, [])
    return {k: median([r[k] for r in runs if k in r]) for k in ("api", "ssh", "channels", "cpu_s")
            if any(k in r for r in runs)}


def plot(results: dict, path: Path, labels: list) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(13, 9))
    styles = dict(zip(labels, ("-o", "--s")))
    panels = ((axes[0][0], "nodes", "against nodes (1 service, 3 replicas)"),
              (axes[0][1], "services", f"against services ({results['lab_nodes']} nodes, 3 replicas each)"))
    for ax, axis, title in panels:
        xs = sorted(int(k) for k in results[axis])
        for scenario, colour in (("no-op", "tab:blue"), ("one changed", "tab:orange")):
            for label in labels:
                if all(scenario in results[axis][str(x)] for x in xs) and xs:
                    ys = [median(results[axis][str(x)][scenario][label]) for x in xs]
                    ax.plot(xs, ys, styles[label], color=colour, label=f"{scenario}, {label}")
        ax.set_title(f"redeploy time {title}", fontsize=10)
        ax.set_xlabel(axis)
        ax.set_ylabel("seconds (median)")
        ax.set_xticks(xs)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    ax = axes[1][0]
    xs = sorted(int(k) for k in results["nodes"])
    for key, colour in (("api", "tab:purple"), ("channels", "tab:red"), ("ssh", "tab:brown")):
        for label in labels:
            ax.plot(xs, [counts(results, "nodes", str(x), label).get(key, 0) for x in xs], styles[label],
                    color=colour, label=f"{key}, {label}")
    ax.set_title("what a no-op asks, against nodes: API requests, SSH channels, SSH connections", fontsize=10)
    ax.set_xlabel("nodes")
    ax.set_ylabel("count (median)")
    ax.set_xticks(xs)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax = axes[1][1]
    xs = sorted(int(k) for k in results["lab_up"])
    ax.plot(xs, [results["lab_up"][str(x)] for x in xs], "-o", color="tab:green", label="lab.up")
    downs = sorted(int(k) for k in results["lab_down"])
    ax.plot(downs, [results["lab_down"][str(x)] for x in downs], "--s", color="tab:gray", label="lab.down")
    ax.set_title("lab.up and lab.down against nodes", fontsize=10)
    ax.set_xlabel("nodes")
    ax.set_ylabel("seconds")
    ax.set_xticks(xs)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.suptitle(f"goswarm redeploy at scale: {' vs '.join(labels)} (same run, in turn)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def report(results: dict, labels: list) -> None:
    print(f"{'axis':9} {'n':>3}  {'scenario':12} " + " ".join(f"{label + ' s':>10}" for label in labels)
          + (f" {'ours/before':>11}" if len(labels) == 2 else ""))
    for axis in ("nodes", "services"):
        for n in sorted(results[axis], key=int):
            for scenario in (t for t in TIMED if t in results[axis][n]):
                found = [median(results[axis][n][scenario][label]) for label in labels]
                print(f"{axis:9} {n:>3}  {scenario:12} " + " ".join(f"{s:10.2f}" for s in found)
                      + (f" {found[0] / found[1]:11.2f}" if len(found) == 2 else ""))
    print()
    counted = any(counts(results, axis, n, labels[0]) for axis in ("nodes", "services") for n in results[axis])
    print("a no-op's requests (median): API requests / SSH connections / SSH channels / CPU seconds of the process"
          if counted else "(no counts: this run's no-ops did not go through bench/counted.py)")
    for axis in ("nodes", "services") if counted else ():
        for n in sorted(results[axis], key=int):
            line = "  ".join(f"{label} " + "/".join(f"{c.get(k, 0):g}" for k in ("api", "ssh", "channels", "cpu_s"))
                             for label in labels for c in [counts(results, axis, n, label)])
            print(f"{axis:9} {n:>3}  {line}")
    print()
    nodes = sorted(results["nodes"], key=int)
    services = sorted(results["services"], key=int)
    for label in labels if nodes else []:
        def m(axis, n, scenario, label=label):
            return median(results[axis][n][scenario][label])
        parts = [f"no-op {nodes[-1]} nodes / {nodes[0]} node: "
                 f"{m('nodes', nodes[-1], 'no-op') / m('nodes', nodes[0], 'no-op'):.2f}x (goal <= 1.5x)"]
        if services and "one changed" in results["services"][services[0]]:
            one = m("services", services[0], "one changed")
            parts.append(f"one changed, {services[-1]} services / {services[0]}: "
                         f"{m('services', services[-1], 'one changed') / one:.2f}x (goal <= 1.3x)")
            if "all changed" in results["services"][services[-1]]:
                parts.append(f"all {services[-1]} changed / one service's change: "
                             f"{m('services', services[-1], 'all changed') / one:.2f}x (goal <= 3x)")
        print(f"{label}: " + "; ".join(parts))
    for what in ("lab_up", "lab_down"):
        print(f"{what.replace('_', '.')} s: " + ", ".join(f"{n} nodes {s:.1f}" for n, s in
                                                          sorted(results[what].items(), key=lambda kv: int(kv[0]))))
    print("samples (s):")
    for axis in ("nodes", "services"):
        for n in sorted(results[axis], key=int):
            for scenario in (t for t in TIMED if t in results[axis][n]):
                for label in labels:
                    print(f"  {axis} {n} {scenario} {label}: "
                          + " ".join(f"{s:.2f}" for s in results[axis][n][scenario][label]))


def remove_images(reference: str) -> None:
    """This bench's images on the host engine (by repository), nothing else."""
    ids = subprocess.run(["docker", "images", "-q", "--filter", f"reference={reference}"], capture_output=True,
                         text=True, timeout=60).stdout.split()
    if ids:
        subprocess.run(["docker", "image", "rm", "-f", *sorted(set(ids))], capture_output=True, timeout=300)


def finish(results: dict, args, labels: list) -> None:
    Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    print()
    if results.get("failed"):
        print(f"partial: the run stopped at {results['failed']}")
    report(results, labels)
    plot(results, Path(args.plot), labels)
    print(f"\nwrote {args.json} and {args.plot}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", default="1,3,5,10", help="node counts (default 1,3,5,10)")
    parser.add_argument("--services", default="1,5,10,20", help="service counts, on the largest lab")
    parser.add_argument("--runs", type=int, default=3, help="runs of each scenario per contender (default 3)")
    parser.add_argument("--baseline", default="ee2c48c", help="the code before (a git revision, or none)")
    parser.add_argument("--ours", default="HEAD", help="our code (a git revision, default HEAD)")
    parser.add_argument("--noop-only", action="store_true", help="only the no-ops (no edits, no all changed)")
    parser.add_argument("--prefix", default="scl", help="the lab's prefix and the images' (default scl)")
    parser.add_argument("--json", default=str(ROOT / "bench" / "scale.json"), help="where the samples go")
    parser.add_argument("--plot", default=str(ROOT / "bench" / "scale.png"), help="the PNG plot")
    parser.add_argument("--replot", metavar="JSON", help="only print the report and plot of an earlier run's JSON")
    args = parser.parse_args()
    if args.replot:
        results = json.loads(Path(args.replot).read_text())
        labels = ["ours", "before"] if results.get("before", "none") != "none" else ["ours"]
        report(results, labels)
        plot(results, Path(args.plot), labels)
        return 0
    nodes = sorted(int(n) for n in args.nodes.split(","))
    service_counts = sorted(int(n) for n in args.services.split(","))
    workdir = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    base_env = {**os.environ, "MACHINES_DIR": str(workdir / "machines")}
    base_env = {k: v for k, v in base_env.items() if not k.startswith(("GOSWARM_", "INVOKE_"))}
    labels = ["ours", "before"] if args.baseline != "none" else ["ours"]
    contenders = [Contender(label, export(revision, workdir / label), base_env)
                  for label, revision in zip(labels, (args.ours, args.baseline))]
    project = workdir / "project"
    project.mkdir()
    results = {"lab_nodes": nodes[-1], "nodes": {}, "services": {}, "lab_up": {}, "lab_down": {},
               "ours": args.ours, "before": args.baseline}
    ours = contenders[0]
    lab_is_up = False
    print(f"date: {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}, nproc {os.cpu_count()}, "
          f"ours {args.ours}, before {args.baseline}, runs {args.runs}", flush=True)
    try:
        for count in nodes:
            names = write_project(project, args.prefix, 1)
            results["lab_up"][str(count)] = timed(ours.goswarm(project, "lab.up", "--nodes", str(count)), ours.env)
            lab_is_up = True
            print(f"lab.up --nodes {count}: {results['lab_up'][str(count)]:.1f} s", flush=True)
            results["nodes"][str(count)] = measure(contenders, project, names, args.runs, False, args.noop_only)
            print(f"nodes {count}: {json.dumps(results['nodes'][str(count)])}", flush=True)
            if count == nodes[-1]:
                for services in service_counts:
                    names = write_project(project, args.prefix, services)
                    results["services"][str(services)] = measure(contenders, project, names, args.runs,
                                                                 services == service_counts[-1], args.noop_only)
                    print(f"services {services}: {json.dumps(results['services'][str(services)])}", flush=True)
            results["lab_down"][str(count)] = timed(ours.goswarm(project, "lab.down"), ours.env)
            print(f"lab.down ({count} nodes): {results['lab_down'][str(count)]:.1f} s", flush=True)
            lab_is_up = False
        finish(results, args, labels)
        return 0
    except BenchError as e:
        print(f"\nbench failed: {e}", file=sys.stderr)
        results["failed"] = str(e).splitlines()[0]
        finish(results, args, labels)  # what was measured before it stopped
        return 1
    finally:
        if lab_is_up:
            subprocess.run(ours.goswarm(project, "lab.down"), env=ours.env, timeout=TIMEOUT,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        remove_images(f"{args.prefix}/*")
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
