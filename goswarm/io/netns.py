"""Netns machines: local hosts on Linux made of a network namespace on a host bridge, a Docker engine
and an sshd of their own, so the pipeline reaches each one over SSH like any other machine.

Everything a machine owns is named from its name (namespace, link, paths, cgroup), so destroy can
find it again from the record alone, also after a half-finished create.
"""
import fcntl
import ipaddress
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
from contextlib import contextmanager
from pathlib import Path

from goswarm import poll
from goswarm.errors import PipelineError

# The pure part lives in netns_plan; callers keep using netns.X for all of it.
from goswarm.plan.netns import (  # noqa: F401
    BRIDGE,
    FORWARD_RULE,
    GATEWAY,
    ISOLATE_RULE,
    LAUNCHERS,
    LOCK_FILE,
    NAME,
    PREFIX,
    READY_TIMEOUT,
    SSHD,
    STOP_TIMEOUT,
    SUBNET,
    TOOLS,
    allocate_address,
    authorized_keys,
    check_address,
    check_name,
    daemon_config,
    docker_major,
    dockerd_argv,
    host_key_line,
    host_range,
    log_tail,
    missing_tools,
    mounts_under,
    name_of,
    netns_file,
    netns_names,
    planned,
    run_dir,
    sshd_config,
    uts_file,
    veth_name,
)


class AddressTaken(PipelineError):
    """Another netns machine has this address (a concurrent create may have just taken it)."""


# --- processes (read from /proc; a pid is only acted on while it is still our program) -------------

def _program(pid: int):
    """(program name, command line) of a live process, or None when it is gone or a zombie."""
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (OSError, ValueError):
        return None
    return os.path.basename(exe.removesuffix(" (deleted)")), cmdline


def _is(pid, program: str, marker: str) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    found = _program(pid)
    return found is not None and found[0] == program and marker in found[1]


def _pidfile(path: Path) -> int:
    try:
        return int(path.read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


def _signal(pids, sig) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def _wait_gone(pids, timeout: float) -> list:
    """The pids still alive after `timeout` seconds (zombies count as gone: init reaps them later)."""
    def alive():
        return [p for p in pids if _program(p)]

    return poll.until(lambda: [] if not alive() else None, timeout, 0.1, alive)


def _kill_and_wait(pids, timeout: float) -> list:
    _signal(pids, signal.SIGKILL)
    return _wait_gone(pids, timeout)


def _launched_by_us(pid, name: str) -> bool:
    """A daemon of this machine, or the launcher (setsid, nohup, nsenter) that is about to exec it."""
    found = _program(pid) if isinstance(pid, int) and pid > 0 else None
    return bool(found) and (found[0] in LAUNCHERS or found[0].startswith(("containerd", "dockerd", "runc"))) \
        and f"{run_dir(name)}/" in found[1]


def _ns_id(path):
    try:
        st = os.stat(path)
        return st.st_dev, st.st_ino
    except OSError:
        return None


def _leftover_processes(name: str) -> list:
    """Every process that belongs to the machine: anything inside its network or UTS namespace (daemons,
    containerd, shims, SSH sessions) and containerd or shims still naming its exec root."""
    ours = {ns for ns in (_ns_id(netns_file(name)), _ns_id(uts_file(name))) if ns}
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        pid = int(entry)
        if ours and ({_ns_id(f"/proc/{pid}/ns/net"), _ns_id(f"/proc/{pid}/ns/uts")} & ours):
            found.append(pid)
            continue
        if _launched_by_us(pid, name):
            found.append(pid)
    return [p for p in found if _program(p)]


def _cgroup_dirs(name: str) -> list:
    """The engine's --cgroup-parent in each hierarchy (cgroup v1 has one per controller, v2 one in all)."""
    root = Path("/sys/fs/cgroup")
    if not root.is_dir():
        return []
    tops = [root] + [d for d in root.iterdir() if d.is_dir() and not d.is_symlink()]
    return [t / f"{PREFIX}{name}" for t in tops if (t / f"{PREFIX}{name}").is_dir()]


def _container_processes(name: str) -> list:
    pids = set()
    for top in _cgroup_dirs(name):
        # os.walk, not rglob: a container's cgroup that goes while we walk is skipped, where rglob raises
        for here, _, files in os.walk(top):
            if "cgroup.procs" not in files:
                continue
            try:
                pids.update(int(p) for p in (Path(here) / "cgroup.procs").read_text().split())
            except (OSError, ValueError):
                pass
    return sorted(pids)


def _remove_cgroups(name: str) -> list:
    """rmdir the machine's cgroups, leaves first; the directories that would not go."""
    stuck = []
    for top in _cgroup_dirs(name):
        for here, _, _ in os.walk(top, topdown=False):
            try:
                os.rmdir(here)
            except OSError:
                stuck.append(here)
    return stuck


# --- host plumbing (every command through the Shell, so --dry and --echo hold) ------------------------

def _run(sh, command: str, what: str):
    result = sh.run(command, hide=True, warn=True)
    if result.failed:
        detail = (result.stderr or result.stdout).strip().splitlines()
        # invoke passes Ctrl-C on to the command and, with warn=True, returns its -SIGINT instead of raising
        status = f"killed by signal {-result.exited}" if result.exited < 0 else f"exit {result.exited}"
        raise PipelineError(f"{what} failed: {detail[-1] if detail else status}")
    return result


def _try(sh, command: str) -> bool:
    return sh.run(command, hide=True, warn=True).ok


@contextmanager
def _host_lock():
    with open(LOCK_FILE, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _list_netns(sh) -> list:
    """A read: it runs under --dry too, so that a dry plan sees what exists."""
    result = sh.read("ip netns list")
    if result.failed:
        raise PipelineError(f"listing network namespaces failed: {(result.stderr or '').strip()[-200:]}")
    return netns_names(result.stdout)


def addresses_in_use(sh) -> set:
    """The addresses of the netns machines on this host, for allocate_address."""
    used = set()
    for netns in _list_netns(sh):
        shown = sh.read(f"ip -n {shlex.quote(netns)} -4 -o addr show")
        used.update(re.findall(r"inet (10\.77\.0\.\d+)/", shown.stdout if shown.ok else ""))
    return used


def check_supported() -> None:
    """One line saying why this host cannot run netns machines, or nothing."""
    system = platform.system()
    if system != "Linux":
        raise PipelineError(f"netns machines need Linux (network namespaces); this host runs {system}")
    if os.geteuid() != 0:
        raise PipelineError("netns machines need root (they add namespaces, a bridge and an iptables rule): "
                            "run as root")
    missing = missing_tools(lambda tool: os.access(tool, os.X_OK) if tool.startswith("/") else shutil.which(tool))
    if missing:
        packages = " ".join(dict.fromkeys(TOOLS[t] for t in missing))
        raise PipelineError(f"netns machines need {', '.join(missing)}: apt-get install -y {packages}")


def _ensure_bridge(sh) -> None:
    routes = sh.read(f"ip -4 route show {SUBNET}").stdout
    foreign = [line for line in routes.splitlines() if line.strip() and f"dev {BRIDGE}" not in line]
    if foreign:
        raise PipelineError(f"{SUBNET} is already routed on this host ({foreign[0].strip()}); "
                            "netns machines need that subnet for themselves")
    if not Path(f"/sys/class/net/{BRIDGE}").exists():
        _run(sh, f"ip link add {BRIDGE} type bridge", f"creating the bridge {BRIDGE}")
    _run(sh, f"ip addr replace {GATEWAY}/24 dev {BRIDGE}", f"addressing the bridge {BRIDGE}")
    _run(sh, f"ip link set {BRIDGE} up", f"bringing up the bridge {BRIDGE}")
    for rule in (ISOLATE_RULE, FORWARD_RULE):
        if not _try(sh, f"iptables -C {rule}"):
            _run(sh, f"iptables -I {rule}", f"adding the iptables rule {rule}")


def _remove_bridge_if_unused(sh) -> None:
    # QEMU VMs (io/qemu.py) hang on the bridge by their gt-* tap links, with no namespace of their own.
    if _list_netns(sh) or any(Path("/sys/class/net").glob("gt-*")):
        return
    for rule in (FORWARD_RULE, ISOLATE_RULE):
        while _try(sh, f"iptables -C {rule}"):
            _run(sh, f"iptables -D {rule}", f"removing the iptables rule {rule}")
    if Path(f"/sys/class/net/{BRIDGE}").exists():
        _run(sh, f"ip link del {BRIDGE}", f"removing the bridge {BRIDGE}")


def _add_namespace(sh, extras: dict) -> None:
    netns, veth, q = extras["netns"], extras["veth"], shlex.quote
    name = name_of(extras)
    _run(sh, f"ip netns add {q(netns)}", f"adding the network namespace {netns}")
    # The peer is born inside the namespace as eth0: no temporary name on the host to collide.
    _run(sh, f"ip link add {q(veth)} type veth peer name eth0 netns {q(netns)}", f"adding the link {veth}")
    _run(sh, f"ip link set {q(veth)} master {BRIDGE} up", f"attaching {veth} to {BRIDGE}")
    # A machine that had this address before may have left its MAC in the host's neighbour table, still
    # "reachable" for up to ~45 s after it talked: until then the host would send this machine's traffic there.
    _try(sh, f"ip neigh flush to {q(extras['address'])} dev {BRIDGE}")
    for command in (f"addr add {q(extras['address'])}/24 dev eth0", "link set eth0 up", "link set lo up",
                    f"route add default via {GATEWAY}"):
        _run(sh, f"ip -n {q(netns)} {command}", f"setting up {netns} (ip {command})")
    run_dir(name).mkdir(mode=0o700, parents=True, exist_ok=True)
    uts = uts_file(name)
    uts.touch()
    _run(sh, f"unshare --uts={q(str(uts))} hostname {q(name)}", f"giving {netns} its hostname")


def _enter(name: str) -> str:
    return f"nsenter --net={shlex.quote(str(netns_file(name)))} --uts={shlex.quote(str(uts_file(name)))}"


def _engine_answers(socket_path: str) -> bool:
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(2)
            s.connect(socket_path)
            s.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            return s.recv(64).split(b" ")[1:2] == [b"200"]
    except (OSError, IndexError):
        return False


def _port_open(address: str, port: int) -> bool:
    """Does a lab address answer on `port`? Without the lab's bridge a lab address is not on this machine's
    links: the connection would leave through the default route (where a proxy may answer anything), so no."""
    if ipaddress.ip_address(address) in ipaddress.ip_network(SUBNET) and not Path(f"/sys/class/net/{BRIDGE}").exists():
        return False
    try:
        with socket.create_connection((address, port), timeout=1):
            return True
    except OSError:
        return False


def _wait(ready, alive, timeout: float) -> bool:
    """True once ready(); False when alive() turns False or the time is up."""
    def settled():
        return True if ready() else (ready() if not alive() else None)

    return poll.until(settled, timeout, 0.1, ready)


def _launch_dockerd(sh, extras: dict, state_dir: Path) -> int:
    name = name_of(extras)
    if not Path(state_dir / "daemon.json").exists():
        major = docker_major(_run(sh, "dockerd --version", "asking dockerd its version").stdout)
        (state_dir / "daemon.json").write_text(json.dumps(daemon_config(state_dir, major)) + "\n")
    # Pidfiles left by a killed engine: dockerd refuses a pid the kernel has since reused, and it waits for
    # "still running" containerd when that pid is a zombie init has not reaped yet (it only checks kill(pid, 0)).
    (state_dir / "docker.pid").unlink(missing_ok=True)
    containerd_pid = Path(extras["exec_root"]) / "containerd" / "containerd.pid"
    if not _is(_pidfile(containerd_pid), "containerd", extras["exec_root"]):
        containerd_pid.unlink(missing_ok=True)
    log = shlex.quote(str(state_dir / "dockerd.log"))
    argv = " ".join(shlex.quote(a) for a in dockerd_argv(extras, state_dir))
    # setsid+nohup detach it from this session; no stdio of ours stays open, so the command returns at once.
    started = _run(sh, f"cd / ; setsid nohup {_enter(name)} {argv} >> {log} 2>&1 < /dev/null & echo $!",
                   "starting dockerd")
    launched = int(started.stdout.split()[-1])
    pidfile = state_dir / "docker.pid"
    # Until it answers, the pid may still be setsid or nsenter on its way to exec dockerd.
    if not _wait(lambda: _engine_answers(extras["socket"]), lambda: _program(launched) is not None, READY_TIMEOUT):
        _kill_and_wait([p for p in (launched, _pidfile(pidfile)) if _launched_by_us(p, name)], 5)
        raise PipelineError(f"dockerd of {name} did not answer within {READY_TIMEOUT}s: "
                            f"{log_tail(state_dir / 'dockerd.log')}")
    return _pidfile(pidfile) or launched


def _launch_sshd(sh, extras: dict, state_dir: Path, key: str) -> int:
    name, q = name_of(extras), shlex.quote
    host_key = state_dir / "ssh_host_ed25519_key"
    _run(sh, f"ssh-keygen -q -t ed25519 -N '' -C {q(PREFIX + name)} -f {q(str(host_key))}", "generating the host key")
    (state_dir / "authorized_keys").write_text(authorized_keys(key))
    (state_dir / "authorized_keys").chmod(0o600)
    config = state_dir / "sshd_config"
    config.write_text(sshd_config(extras, state_dir))
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory
    log = state_dir / "sshd.log"
    started = sh.run(f"cd / && {_enter(name)} {SSHD} -f {q(str(config))} -E {q(str(log))} < /dev/null",
                    hide=True, warn=True)
    if started.failed:
        said = started.stderr.strip().splitlines()
        raise PipelineError(f"sshd of {name} did not start: {said[-1] if said else log_tail(log)}")
    pidfile = state_dir / "sshd.pid"
    up = _wait(lambda: _is(_pidfile(pidfile), "sshd", str(config)) and _port_open(extras["address"], 22),
               lambda: True, READY_TIMEOUT)
    if not up:
        raise PipelineError(f"sshd of {name} did not listen on {extras['address']}:22 within "
                            f"{READY_TIMEOUT}s: {log_tail(log)}")
    return _pidfile(pidfile)


def _check_free(sh, extras: dict) -> None:
    """Refuse before acting, so that the rollback can never touch another machine's things."""
    name = name_of(extras)
    if extras["netns"] in _list_netns(sh) or run_dir(name).exists() or Path(extras["data_root"]).exists():
        raise PipelineError(f"netns machine {name} already exists on this host (destroy it first)")
    if extras["address"] in addresses_in_use(sh):
        raise AddressTaken(f"address {extras['address']} is taken by another netns machine")


def create(sh, name: str, address: str, state_dir: Path, authorized_key: str) -> dict:
    """Bring up netns machine `name` at `address`; its files go to `state_dir`. Returns the record extras."""
    extras = planned(check_name(name), check_address(address))
    authorized_keys(authorized_key)
    state_dir = Path(state_dir)
    if sh.dry:
        print(f"[dry] would create netns machine {name} at {address} (namespace {extras['netns']}, "
              f"engine {extras['socket']}, sshd on {address}:22)")
        return extras
    check_supported()
    with _host_lock():
        _check_free(sh, extras)
        try:
            _ensure_bridge(sh)
            _add_namespace(sh, extras)
        except BaseException as e:
            _roll_back(sh, extras, state_dir, e, locked=True)
    try:
        state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        Path(extras["data_root"]).mkdir(mode=0o711, parents=True, exist_ok=True)
        extras["pids"]["dockerd"] = _launch_dockerd(sh, extras, state_dir)
        extras["pids"]["sshd"] = _launch_sshd(sh, extras, state_dir, authorized_key)
        extras["host_key"] = host_key_line((state_dir / "ssh_host_ed25519_key.pub").read_text())
    except BaseException as e:
        _roll_back(sh, extras, state_dir, e)
    return extras


def _roll_back(sh, extras: dict, state_dir: Path, error: BaseException, locked: bool = False):
    try:
        _destroy(sh, extras, state_dir, locked)
    except PipelineError as cleanup:
        raise PipelineError(f"creating netns machine {name_of(extras)} failed ({error}); "
                            f"the clean-up also failed: {cleanup}") from error
    if isinstance(error, PipelineError):
        raise error
    if not isinstance(error, Exception):
        raise error  # KeyboardInterrupt and friends, after cleaning up
    raise PipelineError(f"creating netns machine {name_of(extras)} failed: {error}") from error


# --- tear-down -----------------------------------------------------------------------------------------

def _stop_daemons(extras: dict, state_dir: Path) -> None:
    name = name_of(extras)
    engine_marker = f"unix://{run_dir(name)}/docker.sock"
    # Containers first: dockerd would otherwise wait out each one's stop timeout before it exits.
    _kill_and_wait(_container_processes(name), 5)
    engines = {p for p in (extras.get("pids", {}).get("dockerd"), _pidfile(state_dir / "docker.pid"))
               if _is(p, "dockerd", engine_marker)}
    _signal(engines, signal.SIGTERM)
    _kill_and_wait(_wait_gone(engines, STOP_TIMEOUT), 5)
    config = str(state_dir / "sshd_config")
    sshds = {p for p in (extras.get("pids", {}).get("sshd"), _pidfile(state_dir / "sshd.pid"))
             if _is(p, "sshd", config)}
    _signal(sshds, signal.SIGTERM)
    _kill_and_wait(_wait_gone(sshds, 5), 5)
    # containerd, shims, SSH sessions, and containers a swarm may have restarted meanwhile.
    _kill_and_wait(_leftover_processes(name) + _container_processes(name), 10)


def _remove_files(sh, name: str, extras: dict, state_dir: Path) -> None:
    q = shlex.quote
    roots = [run_dir(name), Path(f"/var/lib/goswarm/{name}")]
    for point in mounts_under(Path("/proc/self/mountinfo").read_text(), roots):
        if not _try(sh, f"umount {q(point)}"):
            _try(sh, f"umount -l {q(point)}")
    # The link first: deleting it takes its peer at once, whereas a deleted namespace frees its links
    # asynchronously. Failures here show up in the final check, which says what is left.
    veth = veth_name(name)
    if Path(f"/sys/class/net/{veth}").exists():
        _try(sh, f"ip link del {q(veth)}")
    if netns_file(name).exists() or extras["netns"] in _list_netns(sh):
        _try(sh, f"ip netns del {q(extras['netns'])}")
    # --one-file-system: a mount that would not go must never lead rm into another filesystem.
    paths = " ".join(q(str(p)) for p in (*roots, state_dir) if p.exists())
    if paths:
        _try(sh, f"rm -rf --one-file-system {paths}")
    _remove_cgroups(name)
    try:
        Path("/var/lib/goswarm").rmdir()
    except OSError:
        pass  # absent, or another machine still lives there


def _leftovers(sh, name: str, state_dir: Path) -> list:
    """What is still there after a destroy; empty when it converged."""
    left = [str(p) for p in (run_dir(name), Path(f"/var/lib/goswarm/{name}"), state_dir) if p.exists()]
    if f"{PREFIX}{name}" in _list_netns(sh):
        left.append(f"namespace {PREFIX}{name}")
    if Path(f"/sys/class/net/{veth_name(name)}").exists():
        left.append(f"link {veth_name(name)}")
    left += [f"pid {p}" for p in _leftover_processes(name) + _container_processes(name)]
    left += [f"cgroup {d}" for d in _cgroup_dirs(name)]
    return left


def _destroy(sh, extras: dict, state_dir: Path, locked: bool = False) -> None:
    name = name_of(extras)
    state_dir = Path(state_dir)
    if len(state_dir.resolve().parts) < 3:
        raise PipelineError(f"refusing to remove {state_dir} as a machine's state directory")
    _stop_daemons(extras, state_dir)
    _remove_files(sh, name, {**extras, "netns": PREFIX + name}, state_dir)
    if locked:
        _remove_bridge_if_unused(sh)
    else:
        with _host_lock():
            _remove_bridge_if_unused(sh)
    left = _leftovers(sh, name, state_dir)
    if left:
        raise PipelineError(f"netns machine {name} was not fully removed: {', '.join(left)}")


def destroy(sh, extras: dict, state_dir: Path) -> None:
    """Remove everything create made (also half of it); doing it twice is fine."""
    if sh.dry:
        print(f"[dry] would destroy netns machine {name_of(extras)} and remove {state_dir}")
        return
    _destroy(sh, extras, Path(state_dir))


# --- the engine alone (a node losing and regaining its engine) ---------------------------------------

def engine_running(extras: dict) -> bool:
    return _is(extras.get("pids", {}).get("dockerd"), "dockerd", f"unix://{extras['socket']}")


def stop_engine(sh, extras: dict) -> None:
    """SIGKILL the engine, as a crash would (its containerd goes with it; containers stay until a restart)."""
    if sh.dry:
        print(f"[dry] would kill the engine of netns machine {name_of(extras)}")
        return
    if engine_running(extras):
        pid = extras["pids"]["dockerd"]
        if _kill_and_wait([pid], 10):
            raise PipelineError(f"dockerd {pid} of {name_of(extras)} survived SIGKILL")


def start_engine(sh, extras: dict, state_dir: Path) -> int:
    """Start the engine again with the same flags; returns its pid and records it in `extras`."""
    if sh.dry:
        print(f"[dry] would start the engine of netns machine {name_of(extras)}")
        return 0
    if not engine_running(extras):
        extras.setdefault("pids", {})["dockerd"] = _launch_dockerd(sh, extras, Path(state_dir))
    return extras["pids"]["dockerd"]
