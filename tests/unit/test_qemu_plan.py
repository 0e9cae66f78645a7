"""plan/qemu.py: the image, the NoCloud seed and the QEMU command line of a VM, without a VM."""
import json
from pathlib import Path

import pytest

from goswarm.errors import PipelineError
from goswarm.plan import qemu

# `debugfs -R 'ls -p /boot' IMAGE` on an image made by machine.image
BOOT_LISTING = """/2/40755/0/0/./
/2/40755/0/0/../
/13/100644/0/0/config-6.1.0-37-amd64/283882/
/14/100644/0/0/System.map-6.1.0-37-amd64/83/
/15/100644/0/0/vmlinuz-6.1.0-37-amd64/8192800/
/16/100644/0/0/initrd.img-6.1.0-37-amd64/30712843/
"""


def test_the_kernel_and_initrd_are_found_in_the_image():
    assert qemu.kernel_paths(BOOT_LISTING) == ("/boot/vmlinuz-6.1.0-37-amd64", "/boot/initrd.img-6.1.0-37-amd64")
    two = BOOT_LISTING + "/17/100644/0/0/vmlinuz-6.1.0-38-amd64/1/\n/18/100644/0/0/initrd.img-6.1.0-38-amd64/1/\n"
    assert qemu.kernel_paths(two)[0] == "/boot/vmlinuz-6.1.0-38-amd64"
    with pytest.raises(PipelineError, match="no kernel in /boot"):
        qemu.kernel_paths("/2/40755/0/0/./\n")
    with pytest.raises(PipelineError, match="no initrd for kernel 6.1.0-37-amd64"):
        qemu.kernel_paths(BOOT_LISTING.replace("initrd.img", "other"))


def test_kvm_only_where_a_guest_printed_its_first_lines():
    assert qemu.accel_from_probe("[    0.000000] Linux version 6.1.0-37-amd64 ...") == "kvm"
    assert qemu.accel_from_probe("") == "tcg"  # the guest hung on KVM: nothing reached the console


def test_names_on_the_link_are_stable_and_short():
    assert qemu.mac("swarm-manager-1") == qemu.mac("swarm-manager-1") != qemu.mac("swarm-manager-2")
    assert qemu.mac("a").startswith("52:54:00:") and len(qemu.mac("a")) == 17
    assert len(qemu.tap_name("/a/long/machines/dir/swarm-manager-1/host")) <= 15
    assert qemu.tap_name("/p1/m/host") != qemu.tap_name("/p2/m/host")


def test_the_seed_gives_hostname_key_host_key_and_address():
    user = qemu.user_data("swarm-manager-1", "ssh-ed25519 AAAA me\n", "PRIVATE\n", "ssh-ed25519 HOST x\n")
    assert user.startswith("#cloud-config\n")
    config = json.loads(user.split("\n", 1)[1])
    assert config["hostname"] == "swarm-manager-1"
    assert config["users"] == [{"name": "root", "ssh_authorized_keys": ["ssh-ed25519 AAAA me"]}]
    assert config["ssh_keys"] == {"ed25519_private": "PRIVATE\n", "ed25519_public": "ssh-ed25519 HOST x"}
    assert config["ssh_genkeytypes"] == [] and config["ssh_pwauth"] is False
    net = json.loads(qemu.network_config("10.77.0.9", "10.77.0.1", "52:54:00:01:02:03"))
    assert net["ethernets"]["eth0"] == {"match": {"macaddress": "52:54:00:01:02:03"},
                                        "addresses": ["10.77.0.9/24"], "gateway4": "10.77.0.1"}
    assert "instance-id: goswarm-swarm-manager-1" in qemu.meta_data("swarm-manager-1")


def test_the_vm_command_line():
    argv = qemu.qemu_argv("vm1", Path("/m/vm1/host"), "tcg", "gt-vm1-abc", "52:54:00:01:02:03")
    joined = " ".join(argv)
    assert argv[0] == "qemu-system-x86_64" and "-accel tcg,thread=multi" in joined and "-cpu max" in joined
    assert "-kernel /m/vm1/host/vmlinuz -initrd /m/vm1/host/initrd.img" in joined
    assert "-drive file=/m/vm1/host/disk.qcow2,if=virtio,format=qcow2" in joined
    assert "file=/m/vm1/host/seed.img,if=virtio,format=raw,readonly=on" in joined
    assert "tap,id=n0,ifname=gt-vm1-abc,script=no,downscript=no" in joined
    assert "-daemonize -pidfile /m/vm1/host/qemu.pid" in joined
    assert "-accel kvm" in " ".join(qemu.qemu_argv("vm1", Path("/s"), "kvm", "t", "m"))
    assert argv[argv.index("-append") + 1] == qemu.CMDLINE


def test_the_image_is_made_from_a_folder_without_mounting():
    assert qemu.mkfs_argv(Path("/t"), Path("/o.img")) == ["mkfs.ext4", "-q", "-F", "-L", "goswarm-root", "-d", "/t",
                                                          "/o.img", "4G"]
    assert qemu.packages(True)[-2:] == ("docker.io", "apparmor") and "docker.io" not in qemu.packages(False)
    assert "cloud-init" in qemu.PACKAGES and "linux-image-amd64" in qemu.PACKAGES


def test_the_seed_is_a_fat_volume_labelled_cidata_made_without_mounting(tmp_path):
    import subprocess

    for name in qemu.SEED_FILES:
        (tmp_path / name).write_text(f"{name}\n")
    image = tmp_path / "seed.img"
    for argv in qemu.seed_commands(tmp_path, image):
        subprocess.run(argv, check=True, capture_output=True)
    listing = subprocess.run(["mdir", "-i", str(image), "-b", "::"], capture_output=True, text=True).stdout
    assert sorted(line.strip("/: \n").split("/")[-1] for line in listing.splitlines() if line.strip()) == \
        sorted(qemu.SEED_FILES)
    label = subprocess.run(["blkid", "-o", "value", "-s", "LABEL", str(image)], capture_output=True, text=True)
    assert label.stdout.strip() == "CIDATA"
