#!/usr/bin/env python3
"""Benchmark machines as the blog makes them (issue #18): the time from `machine.create` to a provisioned node that
has joined the swarm, for a netns machine (the baseline: Docker already on the host), a bare host (its own Debian
root, Docker installed over SSH with `machine.provision --install`) and, given --image, a QEMU VM; and what
provisioning downloads.

One run, in turn, on a manager of its own (a netns machine `bm<pid>-m` with `swarm.init`):
    netns   machine.create --driver netns, swarm.join
    bare    machine.create --driver rootfs, machine.provision --install --apt-proxy <lab proxy>, swarm.join
    qemu    machine.create --driver qemu --image FILE, machine.provision --install ..., swarm.join
Each row is one machine (created, timed, then removed). The bare host's tree and the VM image are made before the
timing (their own figures are printed once). The apt proxy's transfer log gives what came from Debian's archive
and what the machines were served (a second machine gets it from the cache).

Usage:  python bench/machines.py [--runs 2] [--image FILE]      (root, Linux)
"""
import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, BenchError, failed, machine, median, print_samples, run, table, timed  # noqa: E402

sys.path.insert(0, str(ROOT))
from goswarm.io import aptproxy  # noqa: E402

TAG = f"bm{os.getpid() % 100000}"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--image", help="a machine.image file: also time a QEMU VM (one run)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-machines-"))
    env = {**os.environ, "MACHINES_DIR": str(work / "machines"), "GOSWARM_ROOT": str(ROOT)}
    config = work / "bench.json"
    config.write_text(json.dumps({"swarm": {"manager": f"{TAG}-m", "state_dir": str(work / "swarm")}}))
    goswarm = [sys.executable, "-m", "invoke", "-f", str(config)]
    made = []

    def inv(*argv, timeout=900):
        return run([*goswarm, *argv], env, timeout=timeout)

    def node(driver: str, name: str, extra=()) -> float:
        made.append(name)
        seconds, _ = timed(lambda: (inv("machine.create", name, "--driver", driver, *extra),
                                    driver != "netns" and inv("machine.provision", name, "--install",
                                                              "--apt-proxy", aptproxy.url()),
                                    inv("swarm.join", name)))
        return seconds

    print("\n".join(machine([sys.executable, "-m", "invoke"])))
    samples = {"netns": [], "bare": [], "qemu": []}
    try:
        made.append(f"{TAG}-m")
        inv("machine.create", f"{TAG}-m", "--driver", "netns")
        inv("swarm.init")
        seconds, _ = timed(inv, "machine.create", f"{TAG}-tree", "--driver", "rootfs")  # the tree, once
        made.append(f"{TAG}-tree")
        print(f"bare host tree (debootstrap, or the cache) + first bare host: {seconds:.1f}s")
        inv("machine.rm", f"{TAG}-tree")
        from invoke import Context

        from goswarm.io.shell import Shell
        aptproxy.ensure(Shell(Context().run))
        before = aptproxy.transfers()
        for i in range(args.runs):
            samples["netns"].append(node("netns", f"{TAG}-n{i}"))
            samples["bare"].append(node("rootfs", f"{TAG}-b{i}"))
        if args.image:
            samples["qemu"].append(node("qemu", f"{TAG}-q", ("--image", args.image)))
        after = aptproxy.transfers()
    except BenchError as e:
        return failed(e)
    finally:
        for name in reversed(made):
            run([*goswarm, "machine.rm", name], env, check=False, timeout=300)
    base = median(samples["netns"])
    rows = [(kind, len(s), f"{median(s):.1f}", f"{median(s) / base:.1f}x") for kind, s in samples.items() if s]
    print(table(rows, ("machine", "runs", "create->joined (s, median)", "vs netns")))
    fetched, served = (after[k] - before[k] for k in ("from_archive", "served"))
    print(f"apt proxy during the runs: {fetched / 1e6:.1f} MB from Debian's archive, {served / 1e6:.1f} MB served "
          f"to {len(samples['bare']) + len(samples['qemu'])} machines")
    print_samples(samples.items())
    return 0


if __name__ == "__main__":
    sys.exit(main())
