"""io/drivers.py and plan/vbox.py: the driver names, and the VBoxManage command lines of the virtualbox driver
checked against VBoxManage's documented syntax, without VirtualBox."""
import shlex
from pathlib import Path

import pytest

from goswarm.errors import PipelineError
from goswarm.io import drivers
from goswarm.plan import vbox

# VBoxManage's synopses (VirtualBox 7 manual, "VBoxManage"): each subcommand and the options it accepts.
DOCUMENTED = {
    "createvm": {"--name": 1, "--ostype": 1, "--register": 0, "--basefolder": 1},
    "modifyvm": {"--memory": 1, "--cpus": 1, "--boot1": 1, "--nic1": 1, "--hostonlyadapter1": 1, "--nic2": 1,
                 "--uart1": 2, "--uartmode1": 2},
    "convertfromraw": {"--format": 1},
    "storagectl": {"--name": 1, "--add": 1, "--controller": 1, "--portcount": 1},
    "storageattach": {"--storagectl": 1, "--port": 1, "--device": 1, "--type": 1, "--medium": 1},
    "startvm": {"--type": 1},
    "controlvm": {},
    "unregistervm": {"--delete": 0},
    "showvminfo": {"--machinereadable": 0},
}
POSITIONAL = {"createvm": 0, "modifyvm": 1, "convertfromraw": 2, "storagectl": 1, "storageattach": 1, "startvm": 1,
              "controlvm": 2, "unregistervm": 1, "showvminfo": 1}
VALUES = {"--ostype": {"Debian_64"}, "--nic1": {"hostonly"}, "--nic2": {"nat"}, "--add": {"sata"},
          "--controller": {"IntelAhci"}, "--type": {"hdd", "headless"}, "--format": {"VDI"}, "--boot1": {"disk"}}


def check_syntax(command: str) -> list:
    """Split a VBoxManage line and check it against the table: subcommand, positionals, options and arities."""
    argv = shlex.split(command)
    assert argv[0] == "VBoxManage" and argv[1] in DOCUMENTED, command
    sub, rest = argv[1], argv[2:]
    positional = POSITIONAL[sub]
    i, seen = 0, []
    while i < len(rest):
        word = rest[i]
        if word.startswith("--"):
            assert word in DOCUMENTED[sub], f"{sub} has no option {word}"
            arity = DOCUMENTED[sub][word]
            values = rest[i + 1:i + 1 + arity]
            assert len(values) == arity and not any(v.startswith("--") for v in values), command
            if word in VALUES:
                assert values[0] in VALUES[word], f"{word} {values[0]}"
            seen.append(word)
            i += 1 + arity
        else:
            positional -= 1
            i += 1
    assert positional == 0, f"{sub}: wrong number of positional arguments in {command}"
    return seen


def test_the_create_commands_are_valid_vboxmanage_lines():
    commands = vbox.create_commands("swarm-manager-1", Path("/img/debian.raw"), Path("/m/seed.img"), Path("/m"))
    subs = [shlex.split(c)[1] for c in commands]
    assert subs == ["createvm", "modifyvm", "convertfromraw", "convertfromraw", "storagectl", "storageattach",
                    "storageattach", "startvm"]
    for command in commands:
        check_syntax(command)
    assert "--register" in check_syntax(commands[0])
    assert shlex.split(commands[1])[2] == "swarm-manager-1"
    assert "--hostonlyadapter1 vboxnet0" in commands[1]
    assert commands[-1] == "VBoxManage startvm swarm-manager-1 --type headless"


def test_stop_remove_and_state():
    assert vbox.stop_command("vm1") == "VBoxManage controlvm vm1 acpipowerbutton"
    assert vbox.stop_command("vm1", hard=True) == "VBoxManage controlvm vm1 poweroff"
    for command in (vbox.stop_command("vm1"), vbox.remove_command("vm1"), vbox.info_command("vm1"),
                    vbox.start_command("vm1")):
        check_syntax(command)
    shown = 'name="vm1"\nVMState="running"\nVMStateChangeTime="2026-12-06T22:00:00.000000000"\n'
    assert vbox.vm_state(shown) == "running"
    with pytest.raises(PipelineError, match="no VMState"):
        vbox.vm_state("VBoxManage: error: Could not find a registered machine named 'vm1'")


def test_a_line_that_breaks_the_syntax_is_caught_by_the_check():
    with pytest.raises(AssertionError):
        check_syntax("VBoxManage startvm vm1 --type")  # an option without its value
    with pytest.raises(AssertionError):
        check_syntax("VBoxManage modifyvm --memory 1024")  # no VM named


def test_virtualbox_addresses_follow_docker_machine():
    assert drivers.vbox_address(set()) == "192.168.99.100"
    assert drivers.vbox_address({"192.168.99.100"}) == "192.168.99.101"
    with pytest.raises(PipelineError, match="no free address"):
        drivers.vbox_address({f"192.168.99.{i}" for i in range(100, 255)})


def test_the_error_without_vboxmanage_names_the_qemu_driver():
    assert "\n" not in vbox.MISSING and "--driver qemu" in vbox.MISSING


def test_drivers_by_name():
    names = ("ssh", "netns", "rootfs", "qemu", "virtualbox")
    assert [drivers.get(name).name for name in names] == list(names)
    with pytest.raises(PipelineError, match="unknown driver 'vmware'; drivers: ssh, netns, rootfs, qemu, virtualbox"):
        drivers.get("vmware")
