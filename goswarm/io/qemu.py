"""QEMU machines on Linux: `machine.image` makes a Debian cloud image (debootstrap, a Debian kernel, cloud-init),
and each machine boots it as a VM with a NoCloud seed, on a tap link of the lab bridge, with KVM where a guest
really runs on it and software emulation (TCG) elsewhere."""
import os
import shlex
import shutil
import signal
import time
from pathlib import Path

from goswarm.errors import PipelineError
from goswarm.io import environment, netns, rootfs
from goswarm.plan import qemu as plan
from goswarm.plan import rootfs as rootfs_plan

# VMs have no namespace on the host, where netns machines are seen: each holds its lab address in a file here,
# so that no other machine (of any project on this host) is given it.
RESERVED = Path("/run/goswarm-vms")
BOOT_TIMEOUT = 1500  # TCG on a 2-core host that other work keeps busy: seen past 15 min for the first boot
TOOLS = {"qemu-system-x86_64": "qemu-system-x86", "qemu-img": "qemu-utils", "mkfs.ext4": "e2fsprogs",
         "debugfs": "e2fsprogs", "mkfs.vfat": "dosfstools", "mcopy": "mtools"}


def check_supported() -> None:
    netns.check_supported()  # Linux, root, ip and iptables: the tap joins the lab bridge
    missing = [tool for tool in TOOLS if not shutil.which(tool)]
    if missing:
        packages = " ".join(dict.fromkeys(TOOLS[t] for t in missing))
        raise PipelineError(f"qemu machines need {', '.join(missing)}: apt-get install -y {packages}")


def build_image(sh, out: Path, with_docker: bool = False) -> str:
    """A raw ext4 disk with /boot/vmlinuz and initrd inside; the tree it is made from is cached."""
    if not shutil.which("mkfs.ext4"):
        raise PipelineError("machine.image needs mkfs.ext4: apt-get install -y e2fsprogs")
    out = Path(out)
    if not out.parent.is_dir():
        raise PipelineError(f"-o {out}: folder {out.parent} does not exist")
    if out.exists():  # it may be a machine's disk
        raise PipelineError(f"-o {out}: the file exists, and machine.image never overwrites one: remove it or "
                            f"name another")
    tree = rootfs.ensure_tree(sh, plan.packages(with_docker))
    if sh.dry:
        print(f"[dry] would write {out} from {tree}")
        return str(out)
    _prepare(sh, tree)
    partial = out.with_name(out.name + ".partial")
    netns._run(sh, plan.shell(plan.mkfs_argv(tree, partial)), f"writing the image {out}")
    partial.rename(out)
    used = os.stat(out).st_blocks * 512
    return f"image {out}: Debian {rootfs_plan.SUITE}{' with docker.io' if with_docker else ''}, " \
           f"{used / 1e6:.0f} MB used of {plan.IMAGE_SIZE}"


def _prepare(sh, tree: Path) -> None:
    """What makes the cached tree a VM image, done once per tree: fstab, NoCloud only, a small initrd."""
    marker = tree / "etc" / "goswarm-image"
    if marker.is_file():
        return
    (tree / "etc" / "fstab").write_text(plan.FSTAB)
    (tree / "etc" / "cloud" / "cloud.cfg.d" / "90-goswarm.cfg").write_text(plan.CLOUD_CFG)
    (tree / "etc" / "initramfs-tools" / "conf.d" / "goswarm").write_text(plan.INITRAMFS_CONF)
    (tree / "etc" / "initramfs-tools" / "modules").write_text(plan.INITRAMFS_MODULES)
    for unit in plan.MASKED:
        link = tree / "etc" / "systemd" / "system" / unit
        link.unlink(missing_ok=True)
        link.symlink_to("/dev/null")
    netns._run(sh, f"chroot {shlex.quote(str(tree))} update-initramfs -u -k all", "making the image's initrd")
    marker.write_text("made by goswarm machine.image\n")


def _kernel(sh, image: Path, state: Path) -> None:
    listing = netns._run(sh, f"debugfs -R 'ls -p /boot' {shlex.quote(str(image))}", "reading the image").stdout
    kernel, initrd = plan.kernel_paths(listing)
    for inside, outside in ((kernel, "vmlinuz"), (initrd, "initrd.img")):
        netns._run(sh, f"debugfs -R {shlex.quote(f'dump {inside} {state / outside}')} {shlex.quote(str(image))}",
                   f"copying {inside} out of the image")


def accel(sh, state: Path) -> str:
    """kvm when a guest boots on it here; the answer is kept until the host reboots."""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "tcg"
    boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    known = environment.cache_dir() / f"accel-{boot_id}"
    if known.is_file():
        return known.read_text().strip()
    console = state / "probe.log"
    argv = ["timeout", "10", "qemu-system-x86_64", "-accel", "kvm", "-m", "256", "-kernel", str(state / "vmlinuz"),
            "-append", "console=ttyS0 panic=-1", "-no-reboot", "-display", "none", "-serial", f"file:{console}"]
    sh.run(plan.shell(argv), hide=True, warn=True)
    found = plan.accel_from_probe(console.read_text(errors="replace") if console.is_file() else "")
    known.parent.mkdir(parents=True, exist_ok=True)
    known.write_text(found + "\n")
    return found


def seed(sh, name: str, state: Path, authorized_key: str, network_config: str) -> str:
    """The NoCloud seed disk (a FAT file system labelled CIDATA) in state/seed.img; returns the host key line."""
    q = shlex.quote
    host_key = state / "ssh_host_ed25519_key"
    netns._run(sh, f"ssh-keygen -q -t ed25519 -N '' -C {q(netns.PREFIX + name)} -f {q(str(host_key))}",
               "generating the host key")
    folder = state / "seed"
    folder.mkdir(mode=0o700)
    public = (state / "ssh_host_ed25519_key.pub").read_text()
    (folder / "user-data").write_text(plan.user_data(name, authorized_key, host_key.read_text(), public))
    (folder / "meta-data").write_text(plan.meta_data(name))
    (folder / "network-config").write_text(network_config)
    (state / "seed.img").unlink(missing_ok=True)  # mkfs.vfat -C makes a new file only
    for argv in plan.seed_commands(folder, state / "seed.img"):
        netns._run(sh, plan.shell(argv), "writing the seed")
    shutil.rmtree(folder)  # the host key stays in the seed image and state only, both 0700
    return netns.host_key_line(public)


def _add_tap(sh, tap: str) -> None:
    with netns._host_lock():
        netns._ensure_bridge(sh)
        if not Path(f"/sys/class/net/{tap}").exists():
            netns._run(sh, f"ip tuntap add dev {tap} mode tap", f"adding the tap link {tap}")
        netns._run(sh, f"ip link set {tap} master {netns.BRIDGE} up", f"attaching {tap} to {netns.BRIDGE}")


def boot(sh, extras: dict, state: Path) -> int:
    """Start the VM (its disk keeps what it had) and wait until its sshd answers."""
    _add_tap(sh, extras["tap"])
    (state / "qemu.pid").unlink(missing_ok=True)
    argv = plan.qemu_argv(extras["name"], state, extras["accel"], extras["tap"], extras["mac"])
    netns._run(sh, plan.shell(argv), f"starting QEMU for {extras['name']}")
    pid = netns._pidfile(state / "qemu.pid")
    started = time.monotonic()
    up = netns._wait(lambda: netns._port_open(extras["address"], 22), lambda: netns._program(pid) is not None,
                     BOOT_TIMEOUT)
    if not up:
        _kill(pid)
        raise PipelineError(f"VM {extras['name']} did not answer on {extras['address']}:22 within {BOOT_TIMEOUT}s "
                            f"({extras['accel']}): {netns.log_tail(state / 'console.log', 2)}")
    extras["boot_seconds"] = round(time.monotonic() - started, 1)
    return pid


def reserved_addresses() -> set:
    return {p.read_text().strip() for p in RESERVED.glob("*")} if RESERVED.is_dir() else set()


def reserve(sh, address: str, key: str) -> None:
    """Take `address` for the VM keyed `key`, unless a netns machine or another VM has it (netns' host lock)."""
    own = _reservation(key)
    with netns._host_lock():
        others = {p.read_text().strip() for p in RESERVED.glob("*") if p != own} if RESERVED.is_dir() else set()
        if address in netns.addresses_in_use(sh) | others:
            raise netns.AddressTaken(f"address {address} is taken by another machine on this host")
        RESERVED.mkdir(mode=0o755, exist_ok=True)
        own.write_text(address + "\n")


def free_address(used: set) -> str:
    """The highest free lab address: netns machines take the lowest, so the two rarely race for one."""
    free = [a for a in netns.host_range() if a not in used]
    if not free:
        raise PipelineError(f"no free address left in {netns.SUBNET}: remove a machine first")
    return free[-1]


def _reservation(key: str) -> Path:
    return RESERVED / plan.tap_name(key)


def create(sh, name: str, address: str, image: Path, state: Path, authorized_key: str) -> dict:
    check_supported()
    image = Path(image)
    if not image.is_file():
        raise PipelineError(f"--image {image}: no such file (make one with `goswarm machine.image -o FILE`)")
    # Link and MAC follow from the state folder: the same name in two projects is two VMs.
    extras = {"name": name, "address": address, "image": str(image.resolve()), "tap": plan.tap_name(str(state)),
              "mac": plan.mac(str(state)), "pid": 0}
    if sh.dry:
        print(f"[dry] would boot VM {name} from {image} at {address}")
        return extras
    state.mkdir(mode=0o700, parents=True, exist_ok=True)
    reserve(sh, address, str(state))
    try:
        _kernel(sh, image, state)
        extras["accel"] = accel(sh, state)
        extras["host_key"] = seed(sh, name, state, authorized_key,
                                  plan.network_config(address, netns.GATEWAY, extras["mac"]))
        netns._run(sh, plan.shell(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", extras["image"],
                                   str(state / "disk.qcow2")]), "making the VM's disk")
        extras["pid"] = boot(sh, extras, state)
    except BaseException:
        destroy(sh, extras, state)
        raise
    return extras


def running(extras: dict) -> bool:
    return netns._is(extras.get("pid"), "qemu-system-x86_64", f"-name {extras['name']} ")


def _kill(pid: int) -> None:
    if pid and netns._is(pid, "qemu-system-x86_64", "-name "):
        os.kill(pid, signal.SIGTERM)
        if netns._wait_gone([pid], 15):
            netns._kill_and_wait([pid], 5)


def stop(sh, extras: dict, state: Path, graceful) -> None:
    """A clean shutdown from inside when it answers (`graceful` runs poweroff over SSH), then power off."""
    pid = extras.get("pid")
    if running(extras):
        try:
            graceful()
        except PipelineError:
            pass  # it is switched off below either way
        if netns._wait_gone([pid], 60):
            _kill(pid)


def destroy(sh, extras: dict, state: Path) -> None:
    if sh.dry:
        print(f"[dry] would stop VM {extras['name']} and remove its disk and tap link")
        return
    _kill(extras.get("pid") or netns._pidfile(state / "qemu.pid"))
    tap = extras["tap"]
    if Path(f"/sys/class/net/{tap}").exists():
        netns._try(sh, f"ip link del {tap}")
    _reservation(str(state)).unlink(missing_ok=True)
    shutil.rmtree(state, ignore_errors=True)
    with netns._host_lock():
        if not any(Path("/sys/class/net").glob("gt-*")):  # another VM keeps the bridge
            netns._remove_bridge_if_unused(sh)
