"""A QEMU VM under software emulation, as the blog's docker-machine VM: an image made by `machine.image`, booted
with a NoCloud seed, Docker provisioned over SSH, then the blog's flow on it (swarm.init on its address, the
overlay network, redeploy, curl).

The image is made beside the other tests (debootstrap and mkfs: mostly waiting on the apt proxy and the disk).
The VM's tests run alone (`exclusive`): its two emulated CPUs take this machine's two cores while it boots and
installs Docker, which would starve the tests beside it, and theirs would slow its boot past any bound."""
import json
import subprocess
from pathlib import Path

import pytest

from helpers import Project, assert_one_line_error, free_port, http_get, wait_for

NAME = "swarm-manager-1"  # the blog's; the tap link and MAC follow from the test's own machines folder
SLOW = 1800  # a boot or an install under software emulation, on a 2-core host that other tests keep busy


@pytest.fixture(scope="module")
def project(tmp_path_factory, engine):
    tmp = tmp_path_factory.mktemp("qemu")
    project = Project(tmp, engine)
    project.machines_dir = tmp / "machines"
    project.extra_env = {"MACHINES_DIR": str(project.machines_dir)}
    project.config["swarm"]["manager"] = NAME
    # A task's first start under emulation (the image loaded, container, health checks) outlasts the default 60 s.
    project.config["deploy"]["timeout"] = 600
    project.image = tmp / "debian.img"
    try:
        yield project
    finally:
        project.image.unlink(missing_ok=True)  # ~0.9 GB


@pytest.fixture(scope="module")
def vm(project):
    project.created = project.inv("machine.create", NAME, "--driver", "qemu", "--image", str(project.image),
                                  timeout=SLOW)
    try:
        yield project
    finally:
        removed = project.inv("machine.rm", NAME, check=False)
    assert removed.returncode == 0, removed.output
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert not [line for line in links.splitlines() if "gt-" in line and str(project.machines_dir) in line]
    assert not (project.machines_dir / NAME).exists()


def qemu_pid(project) -> int:
    return json.loads((project.machines_dir / NAME / "machine.json").read_text())["extras"]["pid"]


def test_machine_image_makes_a_debian_image_with_a_kernel_and_cloud_init(project):
    out = project.inv("machine.image", "-o", str(project.image), timeout=SLOW).output
    assert f"image {project.image}: Debian bookworm" in out, out
    with open(project.image, "rb") as disk:  # a raw ext4 file system: its superblock's magic at 1080
        disk.seek(1080)
        assert disk.read(2) == b"\x53\xef"
    written = project.image.stat().st_mtime_ns
    again = project.inv("machine.image", "-o", str(project.image), check=False)
    assert_one_line_error(again, f"-o {project.image}: the file exists, and machine.image never overwrites one")
    assert project.image.stat().st_mtime_ns == written


@pytest.mark.exclusive
def test_the_blog_flow_on_a_vm(vm):
    assert f"machine {NAME}: created (qemu, root@10.77.0." in vm.created.output
    cmdline = Path(f"/proc/{qemu_pid(vm)}/cmdline").read_bytes().split(b"\0")
    assert b"qemu-system-x86_64" in cmdline[0] and b"tcg,thread=multi" in cmdline  # KVM hangs here: emulation
    address = vm.inv("machine.ip", NAME).output.strip()
    assert vm.inv("machine.env", NAME).output.startswith(f"export DOCKER_HOST=ssh://root@{address}\n")
    kernel = vm.inv("machine.ssh", NAME, "--", "uname -r; hostname; systemd-detect-virt").output.split()
    assert kernel[0].endswith("-amd64") and kernel[1] == NAME and kernel[2] == "qemu"

    # The lab's apt proxy, as lab.up --bare starts it: once a machine of ours is on the bridge, since the proxy
    # goes with the bridge (and so with the last machine of any test on this host)
    from invoke import Context

    from goswarm.io import aptproxy
    from goswarm.io.shell import Shell

    proxy = aptproxy.ensure(Shell(Context().run))
    provisioned = vm.inv("machine.provision", NAME, "--install", "--apt-proxy", proxy,
                         "--insecure-registry", "10.77.0.0/24", timeout=SLOW)
    assert f"{NAME}: Docker 20.10" in provisioned.output, provisioned.output
    # Debian's kernel enforces AppArmor: the engine starts no container without its parser
    assert "apparmor" in vm.inv("machine.ssh", NAME, "--", "dpkg -l apparmor | tail -1").output
    vm.inv("swarm.init", "--advertise-addr", address)
    info = vm.inv("machine.ssh", NAME, "--", "docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.NodeAddr}}'; "
                                          "docker network ls --filter driver=overlay --format '{{.Name}}'").output
    assert f"active {address}" in info and vm.config["swarm"]["network"] in info, info
    port = free_port()
    name = vm.add_service("accountservice", port=6767, publish=port, replicas=1, smoke="/accounts/10000")
    result = vm.inv("redeploy", "--service", name, timeout=SLOW)
    assert "ship" in result.output, result.output
    body = wait_for(lambda: http_get(f"http://{address}:{port}/accounts/10000"), 60, "the account from the VM")
    assert body == '{"id":"10000","name":"Person_0"}\n'


@pytest.mark.exclusive
def test_stop_and_start_keep_the_vm_s_disk(vm):
    assert f"{NAME}: stopped" in vm.inv("machine.stop", NAME, timeout=SLOW).output
    assert_one_line_error(vm.inv("machine.ssh", NAME, "--", "true", check=False))
    assert f"{NAME}: started" in vm.inv("machine.start", NAME, timeout=SLOW).output
    assert "docker.io" in vm.inv("machine.ssh", NAME, "--", "dpkg -S /usr/sbin/dockerd").output
    assert "running, no change" in vm.inv("machine.start", NAME).output
