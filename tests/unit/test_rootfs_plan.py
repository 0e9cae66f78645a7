"""plan/rootfs.py: the cached tree's name and source, and the init of a bare host."""
import subprocess
from pathlib import Path

from goswarm.plan import rootfs

DEB822 = """Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
"""
SECURITY = "Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\n"


def test_the_mirror_is_the_machine_s_own():
    assert rootfs.mirror_from_sources([SECURITY, DEB822]) == "http://deb.debian.org/debian"
    assert rootfs.mirror_from_sources(["deb [arch=amd64] http://ftp.fr.debian.org/debian/ bookworm main\n"]) \
        == "http://ftp.fr.debian.org/debian"
    assert rootfs.mirror_from_sources(["# nothing\n"]) == rootfs.DEFAULT_MIRROR


def test_a_new_package_list_is_a_new_tree():
    first = rootfs.cache_name("bookworm", ["a", "b"])
    assert first == rootfs.cache_name("bookworm", ["b", "a"])
    assert first != rootfs.cache_name("bookworm", ["a", "b", "c"])
    assert first.startswith("rootfs-bookworm-")


def test_debootstrap_makes_a_minimal_tree_with_sshd_and_no_docker():
    argv = rootfs.debootstrap_argv(Path("/c/t"), "http://deb.debian.org/debian")
    assert argv[:2] == ["debootstrap", "--variant=minbase"]
    assert "openssh-server" in argv[2] and "docker" not in argv[2]
    assert argv[3:] == ["bookworm", "/c/t", "http://deb.debian.org/debian"]


def test_the_init_mounts_its_own_root_and_runs_sshd_alone():
    script = rootfs.boot_script(Path("/cache/tree"), Path("/var/lib/goswarm/b1"))
    lines = script.splitlines()
    assert lines[0] == "set -e"
    assert lines[1] == ("mount -t overlay overlay -o lowerdir=/cache/tree,upperdir=/var/lib/goswarm/b1/upper,"
                        "workdir=/var/lib/goswarm/b1/work /var/lib/goswarm/b1/root")
    assert "mount --bind /var/lib/goswarm/b1/docker /var/lib/goswarm/b1/root/var/lib/docker" in lines
    assert lines[-5:] == ["cd /var/lib/goswarm/b1/root", "pivot_root . .", "umount -l .", "cd /",
                          "exec /usr/sbin/sshd -D -e"]
    assert subprocess.run(["sh", "-n", "-c", script]).returncode == 0  # it parses as shell
    assert rootfs.daemon_seed("b1", "goswarm-") == {"cgroup-parent": "/goswarm-b1"}
    assert "PasswordAuthentication no" in rootfs.sshd_settings()
