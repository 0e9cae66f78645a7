"""QEMU machines, the pure part: the disk image's contents, the cloud-init NoCloud seed, and the command line of
a VM on the lab bridge. io/qemu.py acts with these, as Lima and Multipass do: a cloud image, a seed, a VM."""
import hashlib
import json
import re
import shlex
from pathlib import Path

from goswarm.errors import PipelineError

# What a Debian cloud image has: a kernel, systemd, cloud-init (NoCloud), sshd and ifupdown for the seed's network.
# python3-cffi-backend: cloud-init's python3-cryptography needs it through a virtual package (…-api-min), which
# debootstrap's resolver does not follow.
PACKAGES = ("linux-image-amd64", "systemd-sysv", "cloud-init", "python3-cffi-backend", "openssh-server", "ifupdown",
            "iproute2", "procps", "ca-certificates", "sudo")
# Debian's kernel enforces AppArmor, and the engine starts no container without apparmor_parser (plan/provision)
WITH_DOCKER = ("docker.io", "apparmor")
IMAGE_SIZE = "4G"
MEMORY_MB = 1536
CMDLINE = "root=/dev/vda rw console=ttyS0 net.ifnames=0 quiet"
CLOUD_CFG = "datasource_list: [NoCloud, None]\n"
# An initrd with only what a VM on virtio needs (a few MB instead of ~36 MB): unpacked and run under emulation,
# Debian's "most modules" initrd costs seconds of boot. ext4's own dependencies are added by mkinitramfs.
INITRAMFS_CONF = "MODULES=list\n"
INITRAMFS_MODULES = "virtio_pci\nvirtio_blk\nvirtio_net\next4\n"
# cloud-init's init stages set the hostname, the users, the keys and the network, which is all a seed says here;
# its config and final stages (apt, packages, scripts) would only cost another Python start under emulation.
MASKED = ("cloud-config.service", "cloud-final.service", "apt-daily.timer", "apt-daily-upgrade.timer",
          "e2scrub_all.timer", "fstrim.timer")
FSTAB = "/dev/vda / ext4 defaults,errors=remount-ro 0 1\n"


def packages(with_docker: bool) -> tuple:
    return PACKAGES + (WITH_DOCKER if with_docker else ())


def mkfs_argv(tree: Path, image: Path, label: str = "goswarm-root", size: str = IMAGE_SIZE) -> list:
    """An ext4 file system made from a folder, with no mount and no loop device (mke2fs -d)."""
    return ["mkfs.ext4", "-q", "-F", "-L", label, "-d", str(tree), str(image), size]


def kernel_paths(listing: str) -> tuple:
    """(vmlinuz, initrd.img) under /boot, from debugfs's `ls -p /boot` output; the newest when there are more."""
    names = re.findall(r"/((?:vmlinuz|initrd\.img)-[^/\s]+)/", listing)
    kernels = sorted(n for n in names if n.startswith("vmlinuz-"))
    if not kernels:
        raise PipelineError("the image has no kernel in /boot: make it with `goswarm machine.image`")
    version = kernels[-1][len("vmlinuz-"):]
    if f"initrd.img-{version}" not in names:
        raise PipelineError(f"the image has no initrd for kernel {version} in /boot")
    return f"/boot/vmlinuz-{version}", f"/boot/initrd.img-{version}"


SEED_FILES = ("user-data", "meta-data", "network-config")


def seed_commands(folder: Path, image: Path) -> list:
    """A FAT file system labelled CIDATA holding the seed files: NoCloud looks for a vfat or iso9660 volume
    with that label (an ext4 one is ignored), and mtools writes it without mounting anything."""
    return [["mkfs.vfat", "-n", "CIDATA", "-C", str(image), "2048"],
            ["mcopy", "-i", str(image), *(str(folder / f) for f in SEED_FILES), "::"]]


def mac(key: str) -> str:
    """A stable address from the machine's key (QEMU's own 52:54:00 prefix)."""
    digest = hashlib.sha1(key.encode()).hexdigest()
    return "52:54:00:" + ":".join(digest[i:i + 2] for i in (0, 2, 4))


def tap_name(key: str) -> str:
    """The host side of the VM's link, within the kernel's 15 characters."""
    digest = hashlib.sha1(key.encode()).hexdigest()[:10]
    return f"gt-{digest}"


def user_data(name: str, authorized_key: str, host_private: str, host_public: str) -> str:
    """cloud-config: the hostname, root's key, and the host key we made (so we trust it without asking)."""
    config = {
        "hostname": name,
        "disable_root": False,
        "users": [{"name": "root", "ssh_authorized_keys": [authorized_key.strip()]}],
        "ssh_pwauth": False,
        "ssh_deletekeys": True,
        "ssh_genkeytypes": [],
        "ssh_keys": {"ed25519_private": host_private, "ed25519_public": host_public.strip()},
    }
    return "#cloud-config\n" + json.dumps(config, indent=2) + "\n"  # JSON is YAML


def meta_data(name: str) -> str:
    return f"instance-id: goswarm-{name}\nlocal-hostname: {name}\n"


def network_config(address: str, gateway: str, mac_address: str = None, outside_nic: bool = False) -> str:
    """eth0 on the machines' network; VirtualBox's VMs reach the outside through a second, NAT NIC (DHCP)."""
    eth0 = {"addresses": [f"{address}/24"]}
    if mac_address:
        eth0["match"] = {"macaddress": mac_address}
    if gateway:
        eth0["gateway4"] = gateway
    ethernets = {"eth0": eth0, **({"eth1": {"dhcp4": True}} if outside_nic else {})}
    return json.dumps({"version": 2, "ethernets": ethernets}, indent=2) + "\n"


def accel_from_probe(serial_output: str) -> str:
    """KVM only where a guest really runs on it: the probe kernel must reach its first console lines."""
    return "kvm" if "Linux version" in serial_output else "tcg"


def qemu_argv(name: str, state: Path, accel: str, tap: str, mac_address: str, memory: int = MEMORY_MB,
              cpus: int = 2) -> list:
    accel_arg = "tcg,thread=multi" if accel == "tcg" else accel
    return ["qemu-system-x86_64", "-name", name, "-machine", "q35", "-accel", accel_arg,
            "-m", str(memory), "-smp", str(cpus), "-cpu", "max" if accel == "tcg" else "host",
            "-kernel", str(state / "vmlinuz"), "-initrd", str(state / "initrd.img"), "-append", CMDLINE,
            "-drive", f"file={state / 'disk.qcow2'},if=virtio,format=qcow2",
            "-drive", f"file={state / 'seed.img'},if=virtio,format=raw,readonly=on",
            "-netdev", f"tap,id=n0,ifname={tap},script=no,downscript=no",
            "-device", f"virtio-net-pci,netdev=n0,mac={mac_address}",
            "-display", "none", "-serial", f"file:{state / 'console.log'}", "-monitor", "none",
            "-daemonize", "-pidfile", str(state / "qemu.pid")]


def shell(argv: list) -> str:
    return " ".join(shlex.quote(a) for a in argv)
