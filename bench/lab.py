#!/usr/bin/env python3
"""Benchmark the lab (`inv lab.up` / `lab.down`) and getting a new image onto its 3 nodes, with and without a registry.

Everything runs on the host engine and on a lab of 3 netns machines of this script's own (lab.prefix
"bench", MACHINES_DIR of its own), through a runtime config file (`inv -f`), so it never touches the
project's services, the project's .machines/ or another lab (the tests use their own prefix):

    ship   service bench-ship: no registry; images reach the nodes by `docker save` -> `load`
    pull   service bench-pull: image.registry 127.0.0.1:PORT (a `docker-registry` started here, storage
           in a temp dir), nodes pull it as 10.77.0.1:PORT (image.node_registry)

Both are copies of services/accountservice, replicas 3, published in host mode on a free port, so
that each of the 3 nodes runs one task and needs the image.

Scenarios (median of --runs):
    1) `inv lab.up --nodes 3` from nothing (no machine, no namespace) to a swarm with its overlay
       network, then `inv lab.down`; every run starts from nothing. Goal for lab.up: <= 30 s.
    2) ship: after a one-line edit, `inv build` + `inv image.build` (untimed), then timed
       `inv image.ship` (to the 3 nodes), then timed `inv deploy` (the images are there: no transfer).
    3) pull: after a one-line edit, `inv build` + `inv image.build` (untimed), then timed
       `inv image.push`, then timed `inv deploy` (which returns once the 3 nodes have pulled the
       image and run it).
    4) `inv redeploy` after a one-line edit, in both modes: build -> image -> ship or push -> deploy
       -> smoke on the 3 nodes; the number a user feels.

After every deploy and redeploy each node is asked over HTTP for the edited text (untimed), so a
timing only counts when all 3 nodes serve the new image; a registry deploy must also run the
10.77.0.1:PORT digest. Other labs may come up on the same host meanwhile (the tests): the output says
how often, and a lab.up that loses an address race to one is torn down and tried again, not counted.

Usage:  python bench/lab.py [--runs 3]      (root, Linux; from anywhere: commands run in the repo root)
"""
import argparse
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/common.py, whatever the cwd
import common  # noqa: E402
from common import (  # noqa: E402
    IMAGE_PREFIX,
    SMOKE,
    BenchError,
    copy_source,
    failed,
    first_line,
    free_port,
    get,
    in_turn,
    machine,
    median,
    print_samples,
    remove_images,
    set_name_prefix,
    table,
    timed,
    wait_for_text,
    wait_until,
)

NODES = 3
NODE_REGISTRY_HOST = "10.77.0.1"  # the lab bridge's address on the host (tasks/netns.py GATEWAY)
SERVE_TIMEOUT = 30.0
INV_TIMEOUT = 300
run = functools.partial(common.run, timeout=INV_TIMEOUT)  # every command here is bounded


# --- the bench's own project: config, .env, machines --------------------------

@dataclass
class Lab:
    workdir: Path
    machines_dir: Path
    prefix: str
    network: str
    env: dict

    @property
    def manager(self) -> str:
        return f"{self.prefix}-1"

    def config(self, services: dict, registry: str = "", node_registry: str = "") -> dict:
        return {
            "image": {"prefix": IMAGE_PREFIX, "registry": registry, "node_registry": node_registry},
            "build": {"dist": str(self.workdir / "dist")},
            "swarm": {"network": self.network, "manager": self.manager, "state_dir": str(self.workdir / "swarm")},
            "deploy": {"timeout": 120},
            "lab": {"prefix": self.prefix, "nodes": NODES},
            "services": services,
        }

    def records(self) -> list:
        return [json.loads(p.read_text()) for p in sorted(self.machines_dir.glob("*/machine.json"))]

    def hosts(self) -> list:
        return [r["host"] for r in self.records() if r["name"].startswith(self.prefix + "-")]


def write_config(path: Path, config: dict) -> Path:
    path.write_text(json.dumps(config, indent=2) + "\n")
    return path


def inv(lab: Lab, config: Path, *args) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "invoke", "-f", str(config), *args], env=lab.env)


def timed_inv(lab: Lab, config: Path, *args) -> tuple:
    return timed(inv, lab, config, *args)


# --- the two ways of getting an image onto the nodes --------------------------

@dataclass
class Mode:
    label: str  # "ship" or "pull"
    service: str
    port: int
    src: Path
    config: Path

    def edit(self, run_index: int) -> str:
        marker = f"Bench{self.label}{run_index}x{uuid.uuid4().hex[:6]}_"
        set_name_prefix(self.src / "main.go", marker)
        return marker


def service_entry(src: Path, port: int) -> dict:
    return {"path": str(src), "main": ".", "port": 6767, "publish": port, "publish_mode": "host",
            "replicas": NODES, "smoke": SMOKE}


def all_nodes_serve(lab: Lab, mode: Mode, marker: str) -> None:
    """Every lab node answers on the host-mode port with the edited text (untimed check)."""
    hosts = lab.hosts()
    if len(hosts) != NODES:
        raise BenchError(f"expected {NODES} lab machines, found {hosts}")
    for host in hosts:
        wait_for_text(f"http://{host}:{mode.port}{SMOKE}", f'"name":"{marker}0"', SERVE_TIMEOUT, interval=0.2)


# --- the registry -------------------------------------------------------------

def start_registry(workdir: Path) -> tuple:
    binary = shutil.which("docker-registry")
    if not binary:
        raise BenchError("docker-registry is not installed: `apt-get install docker-registry`")
    port = free_port()
    config = workdir / "registry.yml"
    config.write_text(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {workdir / 'registry-data'}\n"
                      f"http:\n  addr: 0.0.0.0:{port}\n")
    log = open(workdir / "registry.log", "ab")
    proc = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    log.close()
    try:
        wait_until(lambda: get(f"http://127.0.0.1:{port}/v2/") != "" or proc.poll() is not None, 20, "the registry")
        if proc.poll() is not None:
            raise BenchError(f"docker-registry exited {proc.returncode}: "
                             f"{(workdir / 'registry.log').read_text()[-2000:]}")
    except BenchError:
        stop_registry(proc)
        raise
    return proc, port


def stop_registry(proc) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


# --- scenarios ----------------------------------------------------------------

def check_lab(lab: Lab) -> float:
    """After lab.up: 3 machines, the manager sees 3 ready nodes and the overlay network. Seconds waited."""
    records = [r for r in lab.records() if r["name"].startswith(lab.prefix + "-")]
    if len(records) != NODES:
        raise BenchError(f"lab.up left {len(records)} machine records, expected {NODES}")
    sock = next(r["extras"]["socket"] for r in records if r["name"] == lab.manager)
    docker = ["docker", "-H", f"unix://{sock}"]
    start = time.perf_counter()

    def ready():
        nodes = run([*docker, "node", "ls", "--format", "{{.Status}}"], check=False).stdout.split()
        return nodes.count("Ready") == NODES

    wait_until(ready, 60, f"{NODES} ready nodes on {lab.manager}")
    waited = time.perf_counter() - start
    driver = run([*docker, "network", "inspect", "-f", "{{.Driver}}", lab.network], check=False).stdout.strip()
    if driver != "overlay":
        raise BenchError(f"network {lab.network} on {lab.manager}: driver {driver!r}, expected overlay")
    return waited


def service_image(lab: Lab, service: str) -> str:
    """The image a service runs, as the lab's manager has it (a node-registry digest, or a local image id)."""
    sock = next(r["extras"]["socket"] for r in lab.records() if r["name"] == lab.manager)
    return run(["docker", "-H", f"unix://{sock}", "service", "inspect", "-f",
                "{{.Spec.TaskTemplate.ContainerSpec.Image}}", service]).stdout.strip()


def leftovers(lab: Lab) -> list:
    """What a lab.down must have removed: namespaces, records, data roots."""
    found = [line.split()[0] for line in run(["ip", "netns", "list"], check=False).stdout.splitlines()
             if line.startswith(f"goswarm-{lab.prefix}-")]
    found += [str(p) for p in lab.machines_dir.glob("*/machine.json")]
    found += [str(p) for p in Path("/var/lib/goswarm").glob(f"{lab.prefix}-*")]
    return found


# Another lab coming up at the same moment (the tests use their own prefix) can take the address that
# lab.up picked for a worker before that worker's create claims it; lab.up then stops with this error.
ADDRESS_RACE = "is taken by another netns machine"
ATTEMPTS = 3


@dataclass
class Contention:
    """What else was on the host while we measured: other labs' netns machines, address races."""
    checks: int = 0
    busy: int = 0
    most: int = 0
    races: list = None

    def look(self, lab: Lab) -> None:
        others = [line for line in run(["ip", "netns", "list"], check=False).stdout.splitlines()
                  if line.startswith("goswarm-") and not line.startswith(f"goswarm-{lab.prefix}-")]
        self.checks += 1
        self.busy += bool(others)
        self.most = max(self.most, len(others))

    def describe(self) -> str:
        races = self.races or []
        return (f"other netns machines on this host at {self.busy} of {self.checks} lab.up starts (at most "
                f"{self.most} at once); lab.up attempts lost to an address race with another lab: {len(races)}")


def lab_up(lab: Lab, config: Path, seen: Contention) -> tuple:
    """Timed `inv lab.up`; a run lost to ADDRESS_RACE is torn down, not counted, and tried again."""
    for attempt in range(1, ATTEMPTS + 1):
        seen.look(lab)
        try:
            return timed_inv(lab, config, "lab.up", "--nodes", str(NODES))
        except BenchError as e:
            if ADDRESS_RACE not in str(e) or attempt == ATTEMPTS:
                raise
            seen.races = (seen.races or []) + [str(e).splitlines()[-1]]
            inv(lab, config, "lab.down")
            time.sleep(2)


def up_down(lab: Lab, config: Path, runs: int, seen: Contention) -> tuple:
    """1) lab.up from nothing, lab.down; `runs` times. Returns (up samples, down samples, ready waits)."""
    ups, downs, waits = [], [], []
    for i in range(runs):
        left = leftovers(lab)
        if left:
            raise BenchError(f"run {i + 1} would not start from nothing; left over: {left}")
        seconds, result = lab_up(lab, config, seen)
        created = result.stdout.count(": created (")
        if created != NODES:
            raise BenchError(f"lab.up created {created} machines, expected {NODES}:\n{result.stdout}")
        ups.append(seconds)
        waits.append(check_lab(lab))
        seconds, _ = timed_inv(lab, config, "lab.down")
        downs.append(seconds)
    left = leftovers(lab)
    if left:
        raise BenchError(f"lab.down left: {left}")
    return ups, downs, waits


def image_on_nodes(mode: Mode, lab: Lab, config: Path, marker: str) -> dict:
    """2) or 3): build the edited copy (untimed), then time ship or push, then deploy."""
    inv(lab, config, "build", "--service", mode.service)
    inv(lab, config, "image.build", "--service", mode.service)
    if mode.label == "ship":
        transfer, result = timed_inv(lab, config, "image.ship", "--service", mode.service)
        loaded = result.stdout.count("loaded ")
        if loaded != NODES:
            raise BenchError(f"image.ship loaded the image into {loaded} nodes, expected {NODES}:\n{result.stdout}")
    else:
        transfer, result = timed_inv(lab, config, "image.push", "--service", mode.service)
        if "pushed " not in result.stdout:
            raise BenchError(f"image.push printed no `pushed`:\n{result.stdout}")
    deploy, result = timed_inv(lab, config, "deploy", "--service", mode.service)
    if mode.label == "ship" and "has every image, skipped" not in result.stdout:
        raise BenchError(f"deploy after image.ship shipped again:\n{result.stdout}")
    all_nodes_serve(lab, mode, marker)
    image = service_image(lab, mode.service)
    pulled = image.startswith(f"{NODE_REGISTRY_HOST}:")
    if pulled != (mode.label == "pull"):
        raise BenchError(f"{mode.service} runs {image}: expected a {mode.label} deploy")
    return {"transfer": transfer, "deploy": deploy}


def redeploy(mode: Mode, lab: Lab, marker: str) -> float:
    """4) the whole pipeline after an edit, until every node serves it (smoke included in redeploy)."""
    seconds, _ = timed_inv(lab, mode.config, "redeploy", "--service", mode.service)
    all_nodes_serve(lab, mode, marker)
    return seconds


# --- report -------------------------------------------------------------------

def facts() -> list:
    return [*machine(invoke=(sys.executable, "-m", "invoke"),
                     docker_note=" (host and lab nodes: the same dockerd binary)", timeout=INV_TIMEOUT),
            f"registry: {first_line(['docker-registry', '--version'], INV_TIMEOUT)}"]


def fmt(samples) -> str:
    return "n/a" if samples is None else f"{median(samples):.2f}"


# --- cleanup --------------------------------------------------------------------

def lab_down(lab: Lab, config: Path) -> None:
    result = run([sys.executable, "-m", "invoke", "-f", str(config), "lab.down"], env=lab.env, check=False)
    if result.returncode != 0:
        print(f"warning: `inv lab.down` exited {result.returncode}; clean up by hand:\n"
              f"{(result.stdout + result.stderr).strip()[-2000:]}", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="measured runs per scenario (default: 3)")
    parser.add_argument("--prefix", default="bench", help="lab.prefix: machines are PREFIX-1..3 (default: bench)")
    parser.add_argument("--machines-dir", default=str(Path(tempfile.gettempdir()) / "goswarm-bench-lab"),
                        help="MACHINES_DIR for the bench's machines; kept across runs so that a run cleans up "
                             "what an interrupted one left (default: %(default)s)")
    parser.add_argument("--keep", action="store_true", help="leave the lab, registry data and temp dir in place")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if os.geteuid() != 0:
        parser.error("the lab needs root (netns machines)")

    workdir = Path(tempfile.mkdtemp(prefix="bench-lab-"))
    env_file = workdir / ".env"
    env_file.write_text("MANAGER_IP=127.0.0.1\n")
    machines_dir = Path(args.machines_dir)
    machines_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    env = {**os.environ, "ENV_FILE": str(env_file), "MACHINES_DIR": str(machines_dir)}
    for key in ("DOCKER_HOST", "INVOKE_IMAGE_REGISTRY", "INVOKE_IMAGE_NODE_REGISTRY", "INVOKE_SWARM_MANAGER"):
        env.pop(key, None)  # the host engine builds; the lab's manager deploys; our config says the rest
    lab = Lab(workdir, machines_dir, args.prefix, f"{args.prefix}-net", env)
    base_config = write_config(workdir / "lab.json", lab.config({}))
    registry_proc, registry_port = None, None
    repositories = [f"{IMAGE_PREFIX}/bench-ship"]
    try:
        lab_down(lab, base_config)  # what an interrupted earlier run left: our prefix, our MACHINES_DIR
        print("\n".join(facts()))
        print(f"runs:    {args.runs} per scenario (median); lab: {NODES} netns machines {lab.prefix}-1..{NODES}, "
              f"services replicas {NODES}, host-mode publish")
        print()

        # 1) lab.up / lab.down from nothing
        seen = Contention()
        ups, downs, waits = up_down(lab, base_config, args.runs, seen)

        # 2)-4) on one more lab, from nothing
        registry_proc, registry_port = start_registry(workdir)
        repositories.append(f"127.0.0.1:{registry_port}/{IMAGE_PREFIX}/bench-pull")
        ship_src, pull_src = copy_source(workdir / "ship"), copy_source(workdir / "pull")
        ship_port, pull_port = free_port(), free_port()
        ship = Mode("ship", "bench-ship", ship_port, ship_src, write_config(
            workdir / "ship.json", lab.config({"bench-ship": service_entry(ship_src, ship_port)})))
        pull = Mode("pull", "bench-pull", pull_port, pull_src, write_config(
            workdir / "pull.json", lab.config({"bench-pull": service_entry(pull_src, pull_port)},
                                              registry=f"127.0.0.1:{registry_port}",
                                              node_registry=f"{NODE_REGISTRY_HOST}:{registry_port}")))
        modes = [ship, pull]
        lab_up(lab, base_config, seen)
        check_lab(lab)
        warm = {}
        for mode in modes:  # the first deploy creates the service; every measured one is an update
            seconds, _ = timed_inv(lab, mode.config, "redeploy", "--service", mode.service)
            all_nodes_serve(lab, mode, "Person_")
            warm[mode.label] = seconds
        print("warm-up redeploy (create, once): " + ", ".join(f"{k} {v:.2f}s" for k, v in warm.items()))

        moved = {m.label: {"transfer": [], "deploy": [], "sum": []} for m in modes}
        redeploys = {m.label: [] for m in modes}
        for i in range(args.runs):
            for mode in in_turn(modes, i):
                marker = mode.edit(i)
                got = image_on_nodes(mode, lab, mode.config, marker)
                moved[mode.label]["transfer"].append(got["transfer"])
                moved[mode.label]["deploy"].append(got["deploy"])
                moved[mode.label]["sum"].append(got["transfer"] + got["deploy"])
        for i in range(args.runs):
            for mode in in_turn(modes, i):
                marker = mode.edit(args.runs + i)
                redeploys[mode.label].append(redeploy(mode, lab, marker))

        print()
        s, p = moved["ship"], moved["pull"]
        print(table([
            ["1) inv lab.up --nodes 3 (from nothing)", fmt(ups), "", "<= 30"],
            ["1) inv lab.down", fmt(downs), "", ""],
            ["2) inv image.ship (3 nodes)", fmt(s["transfer"]), "n/a", ""],
            ["3) inv image.push", "n/a", fmt(p["transfer"]), ""],
            ["2/3) inv deploy (replicas 3, update)", fmt(s["deploy"]), fmt(p["deploy"]), ""],
            ["2/3) ship+deploy / push+deploy", fmt(s["sum"]), fmt(p["sum"]), ""],
            ["4) inv redeploy (edit, 3 nodes)", fmt(redeploys["ship"]), fmt(redeploys["pull"]), ""],
        ], ["scenario", "no registry (median s)", "registry (median s)", "goal s"]))
        print()
        print(f"1) lab.up goal <= 30 s: {'met' if median(ups) <= 30 else 'NOT met'} (median {median(ups):.2f} s); "
              f"extra wait after lab.up until {NODES} nodes were Ready: max {max(waits):.2f} s")
        print(f"contention: {seen.describe()}")
        for race in seen.races or []:
            print(f"  lost: {race}")
        print_samples((("1 lab.up", ups), ("1 lab.down", downs), ("2 image.ship", s["transfer"]),
                       ("2 deploy (no registry)", s["deploy"]), ("3 image.push", p["transfer"]),
                       ("3 deploy (registry)", p["deploy"]), ("4 redeploy (no registry)", redeploys["ship"]),
                       ("4 redeploy (registry)", redeploys["pull"])))
        return 0
    except BenchError as e:
        return failed(e)
    finally:
        if args.keep:
            stop_registry(registry_proc)
            print(f"\nkept: lab {lab.prefix}-* (MACHINES_DIR={machines_dir}), temp dir {workdir}", file=sys.stderr)
        else:
            lab_down(lab, base_config)
            stop_registry(registry_proc)
            remove_images(repositories, timeout=INV_TIMEOUT)
            shutil.rmtree(workdir, ignore_errors=True)
            if not list(machines_dir.glob("*/machine.json")):
                shutil.rmtree(machines_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
