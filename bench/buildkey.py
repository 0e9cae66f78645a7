#!/usr/bin/env python3
"""Benchmark the build stage of a no-op redeploy, keyed in the ways issue 16 names, side by side in one run:

    today       the service directory's files hashed (the key before issue 16: misses other modules, packages
                above `path` and GOFLAGS), then the recorded key compared
    graph       the key this project uses now: the files `go list -deps` named last time (kept in
                dist/.keys/*.graph) hashed again, with the Go environment; no go command starts
    go list     the same key, with `go list -deps` asked on every run
    go build    ko's way: `go build` every time (Go's own cache makes it a relink check), the image keyed on
                the binary's digest, which is hashed after it

Each contender runs the build stage's own code in this process (what `goswarm redeploy` runs between its
start-up and the image stage), on a copy of services/accountservice plus a sibling module it imports through
`replace`, after one untimed build. Contenders take turns; the median of --runs runs is reported, with the
extra time over `today` (a no-op redeploy may not get slower by more than 0.1 s).

Usage:  python bench/buildkey.py [--runs 15]      (needs go on PATH)
"""
import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import invoke  # noqa: E402
from common import copy_source, in_turn, machine, median, table  # noqa: E402

from goswarm.io.shell import Shell  # noqa: E402
from goswarm.ops import build  # noqa: E402
from goswarm.plan import config, platforms  # noqa: E402

AMD64 = platforms.Platform("linux", "amd64")
LDFLAGS = "-s -w"


def project(tmp: Path) -> build.Artifact:
    """accountservice, importing a sibling module through `replace` (the first stale build of issue 16)."""
    source = copy_source(tmp)
    shared = tmp / "shared"
    shared.mkdir()
    (shared / "go.mod").write_text("module example.com/shared\n\ngo 1.21\n")
    (shared / "shared.go").write_text('package shared\n\nconst Prefix = "Person_"\n')
    with open(source / "go.mod", "a") as f:
        f.write("\nrequire example.com/shared v0.0.0\n\nreplace example.com/shared => ../shared\n")
    main = source / "main.go"
    text = main.read_text().replace("import (", 'import (\n\t"example.com/shared"', 1)
    main.write_text(text.replace('"Person_"', "shared.Prefix", 1))
    subprocess.run(["go", "mod", "tidy"], cwd=source, check=True, capture_output=True)
    service = config.Service("accountservice", source, 6767)
    return build.Artifact(service, AMD64, tmp / "dist" / "accountservice-linux-amd64")


def today(sh, artifact, version):
    """The key before issue 16: the service directory's files, Go, the platform and the flags."""
    key = build.build_key(artifact, build.source_hash(artifact.service.path, artifact.path.parent), version, LDFLAGS)
    assert build.up_to_date(artifact, key) or True  # its record is the graph key's: the comparison is timed alike


def graph(sh, artifact, version):
    assert build.compile_all(sh, [artifact], LDFLAGS, version) == [], "a no-op compiled"


def go_list(sh, artifact, version):
    env = build.go_environment(artifact, LDFLAGS, version)
    assert build.up_to_date(artifact, build.fresh_key(sh, artifact, env)), "go list's key differs"


def go_build(sh, artifact, version):
    result = sh.run(build.go_command(artifact, LDFLAGS), hide=True, warn=True)
    assert result.ok, result.stderr
    build._digest.cache_clear()  # ko hashes the binary it just wrote
    build.file_digest(artifact.path)


CONTENDERS = {"today": today, "graph": graph, "go list": go_list, "go build": go_build}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    sh = Shell(invoke.Context().run)
    version = subprocess.run(["go", "env", "GOVERSION"], capture_output=True, text=True, check=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="bench-buildkey-") as tmp:
        artifact = project(Path(tmp))
        assert build.compile_all(sh, [artifact], LDFLAGS, version), "the first build compiled nothing"
        samples = {name: [] for name in CONTENDERS}
        for i in range(runs):
            for name in in_turn(CONTENDERS, i):
                build._digest.cache_clear()  # as in a new process: every file is read again
                started = time.perf_counter()
                CONTENDERS[name](sh, artifact, version)
                samples[name].append(time.perf_counter() - started)
    print("\n".join(machine()))
    print(f"\nbuild stage of a no-op redeploy, accountservice + a sibling module through replace; median of {runs}\n")
    base = median(samples["today"])
    rows = [(name, f"{median(s) * 1000:.1f} ms", f"{(median(s) - base) * 1000:+.1f} ms", f"{median(s) / base:.1f}x")
            for name, s in samples.items()]
    print(table(rows, ["key", "median", "over today", "ratio"]))
    print("\nsamples (ms):")
    for name, taken in samples.items():
        print(f"  {name}: " + " ".join(f"{t * 1000:.1f}" for t in taken))
    return 0


if __name__ == "__main__":
    sys.exit(main())
