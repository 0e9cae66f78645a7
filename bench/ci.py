#!/usr/bin/env python3
"""Benchmark the CI stages that ship (issue #10): `deploy --release` on a 3-node lab, and a multi-arch push.

Everything runs through `inv -f` runtime configs of this script's own, on a lab of its own (lab.prefix
"benchci", MACHINES_DIR of its own) and a Debian `docker-registry` it starts (storage in a temp dir):

    A) deploy --release vs redeploy with a local image, on 3 netns nodes, replicas 3, host-mode publish:
       release  service bench-rel: after a one-line edit, untimed `inv build` + `inv image.push
                --release-file F`, then timed: `inv deploy --release F` until every one of the 3 tasks of
                the release's digest runs (10.77.0.1:PORT/...@sha256:..., read from F, polled on the manager)
       local    service bench-loc: no registry; after a one-line edit, timed `inv redeploy` (build, image,
                ship to the nodes, deploy, smoke) until every node serves the edit
    B) multi-arch push: build.platforms linux/amd64,linux/arm64, two services (copies of accountservice
       and quotes-service), image.registry behind a byte-counting TCP proxy on loopback. After a one-line
       edit of both, untimed `inv build` + `inv image.build` (4 images), then timed `inv image.push`
       (4 images and 2 manifest lists), then the same push again (a no-op), each with the bytes the client
       sent to the registry and its upload requests (PUT/PATCH/POST); next to `inv --list` (start-up floor).

Usage:  python bench/ci.py [--runs 3]      (root, Linux; from anywhere: commands run in the repo root)
"""
import argparse
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/common.py and lab.py, whatever the cwd
import lab as labbench  # noqa: E402
from common import (  # noqa: E402
    ROOT,
    BenchError,
    copy_source,
    failed,
    free_port,
    in_turn,
    median,
    print_samples,
    remove_images,
    set_name_prefix,
    table,
    timed,
    wait_until,
)

NODES = labbench.NODES
UPLOAD = re.compile(rb"(?:^|\r\n)(PUT|PATCH|POST) /v2/")


class CountingProxy:
    """127.0.0.1:<port> -> 127.0.0.1:<target>, counting the bytes clients send and their upload requests."""

    def __init__(self, target: int):
        self.target, self.sent, self.uploads = target, 0, 0
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def reset(self) -> None:
        with self.lock:
            self.sent, self.uploads = 0, 0

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target), timeout=30)
        except OSError:
            client.close()
            return
        threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()
        self._pipe(client, upstream, True)

    def _pipe(self, source, sink, count):
        try:
            while data := source.recv(65536):
                if count:
                    with self.lock:
                        self.sent += len(data)
                        self.uploads += len(UPLOAD.findall(data))
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def close(self):
        self.listener.close()


def copy_quotes(parent: Path) -> Path:
    dest = parent / "quotes-service"
    shutil.copytree(ROOT / "services" / "quotes-service", dest, ignore=shutil.ignore_patterns("*-linux-*", ".*"))
    return dest


def edit_quotes(main_go: Path, marker: str) -> None:
    """A one-line change of the quotes service: its start-up log line."""
    text, count = re.subn(r'log\.Println\("Starting quotes-service[^"]*"\)',
                          f'log.Println("Starting quotes-service {marker}")', main_go.read_text())
    if count != 1:
        raise BenchError(f"{main_go}: expected one `Starting quotes-service` log line, found {count}")
    main_go.write_text(text)


def release_running(lab, release: Path, service: str, node_registry: str, registry: str) -> bool:
    """Every task of the release's digest is running on the lab's manager, one per node."""
    entry = json.loads(release.read_text())["services"][service]
    want = f"{entry['image']}:{entry['tag']}@{entry['digest'].split('@')[1]}".replace(registry, node_registry, 1)
    sock = next(r["extras"]["socket"] for r in lab.records() if r["name"] == lab.manager)
    out = labbench.run(["docker", "-H", f"unix://{sock}", "service", "ps", service, "--filter",
                        "desired-state=running", "--format", "{{.Image}} {{.CurrentState}}", "--no-trunc"]).stdout
    rows = [line.split(" ", 1) for line in out.splitlines() if line.strip()]
    return len(rows) == NODES and all(image == want and state.startswith("Running") for image, state in rows)


def scenario_a(lab, workdir: Path, registry_port: int, runs: int, seen, made: list) -> dict:
    node_registry = f"{labbench.NODE_REGISTRY_HOST}:{registry_port}"
    rel_src, loc_src = copy_source(workdir / "rel"), copy_source(workdir / "loc")
    rel_port, loc_port = free_port(), free_port()
    rel = labbench.Mode("release", "bench-rel", rel_port, rel_src, labbench.write_config(
        workdir / "rel.json", lab.config({"bench-rel": labbench.service_entry(rel_src, rel_port)},
                                         registry=f"127.0.0.1:{registry_port}", node_registry=node_registry)))
    loc = labbench.Mode("local", "bench-loc", loc_port, loc_src, labbench.write_config(
        workdir / "loc.json", lab.config({"bench-loc": labbench.service_entry(loc_src, loc_port)})))
    labbench.lab_up(lab, workdir / "rel.json", seen)
    labbench.check_lab(lab)
    for mode in (rel, loc):  # the first deploy creates the service; every measured one is an update
        labbench.timed_inv(lab, mode.config, "redeploy", "--service", mode.service)
        labbench.all_nodes_serve(lab, mode, "Person_")
    made += [f"{labbench.IMAGE_PREFIX}/bench-loc", f"127.0.0.1:{registry_port}/{labbench.IMAGE_PREFIX}/bench-rel"]
    release = workdir / "release.json"
    got = {"release": [], "release push": [], "local": []}
    for i in range(runs):
        for mode in in_turn((rel, loc), i):
            marker = mode.edit(i)
            if mode is rel:
                labbench.inv(lab, rel.config, "build", "--service", rel.service)
                pushed, _ = labbench.timed_inv(lab, rel.config, "image.push", "--service", rel.service,
                                               "--release-file", str(release))
                start = time.perf_counter()
                labbench.inv(lab, rel.config, "deploy", "--release", str(release))
                wait_until(lambda: release_running(lab, release, rel.service, node_registry,
                                                   f"127.0.0.1:{registry_port}"), 60, "the release's tasks")
                got["release"].append(time.perf_counter() - start)
                got["release push"].append(pushed)
                labbench.all_nodes_serve(lab, rel, marker)
            else:
                got["local"].append(labbench.redeploy(loc, lab, marker))
    return got


def scenario_b(lab, workdir: Path, registry_port: int, runs: int, made: list) -> dict:
    proxy = CountingProxy(registry_port)
    made += [f"127.0.0.1:{proxy.port}/{labbench.IMAGE_PREFIX}/{n}" for n in ("bench-ma-acc", "bench-ma-quo")]
    try:
        acc, quo = copy_source(workdir / "ma"), copy_quotes(workdir / "ma")
        config = lab.config({"bench-ma-acc": {"path": str(acc), "port": 6767},
                             "bench-ma-quo": {"path": str(quo), "port": 8080}}, registry=f"127.0.0.1:{proxy.port}")
        config["build"]["platforms"] = "linux/amd64,linux/arm64"
        config["swarm"]["manager"] = None
        path = labbench.write_config(workdir / "ma.json", config)
        both = "bench-ma-acc,bench-ma-quo"
        got = {"push": [], "push bytes": [], "push uploads": [], "noop": [], "noop bytes": [], "noop uploads": [],
               "startup": []}
        for i in range(runs):
            marker = f"Benchma{i}x{os.getpid()}_"
            set_name_prefix(acc / "main.go", marker)
            edit_quotes(quo / "main.go", marker)
            labbench.inv(lab, path, "build", "--service", both)  # the repo's own invoke.yaml has services too
            labbench.inv(lab, path, "image.build", "--service", both)
            for label in ("push", "noop"):
                proxy.reset()
                seconds, result = labbench.timed_inv(lab, path, "image.push", "--service", both)
                lists = result.stdout.count("a manifest list of linux/amd64, linux/arm64")
                if label == "push" and lists != 2:
                    raise BenchError(f"image.push pushed {lists} manifest lists, expected 2:\n{result.stdout}")
                if label == "noop" and (result.stdout.count("already in the registry") != 2
                                        or "pushed " in result.stdout):
                    raise BenchError(f"the repeated image.push was no no-op:\n{result.stdout}")
                got[label].append(seconds)
                got[f"{label} bytes"].append(proxy.sent)
                got[f"{label} uploads"].append(proxy.uploads)
            got["startup"].append(timed(labbench.inv, lab, path, "--list")[0])
        return got
    finally:
        proxy.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="measured runs per scenario (default: 3)")
    parser.add_argument("--prefix", default="benchci", help="lab.prefix (default: benchci)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if os.geteuid() != 0:
        parser.error("the lab needs root (netns machines)")
    workdir = Path(tempfile.mkdtemp(prefix="bench-ci-"))
    (workdir / ".env").write_text("MANAGER_IP=127.0.0.1\n")
    machines_dir = Path(tempfile.gettempdir()) / f"goswarm-{args.prefix}-lab"
    machines_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    (workdir / "docker-config").mkdir()
    env = {**os.environ, "GOSWARM_ROOT": str(workdir), "ENV_FILE": str(workdir / ".env"),
           "MACHINES_DIR": str(machines_dir),
           "DOCKER_CONFIG": str(workdir / "docker-config")}
    for key in ("DOCKER_HOST", "INVOKE_IMAGE_REGISTRY", "INVOKE_IMAGE_NODE_REGISTRY", "INVOKE_SWARM_MANAGER",
                "REGISTRY_USERNAME", "REGISTRY_PASSWORD"):
        env.pop(key, None)
    lab = labbench.Lab(workdir, machines_dir, args.prefix, f"{args.prefix}-net", env)
    base = labbench.write_config(workdir / "lab.json", lab.config({}))
    registry_proc, made = None, []
    try:
        labbench.lab_down(lab, base)
        print("\n".join(labbench.facts()))
        print(f"runs:    {args.runs} per scenario (median)")
        registry_proc, registry_port = labbench.start_registry(workdir)
        a = scenario_a(lab, workdir, registry_port, args.runs, labbench.Contention(), made)
        b = scenario_b(lab, workdir, registry_port, args.runs, made)
        kib = lambda samples: f"{median(samples) / 1024:.1f}"  # noqa: E731
        print()
        print(table([
            ["A) deploy --release (3 nodes pull), command to all tasks running", f"{median(a['release']):.2f}", ""],
            ["A) image.push --release-file (untimed in the row above)", f"{median(a['release push']):.2f}", ""],
            ["A) redeploy, local image shipped (build+image+ship+deploy+smoke)", f"{median(a['local']):.2f}", ""],
            ["B) image.push, 2 services x 2 platforms + 2 manifest lists", f"{median(b['push']):.2f}",
             f"{kib(b['push bytes'])} KiB, {median(b['push uploads']):.0f} uploads"],
            ["B) image.push again (no-op)", f"{median(b['noop']):.2f}",
             f"{kib(b['noop bytes'])} KiB, {median(b['noop uploads']):.0f} uploads"],
            ["B) inv --list (start-up floor)", f"{median(b['startup']):.2f}", ""],
        ], ["scenario", "median s", "sent to the registry"]))
        print()
        print(f"B) no-op beyond start-up: {median(b['noop']) - median(b['startup']):.2f} s")
        print_samples([(k, v) for k, v in a.items()] + [(k, v) for k, v in b.items() if "bytes" not in k
                                                           and "uploads" not in k])
        print("bytes sent (push / no-op): " + " ".join(str(x) for x in b["push bytes"]) + " / "
              + " ".join(str(x) for x in b["noop bytes"]))
        return 0
    except BenchError as e:
        return failed(e)
    finally:
        labbench.lab_down(lab, base)
        labbench.stop_registry(registry_proc)
        remove_images(made, timeout=labbench.INV_TIMEOUT)
        shutil.rmtree(workdir, ignore_errors=True)
        if not list(machines_dir.glob("*/machine.json")):
            shutil.rmtree(machines_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
