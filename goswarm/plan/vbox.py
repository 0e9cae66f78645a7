"""VirtualBox machines, the pure part: the VBoxManage command lines docker-machine's virtualbox driver ran, in
VBoxManage's documented syntax (VirtualBox manual, chapter "VBoxManage"), for a VM booted from a cloud image
with a NoCloud seed disk. io/drivers.py runs them where VBoxManage exists."""
import re
import shlex
from pathlib import Path

from goswarm.errors import PipelineError

VBOXMANAGE = "VBoxManage"
HOSTONLY = "vboxnet0"  # docker-machine's host-only network, 192.168.99.1/24
CONTROLLER = "SATA"


def _cmd(*args) -> str:
    return " ".join(shlex.quote(str(a)) for a in (VBOXMANAGE, *args))


def create_commands(name: str, image: Path, seed: Path, folder: Path, memory: int = 2048, cpus: int = 2) -> list:
    """createvm, disks from the image and the seed, the host-only NIC (VMs and host) and a NAT NIC (outside)."""
    disk, seed_disk = folder / f"{name}.vdi", folder / f"{name}-seed.vdi"
    return [
        _cmd("createvm", "--name", name, "--ostype", "Debian_64", "--register", "--basefolder", folder),
        _cmd("modifyvm", name, "--memory", memory, "--cpus", cpus, "--boot1", "disk",
             "--nic1", "hostonly", "--hostonlyadapter1", HOSTONLY, "--nic2", "nat",
             "--uart1", "0x3F8", "4", "--uartmode1", "file", folder / f"{name}-console.log"),
        _cmd("convertfromraw", image, disk, "--format", "VDI"),
        _cmd("convertfromraw", seed, seed_disk, "--format", "VDI"),
        _cmd("storagectl", name, "--name", CONTROLLER, "--add", "sata", "--controller", "IntelAhci",
             "--portcount", 2),
        _cmd("storageattach", name, "--storagectl", CONTROLLER, "--port", 0, "--device", 0, "--type", "hdd",
             "--medium", disk),
        _cmd("storageattach", name, "--storagectl", CONTROLLER, "--port", 1, "--device", 0, "--type", "hdd",
             "--medium", seed_disk),
        start_command(name),
    ]


def start_command(name: str) -> str:
    return _cmd("startvm", name, "--type", "headless")


def stop_command(name: str, hard: bool = False) -> str:
    return _cmd("controlvm", name, "poweroff" if hard else "acpipowerbutton")


def remove_command(name: str) -> str:
    return _cmd("unregistervm", name, "--delete")


def info_command(name: str) -> str:
    return _cmd("showvminfo", name, "--machinereadable")


def vm_state(machinereadable: str) -> str:
    """VMState from `showvminfo --machinereadable` (running, poweroff, saved, aborted ...)."""
    found = re.search(r'^VMState="([^"]+)"', machinereadable, re.M)
    if not found:
        raise PipelineError("VBoxManage showvminfo printed no VMState")
    return found.group(1)


MISSING = ("VBoxManage is not installed (VirtualBox is not packaged by Debian): install VirtualBox, or use "
           "--driver qemu --image FILE (see `goswarm machine.image`), which boots the same kind of VM with QEMU")
