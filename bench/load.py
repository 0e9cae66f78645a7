#!/usr/bin/env python3
"""Benchmark failed requests during redeploys under load: `inv redeploy` against the blog's copyall.sh.

A load generator (bench/loadgen, Go, standard library only, built into the temp dir) keeps --clients
concurrent clients GETting /accounts/10000 at --rate requests per second in total (keep-alive, 2 s
timeout per request) while a contender redeploys its own copy of services/accountservice. It counts the
requests that got no 2xx: another status, a connection error or a timeout. Three scenarios, each on its
own load generator per contender:

    edits (--redeploys, a and b): --redeploys times a one-line change (a new "Person_" string), redeployed;
        after each the script waits (untimed) until the new string is served everywhere, then makes the
        next change.
    --force (--forced, a only, ours (edge)): `redeploy --force` with no change, --forced times: the app's
        tasks are replaced start-first, `<name>-edge` must not be touched (its Version.Index is read
        before and after with `docker service inspect`), and the same string is served after each run.
    500 on smoke (--broken, a only, ours (edge) and ours (host)): --broken releases whose accounts handler
        answers 500 (`writeJSON(w, http.StatusInternalServerError, acc)`, plus a new "Person_" string each
        time). Each must be refused in a trial container: `redeploy` exits non-zero before any update, the
        service's Version.Index does not move, and the old release still answers 200 with its string.
        The time to refusal is the command's wall time. The good source is put back at the end and
        redeployed (untimed; it must exit 0 and update nothing).

    a) one node, the host engine, replicas 1, load straight at the published port:
         ours (edge)  inv -f <tmp>/bench-load-edged.yaml redeploy --service bench-load-edged [--force]
                      (publish_mode: edge: bench-load-edged-edge holds the port, the app updates start-first)
         ours (host)  inv -f <tmp>/bench-load-ours.yaml redeploy --service bench-load-ours
                      (publish_mode: host: the task binds the port, stop-first)
         baseline     bash bench/copyall.sh (go build, docker build, service rm, service create)
                      service bench-load-copyall; edits only
    b) a 3-node lab of this script's own (lab.prefix "benchlb", its own MACHINES_DIR), replicas 3
       published in host mode, images through a `docker-registry` started here (nodes pull from
       10.77.0.1:PORT), load through haproxy on the host in front of the 3 nodes' ports (health
       checks every 200 ms, retries with redispatch on connection failures); edits only:
         ours      inv -f <tmp>/lab/ours.json redeploy --service benchlb-ours   (manager benchlb-1)
         baseline  bash bench/copyall.sh with REPLICAS=3, REGISTRY (push, nodes pull) and SWARM_HOST=
                   the manager's engine socket; service benchlb-copyall

The project root (GOSWARM_ROOT) is the script's temp dir, which holds the copies, configs and dist/. Each
config written here names its own deploy lock (deploy.lock: bench-load-<service>), so the bench never
waits for other runs on the same swarm (a refused attempt is still retried). All contenders of a scenario
run in this one process, one after the other, on the same engine(s). Everything is removed at the end
(services, the lab, haproxy, the registry, images, temp dirs), also on failure or Ctrl-C.

Usage:  python bench/load.py [--redeploys 20 | --no-redeploys] [--forced 10] [--broken 10] [--no-lab]
                             [--rate 50] [--clients 8]
        (root for the lab; haproxy is installed from Debian's packages when missing)
        just the --force and 500-on-smoke scenarios:  python bench/load.py --no-lab --no-redeploys
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
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/common.py, whatever the cwd
import common  # noqa: E402
import lab as labbench  # noqa: E402  bench/lab.py: the lab's config, the registry, lab.up with retries
from common import (  # noqa: E402
    IMAGE_PREFIX,
    LOCK_HELD,
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
LOCK_PATIENCE = 900.0  # seconds a redeploy is retried while another run holds its deploy lock
# The one-line change that makes a release answer 500 on its smoke path (the accounts handler).
ANSWERS_200, ANSWERS_500 = "writeJSON(w, http.StatusOK, acc)", "writeJSON(w, http.StatusInternalServerError, acc)"
REFUSED = "failed in a trial container"  # what `inv redeploy` says when the trial refuses a release
OUTPUT_LINES = 40  # of a redeploy that did not do as expected, in the report
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
    marker: str = "Person_"  # the name prefix of the release that runs (after the last good redeploy)

    def edit(self, i: int) -> str:
        marker = f"Load{i}x{uuid.uuid4().hex[:6]}_"
        set_name_prefix(self.src / "main.go", marker)
        return marker

    def break_release(self, i: int) -> str:
        """The accounts handler answers 500 (the smoke path), under a new name prefix: every release differs."""
        main_go = self.src / "main.go"
        text = main_go.read_text()
        if text.count(ANSWERS_500) != 1:
            if text.count(ANSWERS_200) != 1:
                raise BenchError(f"{main_go}: expected one `{ANSWERS_200}` line, found {text.count(ANSWERS_200)}")
            main_go.write_text(text.replace(ANSWERS_200, ANSWERS_500))
        marker = f"Broken{i}x{uuid.uuid4().hex[:6]}_"
        set_name_prefix(main_go, marker)
        return marker


@dataclass
class Outcome:
    scenario: str
    label: str
    kind: str  # "edit", "force" or "broken": what each redeploy was
    runs: int  # how many redeploys the scenario made
    starts: list = field(default_factory=list)  # unix time each redeploy command started
    seconds: list = field(default_factory=list)  # wall time of each redeploy command that did as expected
    # (edit, force: succeeded and served; broken: refused, i.e. the time to refusal)
    errors: list = field(default_factory=list)  # redeploys that did not do as expected
    refused: int = 0  # attempts refused for another run's deploy lock (nothing changed; retried)
    load: dict = field(default_factory=dict)  # loadgen's report
    lb: dict = field(default_factory=dict)  # haproxy counters during the load (lab only)
    service: str = ""  # the contender's service
    refusals: int = 0  # broken: releases refused by the pipeline (non-zero exit, in the trial)
    accepted: int = 0  # broken: releases the pipeline took (exit 0): a failure of the scenario
    updates: int = 0  # force, broken: runs after which the service's Version.Index had moved
    old_answers: int = 0  # broken: runs after which the old release answered 200 with its name
    edge: tuple = ()  # ours (edge) in force, broken: `<name>-edge`'s Version.Index before and after
    refusal: str = ""  # broken: the last line of the first refusal, as printed
    notes: list = field(default_factory=list)  # more detail lines

    def per_redeploy(self) -> tuple:
        """(failed requests, outage s) per redeploy: each burst of failures goes to the redeploy it started
        in (from the start of that redeploy until the start of the next); before the first: [-1]."""
        failed, outage = [0] * (len(self.starts) + 1), [0.0] * (len(self.starts) + 1)
        for burst in self.load["bursts"]:
            i = bisect.bisect_right(self.starts, burst["start"])  # 0: before the first redeploy
            failed[i] += burst["failed"]
            outage[i] += burst["end"] - burst["start"]
        return failed[1:] + failed[:1], outage[1:] + outage[:1]

    def service_name(self) -> str:
        return self.service or self.label


def under_load(contender: Contender, scenario: str, kind: str, runs: int, binary: Path, args,
               lb_counters: Optional[Callable[[], dict]] = None) -> Outcome:
    """Start the load, make `runs` redeploys of `kind` one after the other (STEPS), stop the load."""
    outcome = Outcome(scenario, contender.label, kind, runs, service=contender.service)
    before = lb_counters() if lb_counters else None
    step = STEPS[kind]
    load = Load(binary, contender.url, args)
    try:
        time.sleep(SETTLE)
        for i in range(runs):
            try:
                step(contender, i, outcome)
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


def edit_step(contender: Contender, i: int, outcome: Outcome) -> None:
    """A one-line change, redeployed and served everywhere."""
    marker = contender.edit(i)
    outcome.starts.append(time.time())
    seconds, _, refused = run_unlocked(contender.argv, contender.env, timeout=INV_TIMEOUT)
    outcome.refused += refused
    contender.serving(marker)
    contender.marker = marker
    outcome.seconds.append(seconds)


def force_step(contender: Contender, i: int, outcome: Outcome) -> None:
    """`redeploy --force` of the unchanged source: the app service is updated, the same name served."""
    before = service_version(contender.service)
    outcome.starts.append(time.time())
    seconds, _, refused = run_unlocked([*contender.argv, "--force"], contender.env, timeout=INV_TIMEOUT)
    outcome.refused += refused
    outcome.updates += service_version(contender.service) != before
    contender.serving(contender.marker)
    outcome.seconds.append(seconds)


def broken_step(contender: Contender, i: int, outcome: Outcome) -> None:
    """A release that answers 500 on the smoke path: refused (non-zero exit), nothing updated, the old
    release still answers 200 with its name."""
    contender.break_release(i)
    before = service_version(contender.service)
    outcome.starts.append(time.time())
    seconds, result, refused = redeploy_allowing_failure(contender.argv, contender.env)
    outcome.refused += refused
    said = (result.stdout + result.stderr).strip()
    last = said.splitlines()[-1] if said else ""
    problems = []
    if result.returncode == 0:
        outcome.accepted += 1
        problems.append("exited 0: the release that answers 500 on its smoke path was accepted")
    elif REFUSED in said:
        outcome.refusals += 1
        outcome.seconds.append(seconds)
        outcome.refusal = outcome.refusal or last
    else:
        problems.append(f"exited {result.returncode}, but not refused by the trial: {last}")
    if service_version(contender.service) != before:
        outcome.updates += 1
        problems.append(f"{contender.service} was updated (Version.Index {before} -> "
                        f"{service_version(contender.service)})")
    status, body = answer(contender.url)
    if status == 200 and f'"name":"{contender.marker}0"' in body:
        outcome.old_answers += 1
    else:
        problems.append(f"afterwards {contender.url} gave {status or 'no answer'}: {body.strip()[:120]!r} "
                        f"(expected 200 with {contender.marker}0)")
    if problems:  # the whole story in the report: what the redeploy printed
        lines = said.splitlines()
        cut = f" (last {OUTPUT_LINES} lines)" if len(lines) > OUTPUT_LINES else ""
        outcome.notes += [f"redeploy {i + 1} exited {result.returncode} after {seconds:.2f} s; its output{cut}:",
                          *(f"  | {line}" for line in lines[-OUTPUT_LINES:])]
        raise BenchError("; ".join(problems))


STEPS = {"edit": edit_step, "force": force_step, "broken": broken_step}


def redeploy_allowing_failure(argv, env) -> tuple:
    """run_unlocked without raising on a non-zero exit: (seconds, result, attempts refused for another
    run's deploy lock). Retried while the lock is held, for up to LOCK_PATIENCE s."""
    deadline = time.monotonic() + LOCK_PATIENCE
    refused = 0
    while True:
        start = time.perf_counter()
        result = run(argv, env=env, check=False)
        seconds = time.perf_counter() - start
        if result.returncode == 0 or LOCK_HELD not in result.stdout + result.stderr or time.monotonic() > deadline:
            return seconds, result, refused
        refused += 1
        time.sleep(1)


def service_version(name: str) -> int:
    """The service's Version.Index on the host engine (it moves with every update of its spec)."""
    out = run(["docker", "service", "inspect", "-f", "{{.Version.Index}}", name]).stdout.strip()
    try:
        return int(out)
    except ValueError:
        raise BenchError(f"docker service inspect {name}: no Version.Index in {out!r}") from None


NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only, never a proxy


def answer(url: str) -> tuple:
    """(status, body) of one GET; (0, the error) when nothing answers."""
    try:
        with NO_PROXY.open(url, timeout=2) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")
    except (urllib.error.URLError, OSError) as e:
        return 0, str(e)


# --- a) one node ------------------------------------------------------------------

def lock_name(service: str) -> str:
    """The deploy lock of a contender's config: its own, so no other run on the swarm holds it."""
    return f"bench-load-{service.removeprefix('bench-load-')}"


def single_node(workdir: Path, network: str, env: dict, modes=("edge", "host"), copyall: bool = True) -> list:
    """ours in edge mode, ours in host mode, and copyall.sh on the host engine, replicas 1, each on a free port
    (those of `modes`, and copyall.sh if `copyall`)."""
    contenders = []
    for service, mode in (("bench-load-edged", "edge"), ("bench-load-ours", "host")):
        if mode not in modes:
            continue
        src = copy_source(workdir / service)
        port = free_port()
        config = workdir / f"{service}.yaml"
        config.write_text(
            f"# generated by bench/load.py\n"
            f"image:\n  prefix: {IMAGE_PREFIX}\n"
            f"build:\n  dist: {workdir / 'dist'}\n"
            f"swarm:\n  network: {network}\n"
            f"deploy:\n  lock: {lock_name(service)}\n"
            f"services:\n"
            f"  {service}:\n"
            f"    path: {src}\n    main: .\n    port: 6767\n    publish: {port}\n"
            f"    publish_mode: {mode}\n    replicas: 1\n    smoke: {SMOKE}\n"
        )
        url = f"http://127.0.0.1:{port}{SMOKE}"
        contenders.append(Contender(f"ours ({mode})", service, src,
                                    [sys.executable, "-m", "invoke", "-f", str(config), "redeploy", "--service",
                                     service], env, url, functools.partial(serves, [url])))
    if not copyall:
        return contenders

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


def forced(contender: Contender, runs: int, binary: Path, args) -> Outcome:
    """ours (edge): `redeploy --force` `runs` times under load, with `<name>-edge`'s Version.Index around it."""
    edge = f"{contender.service}-edge"
    before = service_version(edge)
    outcome = under_load(contender, f"a) 1 node, --force x{runs}", "force", runs, binary, args)
    outcome.edge = (before, service_version(edge))
    return outcome


def broken(contender: Contender, runs: int, binary: Path, args) -> Outcome:
    """`runs` releases that answer 500 on the smoke path, under load; then the good source again, redeployed
    (untimed): it must exit 0 and update nothing."""
    main_go = contender.src / "main.go"
    good = main_go.read_text()
    edge = f"{contender.service}-edge" if contender.label == "ours (edge)" else ""
    edge_before = service_version(edge) if edge else None
    try:
        outcome = under_load(contender, f"a) 1 node, 500 on smoke x{runs}", "broken", runs, binary, args)
    finally:
        main_go.write_text(good)
    if edge:
        outcome.edge = (edge_before, service_version(edge))
    try:
        before = service_version(contender.service)
        seconds, _, refused = run_unlocked(contender.argv, contender.env, timeout=INV_TIMEOUT)
        outcome.refused += refused
        moved = service_version(contender.service) != before
        contender.serving(contender.marker)
        outcome.notes.append(f"the good source again (untimed): redeploy exited 0 in {seconds:.2f} s, "
                             f"{contender.service} {'UPDATED' if moved else 'not updated'}, serves "
                             f"{contender.marker}0")
        if moved:
            outcome.errors.append("the good source again: the service was updated, though it already ran it")
    except BenchError as e:
        outcome.errors.append("the good source again: " + " | ".join(str(e).strip().splitlines()[-3:]))
    return outcome


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
            config = lab.config({service: labbench.service_entry(src, port)}, registry=registry,
                                node_registry=node_registry)
            config["deploy"] = {**config.get("deploy", {}), "lock": lock_name(service)}
            config = labbench.write_config(lab.workdir / "ours.json", config)
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

def row(o: Outcome) -> list:
    """redeploys: how many did as expected (broken: were refused); redeploy s: their median wall time (broken:
    the time to refusal)."""
    failed, runs = o.load["failed"], o.runs
    per, _ = o.per_redeploy()
    if o.kind == "broken":
        done = f"{o.refusals} refused" if o.refusals == runs else f"{o.refusals}/{runs} refused"
    else:
        ok = len(o.seconds)
        done = str(ok) if ok == runs else f"{ok}/{runs} ok"
    return [o.scenario, o.label, done, o.load["requests"], failed, f"{failed / runs:.1f}",
            sum(1 for n in per[:-1] if n), f"{o.load['outage_s']:.2f}",
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
             ("  time to refusal (s): " if o.kind == "broken" else "  redeploy command (s): ")
             + " ".join(f"{s:.2f}" for s in o.seconds)]
    if o.kind == "force":
        lines.append(f"  {o.service_name()} updated (Version.Index moved) in {o.updates} of {o.runs} runs "
                     f"(expected {o.runs})")
    if o.kind == "broken":
        lines.append(f"  refused {o.refusals} of {o.runs}, accepted (exit 0) {o.accepted}; {o.service_name()} "
                     f"updated after {o.updates} (expected 0); the old release answered 200 with its name after "
                     f"{o.old_answers} of {o.runs}")
        if o.refusal:
            lines.append(f"  first refusal's last line: {o.refusal}")
    if o.edge:
        lines.append(f"  {o.service_name()}-edge Version.Index: {o.edge[0]} before, {o.edge[1]} after "
                     f"({'unchanged' if o.edge[0] == o.edge[1] else 'CHANGED'})")
    lines += [f"  {n}" for n in o.notes]
    if o.lb:
        lines.append("  haproxy during the load: " + ", ".join(f"{k} {v}" for k, v in o.lb.items()))
    if o.refused:
        lines.append(f"  attempts refused for another run's deploy lock (retried, nothing changed): {o.refused}")
    lines += [f"  FAILED {e}" for e in o.errors]
    return lines


def goals(outcomes) -> list:
    """b) ours: 0 failed. --force: 0 failed, the edge untouched. 500 on smoke: 0 failed, every release refused."""
    lines = []
    for o in outcomes:
        failed = o.load["failed"]
        if o.scenario.startswith("b)") and o.label == "ours":
            lines.append(f"goal b) ours 0 failed: {'met' if failed == 0 else 'NOT met'} "
                         f"({failed} failed in {o.runs} redeploys)")
        elif o.kind == "force":
            # a --force that replaced nothing would lose no request either: it must update the app every time
            met = failed == 0 and o.edge and o.edge[0] == o.edge[1] and o.updates == o.runs and not o.errors
            lines.append(f"goal a) --force x{o.runs} ours (edge): 0 failed and the edge untouched: "
                         f"{'met' if met else 'NOT met'} ({failed} failed; {o.service}-edge Version.Index "
                         f"{o.edge[0]} -> {o.edge[1]}; {len(o.seconds)} of {o.runs} runs succeeded)")
        elif o.kind == "broken":
            met = failed == 0 and o.refusals == o.runs and not o.errors
            lines.append(f"goal a) 500 on smoke x{o.runs} {o.label}: 0 failed and {o.runs} refused: "
                         f"{'met' if met else 'NOT met'} ({failed} failed, {o.refusals} refused, {o.accepted} "
                         f"accepted; median time to refusal "
                         f"{f'{statistics.median(o.seconds):.2f} s' if o.seconds else 'n/a'})")
    return lines


# --- main -------------------------------------------------------------------------

def interrupted(signum, frame):
    raise KeyboardInterrupt  # SIGTERM too runs the cleanup in `finally`


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redeploys", type=int, default=20, metavar="N",
                        help="a) and b): one-line changes redeployed under load per contender (default: 20; 0: none)")
    parser.add_argument("--no-redeploys", dest="redeploys", action="store_const", const=0,
                        help="skip the one-line-change scenario (as --redeploys 0); b) runs only that one, so the "
                             "lab is skipped too")
    parser.add_argument("--forced", type=int, default=10, metavar="N",
                        help="a) ours (edge): `redeploy --force` N times under load with no change; counts failed "
                             "requests and checks that <name>-edge's Version.Index does not move (default: 10; 0: "
                             "skip)")
    parser.add_argument("--broken", type=int, default=10, metavar="N",
                        help="a) ours (edge) and ours (host): N releases under load that answer 500 on the smoke "
                             "path, each to be refused (non-zero exit) while the old one keeps answering "
                             "(default: 10; 0: skip)")
    parser.add_argument("--single", action=argparse.BooleanOptionalAction, default=True,
                        help="a) one node, the host engine (default: on)")
    parser.add_argument("--lab", action=argparse.BooleanOptionalAction, default=True,
                        help="b) the 3-node lab behind haproxy, one-line changes only (default: on; needs root)")
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
    if min(args.redeploys, args.forced, args.broken) < 0 or args.clients < 1 or args.rate < 0:
        parser.error("--redeploys, --forced and --broken must be at least 0, --clients at least 1, --rate at least 0")
    args.lab = args.lab and args.redeploys > 0  # the lab runs only the one-line-change scenario
    if not ((args.single and (args.redeploys or args.forced or args.broken)) or args.lab):
        parser.error("nothing to run: every scenario is off")
    if args.lab and os.geteuid() != 0:
        parser.error("the lab needs root (netns machines); use --no-lab")
    signal.signal(signal.SIGTERM, interrupted)

    workdir = Path(tempfile.mkdtemp(prefix="bench-load-")).resolve()
    env_file = workdir / ".env"
    env_file.write_text("MANAGER_IP=127.0.0.1\n")
    # GOSWARM_ROOT: the project is the temp dir (service paths must lie inside the project root)
    env = {**os.environ, "GOSWARM_ROOT": str(workdir), "ENV_FILE": str(env_file),
           "MACHINES_DIR": str(workdir / "machines")}
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
        scenarios = [f"{args.redeploys} redeploys per contender, each a one-line change, served everywhere "
                     "before the next"] if args.redeploys else []
        if args.single and args.forced:
            scenarios.append(f"a) {args.forced} x `redeploy --force` of ours (edge), no change")
        if args.single and args.broken:
            scenarios.append(f"a) {args.broken} releases answering 500 on {SMOKE} for ours (edge) and ours (host), "
                             "each to be refused")
        print(f"load:    {args.clients} clients, {args.rate:g} req/s in total, GET {SMOKE}, 2 s timeout, "
              f"keep-alive {'on' if args.keepalive else 'off'}; " + "; ".join(scenarios))
        print("locks:   each config has its own deploy.lock (bench-load-<service>)")
        print()

        if args.single:  # a) one node
            remove_services(single_services, timeout=INV_TIMEOUT)  # what an interrupted run left, by name
            modes = (["edge"] if args.redeploys or args.forced or args.broken else []) + \
                (["host"] if args.redeploys or args.broken else [])
            contenders = single_node(workdir, args.network, env, modes, copyall=args.redeploys > 0)
            for contender in contenders:  # warm-up: the first deploy creates the service
                run_unlocked(contender.argv, contender.env, timeout=INV_TIMEOUT)
                contender.serving("Person_")
            if args.redeploys:
                for contender in in_turn(contenders, 0):
                    outcomes.append(under_load(contender, "a) 1 node", "edit", args.redeploys, binary, args))
                    print(f"done: a) {contender.label}, {outcomes[-1].load['failed']} failed", file=sys.stderr)
            ours = {c.label: c for c in contenders}
            if args.forced:
                outcomes.append(forced(ours["ours (edge)"], args.forced, binary, args))
                print(f"done: a) --force, {outcomes[-1].load['failed']} failed", file=sys.stderr)
            if args.broken:
                for contender in in_turn([ours["ours (edge)"], ours["ours (host)"]], 0):
                    outcomes.append(broken(contender, args.broken, binary, args))
                    print(f"done: a) 500 on smoke {contender.label}, {outcomes[-1].load['failed']} failed, "
                          f"{outcomes[-1].refusals} refused", file=sys.stderr)
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
                outcomes.append(under_load(contender, "b) 3 nodes + haproxy", "edit", args.redeploys, binary, args,
                                           functools.partial(haproxy.stats, contender.service)))
                print(f"done: b) {contender.label}, {outcomes[-1].load['failed']} failed", file=sys.stderr)
            print(f"lab: {labbench.NODES} netns machines {lab.prefix}-1..{labbench.NODES}; {seen.describe()}")
            print()

        print(table([row(o) for o in outcomes],
                    ["scenario", "contender", "redeploys", "requests", "failed", "failed/redeploy",
                     "redeploys w/ failures", "outage s", "redeploy s (median)"]))
        print()
        print("failed: requests with no 2xx answer (another status, a connection error, or no answer in 2 s); "
              "outage: from the first failed request of each burst to the next successful one, summed")
        for o in outcomes:
            print("\n".join(details(o)))
        for line in goals(outcomes):
            print(line)
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
