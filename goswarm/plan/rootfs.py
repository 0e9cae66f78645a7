"""Bare hosts, the pure part: a cached Debian root filesystem, and each machine an overlay on it with its own
network, PID and mount namespaces, sshd its only service. io/rootfs.py acts on the host with these.
"""
import hashlib
import re
import shlex
from pathlib import Path

SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
# What a fresh cloud host has before anyone provisions it: sshd and the basic tools, no Docker.
PACKAGES = ("openssh-server", "iproute2", "iputils-ping", "procps", "ca-certificates")
# Every bare machine's files sit below its netns data root, which netns.destroy removes.
ROOT, UPPER, WORK, DOCKER = "root", "upper", "work", "docker"


def cache_name(suite: str, packages) -> str:
    """The cached tree's folder: a new package list is a new tree, never a stale one."""
    digest = hashlib.sha1(",".join(sorted(packages)).encode()).hexdigest()[:8]
    return f"rootfs-{suite}-{digest}"


def mirror_from_sources(texts) -> str:
    """The Debian archive this machine's own apt uses (deb822 `URIs:` or one-line `deb URL`); else the default."""
    for text in texts:
        for line in text.splitlines():
            found = re.match(r"\s*(?:URIs:\s*|deb\s+(?:\[[^\]]*\]\s+)?)(https?://\S+/debian)/?\s*", line)
            if found and "security" not in found.group(1):
                return found.group(1)
    return DEFAULT_MIRROR


def debootstrap_argv(target: Path, mirror: str, packages=PACKAGES, suite: str = SUITE) -> list:
    return ["debootstrap", "--variant=minbase", f"--include={','.join(packages)}", suite, str(target), mirror]


def boot_script(lower: Path, data_root: Path) -> str:
    """Run as PID 1 of the machine's new PID and mount namespaces: mount its overlay root, give it its own
    /proc, /sys, /run and a real folder for Docker's data (overlay2 cannot sit on overlayfs), make the overlay its
    root, then exec sshd."""
    q = shlex.quote
    root, upper, work, docker = (q(str(data_root / d)) for d in (ROOT, UPPER, WORK, DOCKER))
    lines = [
        "set -e",
        f"mount -t overlay overlay -o lowerdir={q(str(lower))},upperdir={upper},workdir={work} {root}",
        f"mount -t proc proc {root}/proc",
        f"mount -t sysfs sysfs {root}/sys",
        f"mount --rbind /sys/fs/cgroup {root}/sys/fs/cgroup",
        f"mount --rbind /dev {root}/dev",
        f"mount -t tmpfs -o mode=755 tmpfs {root}/run",
        f"mkdir -p {root}/run/sshd {root}/var/lib/docker",
        f"mount --bind {docker} {root}/var/lib/docker",
        # pivot_root, not chroot: the overlay must become the namespace's root, or `docker exec` (and so health
        # checks) would enter a container's mount namespace and land in the machine's root instead of its own.
        f"cd {root}",
        "pivot_root . .",
        "umount -l .",
        "cd /",
        "exec /usr/sbin/sshd -D -e",
    ]
    return "\n".join(lines) + "\n"


def sshd_settings() -> str:
    """Key only, as a cloud image's sshd; it listens on every address of the machine's own namespace."""
    return ("PermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            "UsePAM no\nX11Forwarding no\nPrintMotd no\nHostKey /etc/ssh/ssh_host_ed25519_key\n")


def daemon_seed(name: str, prefix: str) -> dict:
    """The machine's daemon.json before provisioning: its containers' cgroups under a name netns.destroy finds."""
    return {"cgroup-parent": f"/{prefix}{name}"}
