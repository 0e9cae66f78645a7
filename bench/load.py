#!/usr/bin/env python3
"""Benchmark failed requests during redeploys under load: `inv redeploy` against the seed's copyall.sh.

A load generator (bench/loadgen, Go, standard library only, built into the temp dir) keeps --clients
concurrent clients GETting /accounts/10000 at --rate requests per second in total (keep-alive, 2 s
timeout per request) while a contender redeploys its own copy of services/accountservice --redeploys
times, each time after a one-line change (a new "Person_" string). After each redeploy the script waits
(untimed) until the new string is served everywhere, then makes the next change. It counts the requests
that got no 2xx: another status, a connection error or a timeout.

    a) one node, the host engine, replicas 1, load straight at the published port:
         ours (edge)  inv -f <tmp>/bench-load-edged.yaml redeploy --service bench-load-edged
                      (publish_mode: edge: bench-load-edged-edge holds the port, the app updates start-first)
         ours (host)  inv -f <tmp>/bench-load-ours.yaml redeploy --service bench-load-ours
                      (publish_mode: host: the task binds the port, stop-first)
         baseline     bash bench/copyall.sh (go build, docker build, service rm, service create)
                      service bench-load-copyall
    b) a 3-node lab of this script's own (lab.prefix "benchlb", its own MACHINES_DIR), replicas 3
       published in host mode, images through a `docker-registry` started here (nodes pull from
       10.77.0.1:PORT), load through haproxy on the host in front of the 3 nodes' ports (health
       checks every 200 ms, retries with redispatch on connection failures):
         ours      inv -f <tmp>/lab/ours.json redeploy --service benchlb-ours   (manager benchlb-1)
         baseline  bash bench/copyall.sh with REPLICAS=3, REGISTRY (push, nodes pull) and SWARM_HOST=
                   the manager's engine socket; service benchlb-copyall

All contenders of a scenario run in this one process, one after the other, on the same engine(s).
Everything is removed at the end (services, the lab, haproxy, the registry, images, temp dirs), also on
failure or Ctrl-C.

Usage:  python bench/load.py [--redeploys 20] [--no-lab] [--rate 50] [--clients 8]
        (root for the lab; haproxy is installed from Debian's packages when missing)
"""
import argparse
import bisect
import csv
import functools
import io
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/common.py, whatever the cwd
import common  # noqa: E402
import lab as labbench  # noqa: E402  bench/lab.py: the lab's config, the registry, lab.up with retries
from common import (  # noqa: E402
    IMAGE_PREFIX,
    ROOT,
    SMOKE,
    BenchError,
    copy_source,
    failed,
    first_line,
    free_port,
    in_turn,
    machine,
    remove_images,
    remove_services,
    run_unlocked,
    set_name_prefix,
    table,
    wait_for_text,
    wait_until,
)

LOADGEN = ROOT / "bench" / "loadgen"
COPYALL = ROOT / "bench" / "copyall.sh"
SERVE_TIMEOUT = 60.0
INV_TIMEOUT = 300
SETTLE = 2.0  # seconds of load before the first change and after the last one is served
run = functools.partial(common.run, timeout=INV_TIMEOUT)  # every command here is bounded


# --- the load generator -----------------------------------------------------------

def build_loadgen(workdir: Path) -> Path:
    binary = workdir / "loadgen"
    result = subprocess.run(["go", "build", "-o", str(binary), "."], cwd=LOADGEN, capture_output=True, text=True,
                            stdin=subprocess.DEVNULL, timeout=INV_TIMEOUT, check=False)
    if result.returncode != 0:
        raise BenchError(f"go build of {LOADGEN} failed:\n{result.stderr.strip()[-2000:]}")
    return binary


RUNNING = []  # every Load not yet stopped, for cleanup on the way out


class Load:
    """One loadgen process: started against a URL, stopped by closing its stdin; it then prints its counts."""

    def __init__(self, binary: Path, url: str, args):
        argv = [str(binary), "-url", url, "-clients", str(args.clients), "-rate", str(args.rate),
                f"-keepalive={'true' if args.keepalive else 'false'}"]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        RUNNING.append(self)

    def stop(self) -> dict:
        if self in RUNNING:
            RUNNING.remove(self)
        try:
            out, err = self.proc.communicate(input="", timeout=30)  # closes stdin: loadgen stops and reports
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
        lines = out.strip().splitlines()
        if self.proc.returncode != 0 or not lines:
            raise BenchError(f"loadgen exited {self.proc.returncode}: {err.strip()[-1000:]}")
        return json.loads(lines[-1])


# --- contenders and what they measured ----------------------------------------------

@dataclass
class Contender:
    label: str  # "ours", "ours (edge)", "ours (host)" or "copyall.sh"
    service: str
    src: Path
    argv: list
    env: dict
    url: str  # what the load generator GETs
    serving: Callable[[str], None]  # waits until every place that should serves the edited text

    def edit(self, i: int) -> str:
        marker = f"Load{i}x{uuid.uuid4().hex[:6]}_"
        set_name_prefix(self.src / "main.go", marker)
        return marker


@dataclass
class Outcome:
    scenario: str
    label: str
    starts: list = field(default_factory=list)  # unix time each redeploy command started
    seconds: list = field(default_factory=list)  # wall time of each redeploy command that succeeded
    errors: list = field(default_factory=list)  # redeploys that failed (or whose change was never served)
    refused: int = 0  # attempts refused for another run's deploy lock (nothing changed; retried)
    load: dict = field(default_factory=dict)  # loadgen's report
    lb: dict = field(default_factory=dict)  # haproxy counters during the load (lab only)

    def per_redeploy(self) -> tuple:
        """(failed requests, outage s) per redeploy: each burst of failures goes to the redeploy it started
        in (from the start of that redeploy until the start of the next); before the first: [-1]."""
        failed, outage = [0] * (len(self.starts) + 1), [0.0] * (len(self.starts) + 1)
        for burst in self.load["bursts"]:
            i = bisect.bisect_right(self.starts, burst["start"])  # 0: before the first redeploy
            failed[i] += burst["failed"]
            outage[i] += burst["end"] - burst["start"]
        return failed[1:] + failed[:1], outage[1:] + outage[:1]


def under_load(contender: Contender, scenario: str, redeploys: int, binary: Path, args,
               lb_counters: Optional[Callable[[], dict]] = None) -> Outcome:
    """Start the load, make `redeploys` changes one after the other, each redeployed and served, stop the load."""
    outcome = Outcome(scenario, contender.label)
    before = lb_counters() if lb_counters else None
    load = Load(binary, contender.url, args)
    try:
        time.sleep(SETTLE)
        for i in range(redeploys):
            marker = contender.edit(i)
            outcome.starts.append(time.time())
            try:
                seconds, _, refused = run_unlocked(contender.argv, contender.env, timeout=INV_TIMEOUT)
                outcome.refused += refused
                contender.serving(marker)
                outcome.seconds.append(seconds)
            except BenchError as e:
                outcome.errors.append(f"redeploy {i + 1}: " + " | ".join(str(e).strip().splitlines()[-3:]))
                print(f"warning: {contender.label} ({scenario}) redeploy {i + 1} failed: {e}", file=sys.stderr)
        time.sleep(SETTLE)
    finally:
        outcome.load = load.stop()
    if lb_counters:
        after = lb_counters()
        outcome.lb = {k: after[k] - before[k] for k in after}
    return outcome


# --- a) one node ------------------------------------------------------------------

def single_node(workdir: Path, network: str, env: dict) -> list:
    """ours in edge mode, ours in host mode, and copyall.sh on the host engine, replicas 1, each on a free port."""
    contenders = []
    for service, mode in (("bench-load-edged", "edge"), ("bench-load-ours", "host")):
        src = copy_source(workdir / service)
        port = free_port()
        config = workdir / f"{service}.yaml"
        config.write_text(
            f"# generated by bench/load.py\n"
            f"image:\n  prefix: {IMAGE_PREFIX}\n"
            f"build:\n  dist: {workdir / 'dist'}\n"
            f"swarm:\n  network: {network}\n"
            f"services:\n"
            f"  {service}:\n"
            f"    path: {src}\n    main: .\n    port: 6767\n    publish: {port}\n"
            f"    publish_mode: {mode}\n    replicas: 1\n    smoke: {SMOKE}\n"
        )
        url = f"http://127.0.0.1:{port}{SMOKE}"
        contenders.append(Contender(f"ours ({mode})", service, src,
                                    [sys.executable, "-m", "invoke", "-f", str(config), "redeploy", "--service",
                                     service], env, url, functools.partial(serves, [url])))

    src = copy_source(workdir / "copyall")
    port = free_port()
    url = f"http://127.0.0.1:{port}{SMOKE}"
    base_env = {**env, "SRC": str(src), "SERVICE": "bench-load-copyall", "PORT": str(port), "NETWORK": network,
                "IMAGE": f"{IMAGE_PREFIX}/bench-load-copyall"}
    base = Contender("copyall.sh", "bench-load-copyall", src, ["bash", str(COPYALL)], base_env, url,
                     functools.partial(serves, [url]))
    return [*contenders, base]


def serves(urls: list, marker: str) -> None:
    for url in urls:
        wait_for_text(url, f'"name":"{marker}0"', SERVE_TIMEOUT, interval=0.1)


# --- b) the lab, behind haproxy -------------------------------------------------------

def lab_contenders(lab: labbench.Lab, registry_port: int) -> tuple:
    """ours and copyall.sh on the lab, replicas 3, each on a free host-mode port; and their backends for haproxy."""
    registry, node_registry = f"127.0.0.1:{registry_port}", f"{labbench.NODE_REGISTRY_HOST}:{registry_port}"
    manager = next(r for r in lab.records() if r["name"] == lab.manager)
    hosts = lab.hosts()
    contenders, backends = [], []
    for label, service in (("ours", f"{lab.prefix}-ours"), ("copyall.sh", f"{lab.prefix}-copyall")):
        src = copy_source(lab.workdir / service)
        port, lb_port = free_port(), free_port()
        url = f"http://127.0.0.1:{lb_port}{SMOKE}"
        node_urls = [f"http://{host}:{port}{SMOKE}" for host in hosts]
        if label == "ours":
            config = labbench.write_config(lab.workdir / "ours.json", lab.config(
                {service: labbench.service_entry(src, port)}, registry=registry, node_registry=node_registry))
            argv, env = [sys.executable, "-m", "invoke", "-f", str(config), "redeploy", "--service", service], lab.env
        else:
            argv = ["bash", str(COPYALL)]
            env = {**lab.env, "SRC": str(src), "SERVICE": service, "PORT": str(port), "NETWORK": lab.network,
                   "IMAGE": f"{IMAGE_PREFIX}/{service}", "REPLICAS": str(labbench.NODES),
                   "SWARM_HOST": f"unix://{manager['extras']['socket']}", "REGISTRY": registry,
                   "NODE_REGISTRY": node_registry, "URL": url}
        contenders.append(Contender(label, service, src, argv, env, url, functools.partial(serves, node_urls)))
        backends.append((service, lb_port, hosts, port))
    return contenders, backends


def haproxy_config(workdir: Path, backends) -> str:
    """What a careful user puts in front of host-mode ports for rolling updates: active health checks every
    200 ms that take a server out after one failure, and retries of a failed connection or an empty
    answer on another server (GETs are idempotent)."""
    lines = [
        "# written by bench/load.py",
        "global",
        f"    pidfile {workdir / 'haproxy.pid'}",
        f"    stats socket {workdir / 'haproxy.sock'} mode 600 level user",
        "",
        "defaults",
        "    mode http",
        "    balance roundrobin",
        "    timeout connect 500ms",
        "    timeout client 10s",
        "    timeout server 1s",
        "    timeout check 500ms",
        "    option httpchk GET /health",
        "    http-check expect status 200",
        "    default-server inter 200ms fall 1 rise 1",
        "    retries 3",
        "    option redispatch 1",
        "    retry-on conn-failure empty-response response-timeout",
    ]
    for name, lb_port, hosts, port in backends:
        lines += ["", f"listen {name}", f"    bind 127.0.0.1:{lb_port}"]
        lines += [f"    server node{i} {host}:{port} check" for i, host in enumerate(hosts, 1)]
    return "\n".join(lines) + "\n"


def ensure_haproxy() -> str:
    """The haproxy binary; installed from Debian's packages when missing (as root, with apt). Only its binary
    is used: this script runs it with its own config, never the system service or /etc/haproxy."""
    binary = shutil.which("haproxy")
    if binary or not shutil.which("apt-get"):
        return binary or ""
    print("haproxy is missing: apt-get install -y haproxy", file=sys.stderr)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "haproxy"]
    if run(install, env=env, check=False).returncode != 0:
        run(["apt-get", "update", "-q"], env=env)
        run(install, env=env)
    return shutil.which("haproxy") or ""


class Haproxy:
    def __init__(self, workdir: Path, backends):
        binary = shutil.which("haproxy")
        if not binary:
            raise BenchError("haproxy is not installed: `apt-get install -y haproxy`")
        self.workdir = workdir
        config = workdir / "haproxy.cfg"
        config.write_text(haproxy_config(workdir, backends))
        run([binary, "-c", "-q", "-f", str(config)])
        self.log = workdir / "haproxy.log"
        with open(self.log, "ab") as log:  # -db: in the foreground, ours to stop
            self.proc = subprocess.Popen([binary, "-db", "-f", str(config)], stdout=log, stderr=log,
                                         stdin=subprocess.DEVNULL)
        try:
            wait_until(lambda: (workdir / "haproxy.sock").exists() or self.proc.poll() is not None, 20, "haproxy")
            if self.proc.poll() is not None:
                raise BenchError(f"haproxy exited {self.proc.returncode}: {self.log.read_text()[-2000:]}")
        except BenchError:
            self.stop()
            raise

    def stats(self, proxy: str) -> dict:
        """This proxy's counters from `show stat`: retries, redispatches, 5xx answers, server down transitions."""
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(self.workdir / "haproxy.sock"))
            s.sendall(b"show stat\n")
            data = b"".join(iter(lambda: s.recv(65536), b""))
        rows = list(csv.DictReader(io.StringIO(data.decode().lstrip("# "))))
        backend = next(r for r in rows if r["pxname"] == proxy and r["svname"] == "BACKEND")
        servers = [r for r in rows if r["pxname"] == proxy and r["svname"] not in ("FRONTEND", "BACKEND")]
        number = lambda v: int(v or 0)  # noqa: E731
        return {"retries": number(backend["wretr"]), "redispatches": number(backend["wredis"]),
                "5xx": number(backend["hrsp_5xx"]), "server downs": sum(number(r["chkdown"]) for r in servers)}

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


# --- report -----------------------------------------------------------------------

def row(o: Outcome, redeploys: int) -> list:
    failed = o.load["failed"]
    per, _ = o.per_redeploy()
    ok = redeploys - len(o.errors)
    return [o.scenario, o.label, str(ok) if ok == redeploys else f"{ok}/{redeploys} ok", o.load["requests"], failed,
            f"{failed / redeploys:.1f}", sum(1 for n in per[:-1] if n), f"{o.load['outage_s']:.2f}",
            f"{statistics.median(o.seconds):.2f}" if o.seconds else "n/a"]


def kind(message: str) -> str:
    """What a failure was, without addresses and ports."""
    for pattern in (r"HTTP \d+", r"connection refused", r"connection reset", r"server closed idle connection",
                    r"EOF", r"Timeout|timeout"):
        found = re.search(pattern, message)
        if found:
            return found.group(0).lower() if pattern.startswith("Timeout") else found.group(0)
    return message[-60:]


def details(o: Outcome) -> list:
    per, outage = o.per_redeploy()
    load = o.load
    kinds = {}
    for burst in load["bursts"]:
        kinds[kind(burst["first"])] = kinds.get(kind(burst["first"]), 0) + 1
    lines = [f"{o.scenario} {o.label}: failed {load['failed']} = non-2xx {load['non2xx']} + connection errors "
             f"{load['conn_errors']} + timeouts {load['timeouts']}; {len(load['bursts'])} bursts, first failure of "
             f"each: " + (", ".join(f"{k} x{n}" for k, n in sorted(kinds.items())) or "none"),
             "  failed per redeploy: " + " ".join(map(str, per[:-1])) + f" (before the first: {per[-1]})",
             "  outage per redeploy (s): " + " ".join(f"{s:.2f}" for s in outage[:-1]),
             "  redeploy command (s): " + " ".join(f"{s:.2f}" for s in o.seconds)]
    if o.lb:
        lines.append("  haproxy during the load: " + ", ".join(f"{k} {v}" for k, v in o.lb.items()))
    if o.refused:
        lines.append(f"  attempts refused for another run's deploy lock (retried, nothing changed): {o.refused}")
    lines += [f"  FAILED {e}" for e in o.errors]
    return lines


# --- main -------------------------------------------------------------------------

def interrupted(signum, frame):
    raise KeyboardInterrupt  # SIGTERM too runs the cleanup in `finally`


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redeploys", type=int, default=20, help="changes redeployed under load per contender "
                                                                  "(default: 20)")
    parser.add_argument("--single", action=argparse.BooleanOptionalAction, default=True,
                        help="a) one node, the host engine (default: on)")
    parser.add_argument("--lab", action=argparse.BooleanOptionalAction, default=True,
                        help="b) the 3-node lab behind haproxy (default: on; needs root)")
    parser.add_argument("--rate", type=float, default=50, help="requests per second, all clients (default: 50)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default: 8)")
    parser.add_argument("--keepalive", action=argparse.BooleanOptionalAction, default=True,
                        help="clients reuse connections (default: on; --no-keepalive: one connection per request)")
    parser.add_argument("--network", default="my_network", help="a) overlay network (default: my_network)")
    parser.add_argument("--prefix", default="benchlb", help="b) lab.prefix (default: benchlb)")
    parser.add_argument("--machines-dir", default=str(Path(tempfile.gettempdir()) / "goswarm-bench-load-lab"),
                        help="b) MACHINES_DIR; kept across runs so that a run cleans up what an interrupted one "
                             "left (default: %(default)s)")
    args = parser.parse_args()
    if args.redeploys < 1 or args.clients < 1 or args.rate < 0:
        parser.error("--redeploys and --clients must be at least 1, --rate at least 0")
    if args.lab and os.geteuid() != 0:
        parser.error("the lab needs root (netns machines); use --no-lab")
    signal.signal(signal.SIGTERM, interrupted)

    workdir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    env_file = workdir / ".env"
    env_file.write_text("MANAGER_IP=127.0.0.1\n")
    env = {**os.environ, "ENV_FILE": str(env_file), "MACHINES_DIR": str(workdir / "machines")}
    for key in ("INVOKE_IMAGE_REGISTRY", "INVOKE_IMAGE_NODE_REGISTRY", "INVOKE_SWARM_MANAGER"):
        env.pop(key, None)  # our config files say it all
    single_services = ["bench-load-edged-edge", "bench-load-edged", "bench-load-ours", "bench-load-copyall"]
    lab = lab_config = haproxy = registry_proc = None
    repositories = [f"{IMAGE_PREFIX}/{s}" for s in single_services + ["goswarm-edge"]]
    outcomes = []
    try:
        binary = build_loadgen(workdir)
        print("\n".join(machine(invoke=(sys.executable, "-m", "invoke"), timeout=INV_TIMEOUT)))
        if args.lab:
            print(f"haproxy: {first_line(['haproxy', '-v'], INV_TIMEOUT) if ensure_haproxy() else 'missing'}")
            print(f"registry: {first_line(['docker-registry', '--version'], INV_TIMEOUT)}")
            print("lb:      haproxy on 127.0.0.1 in front of the 3 nodes' host-mode ports: check GET /health every "
                  "200 ms, fall 1 rise 1; retries 3, redispatch, retry-on conn-failure empty-response response-timeout")
        print(f"load:    {args.clients} clients, {args.rate:g} req/s in total, GET {SMOKE}, 2 s timeout, "
              f"keep-alive {'on' if args.keepalive else 'off'}; {args.redeploys} redeploys per contender, "
              "each a one-line change, served everywhere before the next")
        print()

        if args.single:  # a) one node
            remove_services(single_services, timeout=INV_TIMEOUT)  # what an interrupted run left, by name
            contenders = single_node(workdir, args.network, env)
            for contender in contenders:  # warm-up: the first deploy creates the service
                run_unlocked(contender.argv, contender.env, timeout=INV_TIMEOUT)
                contender.serving("Person_")
            for contender in in_turn(contenders, 0):
                outcomes.append(under_load(contender, "a) 1 node", args.redeploys, binary, args))
                print(f"done: a) {contender.label}, {outcomes[-1].load['failed']} failed", file=sys.stderr)
            remove_services(single_services, timeout=INV_TIMEOUT)

        if args.lab:  # b) the lab behind haproxy
            machines_dir = Path(args.machines_dir)
            machines_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            lab_env = {**env, "MACHINES_DIR": str(machines_dir)}
            lab_env.pop("DOCKER_HOST", None)  # the host engine builds; the lab's manager deploys
            (workdir / "lab").mkdir()
            lab = labbench.Lab(workdir / "lab", machines_dir, args.prefix, f"{args.prefix}-net", lab_env)
            lab_config = labbench.write_config(lab.workdir / "lab.json", lab.config({}))
            labbench.lab_down(lab, lab_config)  # what an interrupted earlier run left: our prefix, our MACHINES_DIR
            seen = labbench.Contention()
            labbench.lab_up(lab, lab_config, seen)
            labbench.check_lab(lab)
            registry_proc, registry_port = labbench.start_registry(lab.workdir)
            contenders, backends = lab_contenders(lab, registry_port)
            repositories += [f"{prefix}{IMAGE_PREFIX}/{c.service}" for c in contenders
                             for prefix in ("", f"127.0.0.1:{registry_port}/")]
            haproxy = Haproxy(lab.workdir, backends)  # before the services: copyall.sh's final check asks it
            for contender in contenders:
                run_unlocked(contender.argv, contender.env, timeout=INV_TIMEOUT)
                contender.serving("Person_")
                wait_for_text(contender.url, '"name":"Person_0"', SERVE_TIMEOUT)
            for contender in in_turn(contenders, 1):
                outcomes.append(under_load(contender, "b) 3 nodes + haproxy", args.redeploys, binary, args,
                                           functools.partial(haproxy.stats, contender.service)))
                print(f"done: b) {contender.label}, {outcomes[-1].load['failed']} failed", file=sys.stderr)
            print(f"lab: {labbench.NODES} netns machines {lab.prefix}-1..{labbench.NODES}; {seen.describe()}")
            print()

        print(table([row(o, args.redeploys) for o in outcomes],
                    ["scenario", "contender", "redeploys", "requests", "failed", "failed/redeploy",
                     "redeploys w/ failures", "outage s", "redeploy s (median)"]))
        print()
        print("failed: requests with no 2xx answer (another status, a connection error, or no answer in 2 s); "
              "outage: from the first failed request of each burst to the next successful one, summed")
        for o in outcomes:
            print("\n".join(details(o)))
        goal = [o for o in outcomes if o.scenario.startswith("b)") and o.label == "ours"]
        if goal:
            print(f"goal b) ours 0 failed: {'met' if goal[0].load['failed'] == 0 else 'NOT met'} "
                  f"({goal[0].load['failed']} failed in {args.redeploys} redeploys)")
        return 1 if any(o.errors for o in outcomes) else 0
    except BenchError as e:
        return failed(e)
    except KeyboardInterrupt:
        print("\ninterrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # let the cleanup finish
        for load in list(RUNNING):
            load.proc.kill()
            load.proc.wait()
        if haproxy:
            haproxy.stop()
        if lab:
            labbench.lab_down(lab, lab_config)
            if not list(lab.machines_dir.glob("*/machine.json")):
                shutil.rmtree(lab.machines_dir, ignore_errors=True)
        labbench.stop_registry(registry_proc)
        if args.single:
            remove_services(single_services, timeout=INV_TIMEOUT)
        remove_images(repositories, timeout=INV_TIMEOUT)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
