"""Bare hosts: a lab of Debian machines with their own root filesystem and no Docker, provisioned over SSH with
`machine.provision --install` by `lab.up --bare`, joined into a swarm, and running the sample."""
import subprocess
from pathlib import Path

import pytest

from helpers import SUFFIX, assert_one_line_error, free_port, http_get, lab_project, wait_for
from helpers import machine_records as records

PREFIX = f"bare{SUFFIX}"
MANAGER = f"{PREFIX}-1"
LONE = f"lone{SUFFIX}"


@pytest.fixture(scope="module")
def lab(tmp_path_factory, engine):
    project = lab_project(tmp_path_factory.mktemp("bare"), engine, PREFIX)
    project.pids = []
    try:
        project.up = project.inv("lab.up", "--bare", "--nodes", "3")
        project.pids = [m["extras"]["pids"]["init"] for m in records(project)]
        yield project
    finally:
        if (project.machines_dir / LONE).exists():
            project.inv("machine.rm", LONE, check=False)
        down = project.inv("lab.down", check=False)
        assert down.returncode == 0, down.output
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert f"goswarm-{PREFIX}" not in namespaces and f"goswarm-{LONE}" not in namespaces
    assert not list(Path("/var/lib/goswarm").glob(f"{PREFIX}-*"))
    assert not [pid for pid in project.pids if running(pid)]
    from goswarm.io import netns

    with netns._host_lock():  # no machine comes or goes on this host while both are read
        # The apt proxy goes with the lab bridge, that is with the last machine on this host: another test's
        # machines (a VM provisioning through the proxy, say) may keep both.
        assert Path(f"/sys/class/net/{netns.BRIDGE}").exists() or not proxy_listening()


def running(pid: int) -> bool:
    """A zombie that init has not reaped yet is no longer running."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def proxy_listening() -> bool:
    """A socket of this machine listening on the proxy's address (read from /proc: once the lab's bridge is
    gone, a connection to that address would leave this machine)."""
    from goswarm.io import aptproxy, netns

    local = "".join(f"{int(b):02X}" for b in reversed(netns.GATEWAY.split("."))) + f":{aptproxy.PORT:04X}"
    return any(line.split()[1] == local and line.split()[3] == "0A"
               for line in Path("/proc/net/tcp").read_text().splitlines()[1:])


def on(project, name: str, command: str) -> subprocess.CompletedProcess:
    return project.inv("machine.ssh", name, "--", command, check=False)


def test_lab_up_bare_installs_docker_over_ssh_and_forms_a_swarm(lab):
    up = lab.up.output
    for i in (1, 2, 3):
        assert f"machine {PREFIX}-{i}: created (rootfs, 10.77.0." in up or f"{PREFIX}-{i}: created" in up, up
        assert f"{PREFIX}-{i}: Docker 20.10" in up and "installed, downloaded" in up, up
    assert f"lab ready: target it with --manager {MANAGER}" in up
    nodes = on(lab, MANAGER, "docker node ls --format '{{.Hostname}} {{.Status}} {{.ManagerStatus}}'").stdout
    assert sorted(nodes.split("\n")[:3]) == sorted([f"{PREFIX}-1 Ready Leader", f"{PREFIX}-2 Ready ",
                                                    f"{PREFIX}-3 Ready "]), nodes
    # Each one is its own machine: its own root, its own processes, and Docker from Debian's package.
    ps = on(lab, f"{PREFIX}-2", "ps -e -o pid=,comm=").stdout.split()
    assert ps[:2] == ["1", "sshd"] and "dockerd" in ps and "containerd" in ps
    assert "docker.io" in on(lab, f"{PREFIX}-2", "dpkg -S /usr/sbin/dockerd").stdout
    assert on(lab, f"{PREFIX}-2", "cat /etc/hostname").stdout.strip() == f"{PREFIX}-2"
    assert "10.77.0.0/24" in on(lab, f"{PREFIX}-3", "cat /etc/docker/daemon.json").stdout
    assert not Path("/etc/hostname").read_text().strip() == f"{PREFIX}-2"

    again = lab.inv("lab.up", "--bare", "--nodes", "3")
    assert again.output.count("running, no change") >= 3, again.output


def test_the_sample_runs_on_the_bare_hosts(lab):
    port = free_port()
    name = lab.add_service("accountservice", port=6767, publish=port, replicas=3, smoke="/accounts/10000")
    result = lab.inv("redeploy", "--service", name)
    assert "ship" in result.output, result.output
    hosts = on(lab, MANAGER, f"docker service ps {name} --filter desired-state=running "
                             "--format '{{.Node}} {{.CurrentState}}'").stdout
    assert sorted(line.split()[0] for line in hosts.splitlines()) == [f"{PREFIX}-{i}" for i in (1, 2, 3)], hosts
    assert all(" Running " in f"{line} " for line in hosts.splitlines()), hosts
    for machine in records(lab):
        url = f"http://{machine['host']}:{port}/accounts/10000"
        assert wait_for(lambda url=url: http_get(url), 30, machine["name"]) == '{"id":"10000","name":"Person_0"}\n'


def test_provision_says_in_one_line_what_failed_and_installs_once(lab):
    created = lab.inv("machine.create", LONE, "--driver", "rootfs")
    assert f"machine {LONE}: created (rootfs, root@10.77.0." in created.output
    missing = on(lab, LONE, "command -v dockerd docker")
    assert missing.returncode != 0 and "dockerd" not in missing.stdout  # a bare host: no Docker
    assert_one_line_error(lab.inv("machine.provision", LONE, check=False),
                          "Docker is not installed; rerun with --install")
    assert_one_line_error(lab.inv("machine.provision", LONE, "--install", "--apt-proxy", "10.77.0.1", check=False),
                          "--apt-proxy '10.77.0.1': give it as http://HOST:PORT")
    closed = lab.inv("machine.provision", LONE, "--install", "--apt-proxy", "http://10.77.0.1:9", check=False)
    assert_one_line_error(closed, f"{LONE}: installing docker.io failed: E: ")
    from goswarm.io import aptproxy

    installed = lab.inv("machine.provision", LONE, "--install", "--apt-proxy", aptproxy.url(),
                        "--insecure-registry", "10.77.0.0/24,10.77.0.1:5000")
    assert f"{LONE}: Docker 20.10" in installed.output and "installed" in installed.output
    assert "10.77.0.1:5000" in on(lab, LONE, "docker info --format '{{json .RegistryConfig.IndexConfigs}}'").stdout
    assert "running, no change" in lab.inv("machine.provision", LONE, "--install").output
    mirrored = lab.inv("machine.provision", LONE, "--registry-mirror", "http://10.77.0.1:5001")
    assert "stop the Docker engine" in mirrored.output and "reconfigured" in mirrored.output
    assert "http://10.77.0.1:5001" in on(lab, LONE, "docker info --format '{{json .RegistryConfig.Mirrors}}'").stdout

    assert f"{LONE}: stopped" in lab.inv("machine.stop", LONE).output
    assert_one_line_error(lab.inv("machine.ssh", LONE, "--", "true", check=False))
    assert f"{LONE}: started" in lab.inv("machine.start", LONE).output
    restarted = lab.inv("machine.provision", LONE).output  # Docker stayed on its disk; only the engine starts
    assert f"{LONE}: Docker 20.10" in restarted and "started, running" in restarted, restarted
    lab.inv("machine.rm", LONE)
    assert not Path(f"/var/lib/goswarm/{LONE}").exists()
