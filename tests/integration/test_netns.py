"""tasks.netns against the real kernel: a namespace, an engine and an sshd per machine, reached over SSH."""
import os
import subprocess
from pathlib import Path

import invoke
import pytest

from goswarm.errors import PipelineError
from goswarm.io import netns
from goswarm.io.shell import Shell
from helpers import wait_for

PID = os.getpid() % 1000


def alive(pid: int) -> bool:
    """Zombies waiting for init to reap them count as gone."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes() != b""
    except OSError:
        return False


def processes_naming(text: str) -> list:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid() and alive(int(entry)):
            try:
                if text.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    found.append(int(entry))
            except OSError:
                pass
    return found


def shell(command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, shell=True, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)


@pytest.fixture
def sh():
    try:
        netns.check_supported()
    except PipelineError as e:
        pytest.fail(f"this host cannot run netns machines: {e}")
    return Shell(invoke.Context().run)


def keypair(directory: Path, name: str) -> Path:
    key = directory / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key


@pytest.fixture
def machines(sh, tmp_path):
    """make(name) creates a machine; all of them are destroyed afterwards, also when the test failed."""
    key = keypair(tmp_path, "client")
    made = []

    def make(name):
        state = tmp_path / name
        made.append(({"netns": f"goswarm-{name}"}, state))  # destroyed even if create failed half-way
        for _ in range(5):  # labs made beside this test may take the address between our look and create's lock
            address = netns.allocate_address(netns.addresses_in_use(sh))
            try:
                made[-1] = (netns.create(sh, name, address, state, key.with_suffix(".pub").read_text()), state)
                return made[-1]
            except netns.AddressTaken:
                continue
        pytest.fail("five addresses in a row were taken by machines made beside this test")

    make.key = key
    try:
        yield make
    finally:
        failures = []
        for extras, state in reversed(made):
            try:
                netns.destroy(sh, extras, state)
            except PipelineError as e:
                failures.append(str(e))
        assert not failures, failures


@pytest.fixture
def machine(machines):
    return machines(f"t{PID}")


def ssh(extras, key: Path, command: str, known_hosts: Path) -> subprocess.CompletedProcess:
    known_hosts.write_text(f"{extras['address']} {extras['host_key']}\n")
    return subprocess.run(
        ["ssh", "-F", "/dev/null", "-i", str(key), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
         "-o", f"UserKnownHostsFile={known_hosts}", "-o", "GlobalKnownHostsFile=/dev/null",
         "-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=10", f"root@{extras['address']}", command],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_a_machine_is_reached_over_ssh_and_runs_its_own_engine(machines, machine, tmp_path, engine):
    extras, _ = machine
    name = extras["netns"].removeprefix("goswarm-")
    known = tmp_path / "known_hosts"
    info = ssh(extras, machines.key, "docker info --format '{{.Name}} {{.ID}}'", known)
    assert info.returncode == 0, info.stderr
    hostname, engine_id = info.stdout.split()
    assert hostname == name
    assert engine_id != engine.info()["ID"]
    for rule in (netns.FORWARD_RULE, netns.ISOLATE_RULE):
        assert shell(f"iptables -C {rule}").returncode == 0, rule

    stranger = keypair(tmp_path, "stranger")
    refused = ssh(extras, stranger, "true", known)
    assert refused.returncode == 255 and "Permission denied" in refused.stderr

    other_host = keypair(tmp_path, "other_host").with_suffix(".pub").read_text().split()
    spoofed = ssh({**extras, "host_key": " ".join(other_host[:2])}, machines.key, "true", known)
    assert spoofed.returncode == 255 and "Host key verification failed" in spoofed.stderr


def test_an_engine_that_was_killed_starts_again(sh, machines, machine, tmp_path):
    extras, state = machine
    known = tmp_path / "known_hosts"
    first = extras["pids"]["dockerd"]
    assert netns.engine_running(extras)

    netns.stop_engine(sh, extras)
    assert not netns.engine_running(extras) and not alive(first)
    assert ssh(extras, machines.key, "docker info", known).returncode != 0

    pid = netns.start_engine(sh, extras, state)
    assert pid != first and netns.engine_running(extras) and extras["pids"]["dockerd"] == pid
    assert ssh(extras, machines.key, "docker info --format '{{.ID}}'", known).returncode == 0


SLEEPER = """package main

import "time"

func main() { time.Sleep(time.Hour) }
"""


def run_a_container(extras, directory: Path) -> int:
    """A scratch container kept alive by the machine's engine; the pid of its process."""
    directory.mkdir()
    (directory / "main.go").write_text(SLEEPER)
    (directory / "Dockerfile").write_text('FROM scratch\nCOPY sleeper /sleeper\nENTRYPOINT ["/sleeper"]\n')
    built = shell(f"cd {directory} && CGO_ENABLED=0 GO111MODULE=off go build -o sleeper main.go")
    assert built.returncode == 0, built.stderr
    docker = f"DOCKER_BUILDKIT=0 docker -H unix://{extras['socket']}"
    for command in (f"{docker} build -q -t sleeper {directory}", f"{docker} run -d --restart always sleeper"):
        result = shell(command)
        assert result.returncode == 0, result.stderr
    pid = int(shell(f"{docker} inspect -f '{{{{.State.Pid}}}}' {result.stdout.strip()}").stdout)
    assert alive(pid)
    return pid


def bridge_up_exactly_while_machines_exist() -> bool:
    """Other tests make and remove machines meanwhile: the host lock keeps them still while we look."""
    with netns._host_lock():
        machines_left = bool(netns.netns_names(shell("ip netns list").stdout))
        up = [Path(f"/sys/class/net/{netns.BRIDGE}").exists()] + [
            shell(f"iptables -C {rule}").returncode == 0 for rule in (netns.FORWARD_RULE, netns.ISOLATE_RULE)]
    return up == [machines_left] * 3


def test_destroy_removes_everything_and_can_run_twice(sh, machine, tmp_path):
    extras, state = machine
    container = run_a_container(extras, tmp_path / "sleeper")
    netns.destroy(sh, extras, state)

    assert extras["netns"] not in shell("ip netns list").stdout
    assert shell(f"ip link show {extras['veth']}").returncode != 0
    assert not any(alive(pid) for pid in (*extras["pids"].values(), container))
    assert not list(Path("/sys/fs/cgroup").glob(f"*/{extras['netns']}"))
    assert not [line for line in Path("/proc/self/mountinfo").read_text().splitlines()
                if f" {extras['data_root']}" in line or f" {Path(extras['socket']).parent}/" in line]
    assert processes_naming(str(Path(extras["socket"]).parent) + "/") == []  # containerd and shims too
    for path in (extras["data_root"], extras["exec_root"], state):
        assert not Path(path).exists()
    wait_for(bridge_up_exactly_while_machines_exist, 30, "the bridge and its iptables rules to be up exactly "
             "while a netns machine exists (another test's create or destroy may be under way)")

    netns.destroy(sh, extras, state)


def test_a_failure_part_way_undoes_what_was_made(sh, tmp_path, monkeypatch):
    monkeypatch.setattr(netns, "SSHD", "/bin/false")
    name = f"t{PID}f"
    extras = netns.planned(name, netns.allocate_address(netns.addresses_in_use(sh)))
    key = keypair(tmp_path, "client").with_suffix(".pub").read_text()
    try:
        with pytest.raises(PipelineError) as failed:
            netns.create(sh, name, extras["address"], tmp_path / name, key)
        assert "sshd of" in str(failed.value) and "\n" not in str(failed.value)
        assert extras["netns"] not in shell("ip netns list").stdout
        assert processes_naming(f"/run/goswarm-{name}/") == []
        assert not Path(extras["data_root"]).exists() and not (tmp_path / name).exists()
    finally:
        netns.destroy(sh, extras, tmp_path / name)


def test_dry_run_creates_nothing(tmp_path, capsys):
    dry = Shell(invoke.Context(invoke.Config(overrides={"run": {"dry": True}})).run, dry=True)
    extras = netns.create(dry, f"t{PID}d", "10.77.0.250", tmp_path / "d", "ssh-ed25519 AAAA x")
    assert extras["netns"] == f"goswarm-t{PID}d" and "[dry] would create" in capsys.readouterr().out
    assert not Path(extras["data_root"]).exists() and not (tmp_path / "d").exists()


def test_two_machines_form_a_swarm_over_the_bridge(machines):
    manager, _ = machines(f"t{PID}a")
    worker, _ = machines(f"t{PID}b")

    def docker(extras, args):
        result = shell(f"docker -H unix://{extras['socket']} {args}")
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    docker(manager, f"swarm init --advertise-addr {manager['address']}")
    token = docker(manager, "swarm join-token -q worker")
    docker(worker, f"swarm join --token {token} {manager['address']}:2377")
    ready = lambda: docker(manager, "node ls --format '{{.Hostname}} {{.Status}}'").splitlines()  # noqa: E731
    nodes = wait_for(lambda: sorted(ready()) if all(n.endswith(" Ready") for n in ready()) and len(ready()) == 2
                     else None, 30, "both nodes to be Ready")
    assert nodes == [f"t{PID}a Ready", f"t{PID}b Ready"]
