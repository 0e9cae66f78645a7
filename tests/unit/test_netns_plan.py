"""plan/netns.py: every name, address, path, config file and command line of a netns machine follows from
its name and address, and what the host prints about them is read without a host."""
from pathlib import Path

import pytest

from goswarm.errors import PipelineError
from goswarm.plan import netns


def test_allocate_address_takes_the_lowest_free_one():
    assert netns.allocate_address(set()) == "10.77.0.2"
    assert netns.allocate_address({"10.77.0.2", "10.77.0.4", "192.0.2.9"}) == "10.77.0.3"
    every = {f"10.77.0.{i}" for i in range(2, 255)}
    assert netns.allocate_address(every - {"10.77.0.254"}) == "10.77.0.254"
    with pytest.raises(PipelineError, match="no free address"):
        netns.allocate_address(every)


def test_the_host_range_is_the_subnet_without_the_bridge():
    hosts = netns.host_range()
    assert (hosts[0], hosts[-1], len(hosts)) == ("10.77.0.2", "10.77.0.254", 253)
    assert netns.GATEWAY not in hosts


@pytest.mark.parametrize("address", ["10.77.0.1", "10.77.0.0", "10.77.0.255", "10.77.1.2", "192.0.2.2", ""])
def test_an_address_outside_the_host_range_is_refused(address):
    with pytest.raises(PipelineError, match="is not one of 10.77.0.0/24"):
        netns.check_address(address)
    assert netns.check_address("10.77.0.2") == "10.77.0.2"


@pytest.mark.parametrize("name", ["", "-a", "A", "a_b", "a" * 22, "a/b", "a b"])
def test_a_name_that_could_escape_its_paths_is_refused(name):
    with pytest.raises(PipelineError, match="invalid netns machine name"):
        netns.check_name(name)


def test_every_name_and_path_follows_from_the_machine_name():
    extras = netns.planned("web-1", "10.77.0.9")
    assert extras["netns"] == "goswarm-web-1" and len(extras["veth"]) <= 15
    assert netns.veth_name("abcdefgh-1") != netns.veth_name("abcdefgh-2")
    config = netns.sshd_config(extras, Path("/s"))
    for line in ("ListenAddress 10.77.0.9", "PermitRootLogin prohibit-password", "PasswordAuthentication no",
                 "AllowUsers root", "SetEnv DOCKER_HOST=unix:///run/goswarm-web-1/docker.sock"):
        assert line in config.splitlines()
    assert "AcceptEnv" not in config
    argv = netns.dockerd_argv(extras, Path("/s"))
    assert argv[argv.index("--cgroup-parent") + 1] == "/goswarm-web-1"
    assert netns.daemon_config(Path("/s"), netns.docker_major("Docker version 20.10.24+dfsg1, build 5d6db84")) \
        == {"deprecated-key-path": "/s/key.json"}
    assert netns.daemon_config(Path("/s"), 27) == {}


def test_the_paths_of_a_machine():
    extras = netns.planned("web-1", "10.77.0.9")
    assert extras == {"netns": "goswarm-web-1", "veth": netns.veth_name("web-1"), "address": "10.77.0.9",
                      "socket": "/run/goswarm-web-1/docker.sock", "data_root": "/var/lib/goswarm/web-1",
                      "exec_root": "/run/goswarm-web-1/exec", "pids": {"dockerd": 0, "sshd": 0}, "host_key": ""}
    assert netns.netns_file("web-1") == Path("/run/netns/goswarm-web-1")
    assert netns.uts_file("web-1") == Path("/run/goswarm-web-1/uts")


def test_a_link_name_fits_the_kernels_15_characters_for_the_longest_machine_name():
    longest = "a" * 21
    netns.check_name(longest)
    assert len(netns.veth_name(longest)) <= 15 and netns.veth_name(longest) == netns.veth_name(longest)


def test_the_engine_and_sshd_of_a_machine_use_its_own_paths_only():
    extras = netns.planned("web-1", "10.77.0.9")
    argv = netns.dockerd_argv(extras, Path("/s"))

    def option(flag):
        return argv[argv.index(flag) + 1]

    assert option("-H") == "unix:///run/goswarm-web-1/docker.sock"
    assert (option("--data-root"), option("--exec-root")) == ("/var/lib/goswarm/web-1", "/run/goswarm-web-1/exec")
    assert option("--containerd-namespace") == "goswarm-web-1" and option("--insecure-registry") == netns.SUBNET
    assert "--iptables=false" in argv and option("--bridge") == "none"
    config = netns.sshd_config(extras, Path("/s")).splitlines()
    assert "HostKey /s/ssh_host_ed25519_key" in config and "AuthorizedKeysFile /s/authorized_keys" in config


def test_the_machine_name_comes_from_the_record_and_is_checked_again():
    assert netns.name_of(netns.planned("web-1", "10.77.0.9")) == "web-1"
    with pytest.raises(PipelineError, match="not a netns machine record: netns is 'other'"):
        netns.name_of({"netns": "other"})
    with pytest.raises(PipelineError, match="not a netns machine record"):
        netns.name_of({})
    with pytest.raises(PipelineError, match="invalid netns machine name '../etc'"):
        netns.name_of({"netns": "goswarm-../etc"})


@pytest.mark.parametrize("printed, major", [
    ("Docker version 20.10.24+dfsg1, build 5d6db84", 20), ("Docker version 27.3.1, build ce12230", 27), ("", 0),
])
def test_docker_major(printed, major):
    assert netns.docker_major(printed) == major
    assert netns.daemon_config(Path("/s"), major) == ({"deprecated-key-path": "/s/key.json"} if major == 20 else {})


def test_a_key_line_with_a_second_line_is_refused():
    with pytest.raises(PipelineError, match="one OpenSSH public key line"):
        netns.authorized_keys("ssh-ed25519 AAAA a\nssh-ed25519 BBBB b")


@pytest.mark.parametrize("key", ["", "AAAA", "ssh-ed25519", 'command="sh" ssh-ed25519 AAAA x', "ssh-ed25519 AAAA\rx",
                                 None])
def test_anything_but_one_public_key_line_is_refused(key):
    with pytest.raises(PipelineError, match="one OpenSSH public key line"):
        netns.authorized_keys(key)


def test_a_public_key_line_is_written_as_one_line():
    assert netns.authorized_keys("  ssh-ed25519 AAAA me@laptop\n") == "ssh-ed25519 AAAA me@laptop\n"
    assert netns.authorized_keys("ecdsa-sha2-nistp256 AAAA") == "ecdsa-sha2-nistp256 AAAA\n"


def test_a_host_key_line_is_the_type_and_key_without_the_comment():
    assert netns.host_key_line("ssh-ed25519 AAAAC3Nz root@vm\n") == "ssh-ed25519 AAAAC3Nz"
    with pytest.raises(PipelineError, match="empty host public key"):
        netns.host_key_line("\n")


MOUNTINFO = """\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
600 22 0:50 / /run/goswarm-web-1/exec/netns rw shared:300 - tmpfs tmpfs rw
601 600 0:51 / /run/goswarm-web-1/exec/netns/a\\040b rw shared:301 - nsfs nsfs rw
602 22 0:52 / /var/lib/goswarm/web-1/overlay2/x/merged rw shared:302 - overlay overlay rw
603 22 0:53 / /run/goswarm-web-12/exec rw shared:303 - tmpfs tmpfs rw
604 22 0:54 / /var/lib/goswarm/web-1 rw shared:304 - tmpfs tmpfs rw
short line
"""


def test_mounts_under_a_machines_paths_come_deepest_first():
    roots = [Path("/run/goswarm-web-1"), Path("/var/lib/goswarm/web-1/")]
    assert netns.mounts_under(MOUNTINFO, roots) == [
        "/var/lib/goswarm/web-1/overlay2/x/merged",
        "/run/goswarm-web-1/exec/netns/a b",  # the kernel's \\040 is a space
        "/run/goswarm-web-1/exec/netns",
        "/var/lib/goswarm/web-1",
    ]  # and /run/goswarm-web-12, another machine's, is not among them


def test_our_namespaces_from_ip_netns_list():
    printed = "goswarm-lab-2 (id: 4)\ngoswarm-lab-1 (id: 3)\nsomeone-else (id: 0)\n\n"
    assert netns.netns_names(printed) == ["goswarm-lab-2", "goswarm-lab-1"]
    assert netns.netns_names("") == []


def test_missing_tools():
    assert netns.missing_tools(lambda tool: True) == []
    assert netns.missing_tools(lambda tool: tool not in ("iptables", netns.SSHD)) == ["iptables", netns.SSHD]


def test_log_tail_is_the_last_lines_on_one_line(tmp_path):
    log = tmp_path / "dockerd.log"
    log.write_text("".join(f"line {i}\n" for i in range(1, 8)))
    assert netns.log_tail(log) == "line 3 | line 4 | line 5 | line 6 | line 7"
    assert netns.log_tail(log, 1) == "line 7"
    assert netns.log_tail(tmp_path / "missing.log") == ""
