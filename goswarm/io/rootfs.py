"""Bare hosts on Linux: a netns machine whose root filesystem is its own (an overlay on a cached Debian tree),
in its own PID and mount namespaces, with sshd its only service and no Docker until someone provisions it.

The network side (namespace, link, bridge) and the tear-down are netns machines'; this module adds the root
filesystem and the init that mounts it.
"""
import fcntl
import json
import shlex
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

from goswarm.errors import PipelineError
from goswarm.io import environment, netns
from goswarm.plan import rootfs as plan


@contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def mirror() -> str:
    sources = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    return plan.mirror_from_sources(p.read_text(errors="replace") for p in sources if p.is_file())


def ensure_tree(sh, packages=plan.PACKAGES) -> Path:
    """The cached Debian tree, made once with debootstrap (a few minutes) and then reused by every machine."""
    tree = environment.cache_dir() / plan.cache_name(plan.SUITE, packages)
    if (tree / "etc" / "debian_version").is_file() or sh.dry:
        if sh.dry and not tree.is_dir():
            print(f"[dry] would debootstrap {plan.SUITE} into {tree}")
        return tree
    if not shutil.which("debootstrap"):
        raise PipelineError("bare hosts need debootstrap: apt-get install -y debootstrap")
    with _locked(environment.cache_dir() / "rootfs.lock"):
        if (tree / "etc" / "debian_version").is_file():  # another process made it while we waited
            return tree
        partial = tree.with_name(tree.name + ".partial")
        sh.run(f"rm -rf --one-file-system {shlex.quote(str(partial))}", hide=True)
        print(f"-> debootstrap {plan.SUITE} into {tree} (once; later machines reuse it)")
        started = time.monotonic()
        argv = " ".join(shlex.quote(a) for a in plan.debootstrap_argv(partial, mirror(), packages))
        made = sh.run(argv, hide=True, warn=True)
        if made.failed:
            said = (made.stderr or made.stdout).strip().splitlines()
            raise PipelineError(f"debootstrap failed: {said[-1] if said else f'exit {made.exited}'}")
        # Every machine makes its own host key; none may inherit the tree's.
        for key in (partial / "etc" / "ssh").glob("ssh_host_*"):
            key.unlink()
        shutil.rmtree(partial / "var" / "cache" / "apt" / "archives", ignore_errors=True)
        (partial / "var" / "cache" / "apt" / "archives" / "partial").mkdir(parents=True)
        partial.rename(tree)
        print(f"   root filesystem ready in {time.monotonic() - started:.0f}s")
    return tree


def _seed(sh, name: str, upper: Path, authorized_key: str) -> str:
    """The machine's own files, written into the overlay's upper layer before it boots. Returns its host key."""
    q = shlex.quote
    ssh_dir = upper / "etc" / "ssh"
    (ssh_dir / "sshd_config.d").mkdir(parents=True)
    (ssh_dir / "sshd_config.d" / "goswarm.conf").write_text(plan.sshd_settings())
    key = ssh_dir / "ssh_host_ed25519_key"
    netns._run(sh, f"ssh-keygen -q -t ed25519 -N '' -C {q(netns.PREFIX + name)} -f {q(str(key))}",
               "generating the host key")
    root_ssh = upper / "root" / ".ssh"
    root_ssh.mkdir(mode=0o700, parents=True)
    (root_ssh / "authorized_keys").write_text(netns.authorized_keys(authorized_key))
    (root_ssh / "authorized_keys").chmod(0o600)
    (upper / "etc" / "hostname").write_text(name + "\n")
    (upper / "etc" / "docker").mkdir(parents=True)
    (upper / "etc" / "docker" / "daemon.json").write_text(json.dumps(plan.daemon_seed(name, netns.PREFIX)) + "\n")
    return netns.host_key_line((ssh_dir / "ssh_host_ed25519_key.pub").read_text())


def _boot(sh, extras: dict, tree: Path, state_dir: Path) -> int:
    name = netns.name_of(extras)
    data_root = Path(extras["data_root"])
    script = state_dir / "init.sh"
    script.write_text(plan.boot_script(tree, data_root))
    log = shlex.quote(str(state_dir / "init.log"))
    started = netns._run(sh, f"cd / ; setsid nohup {netns._enter(name)} unshare --mount --pid --fork "
                             f"--propagation private sh {shlex.quote(str(script))} >> {log} 2>&1 < /dev/null "
                             f"& echo $!", "booting the machine")
    launched = int(started.stdout.split()[-1])
    up = netns._wait(lambda: netns._port_open(extras["address"], 22), lambda: netns._program(launched) is not None,
                     netns.READY_TIMEOUT)
    if not up:
        raise PipelineError(f"bare host {name} did not listen on {extras['address']}:22 within "
                            f"{netns.READY_TIMEOUT}s: {netns.log_tail(state_dir / 'init.log')}")
    return launched


def create(sh, name: str, address: str, state_dir: Path, authorized_key: str, tree: Path) -> dict:
    """Bring up bare host `name` at `address` from the cached `tree`; returns the record extras."""
    extras = netns.planned(netns.check_name(name), netns.check_address(address))
    extras["tree"] = str(tree)
    netns.authorized_keys(authorized_key)
    if sh.dry:
        print(f"[dry] would create bare host {name} at {address} (an overlay on {tree}, sshd only)")
        return extras
    netns.check_supported()
    state_dir = Path(state_dir)
    with netns._host_lock():
        netns._check_free(sh, extras)
        try:
            netns._ensure_bridge(sh)
            netns._add_namespace(sh, extras)
        except BaseException as e:
            netns._roll_back(sh, extras, state_dir, e, locked=True)
    try:
        state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        data_root = Path(extras["data_root"])
        for part in (plan.ROOT, plan.UPPER, plan.WORK, plan.DOCKER):
            (data_root / part).mkdir(mode=0o755, parents=True, exist_ok=True)
        extras["host_key"] = _seed(sh, name, data_root / plan.UPPER, authorized_key)
        extras["pids"] = {"init": _boot(sh, extras, tree, state_dir)}
    except BaseException as e:
        netns._roll_back(sh, extras, state_dir, e)
    return extras


def running(extras: dict) -> bool:
    return netns._port_open(extras["address"], 22)


def boot(sh, extras: dict, state_dir: Path) -> int:
    """Boot it again (after a stop): its upper layer kept everything it had, Docker included."""
    return _boot(sh, extras, Path(extras["tree"]), Path(state_dir))


def stop(extras: dict) -> None:
    """Every process of the machine goes, as at power-off; its files stay for the next boot."""
    name = netns.name_of(extras)
    left = netns._kill_and_wait(netns._leftover_processes(name) + netns._container_processes(name), 10)
    if left:
        raise PipelineError(f"bare host {name}: processes {left} survived SIGKILL")
