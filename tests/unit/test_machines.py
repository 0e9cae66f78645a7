import json

import pytest

from goswarm.errors import PipelineError
from goswarm.io import drivers, machines, ssh
from goswarm.io.machines import Machine
from goswarm.ops import lab, ship, swarm


def test_machine_url_is_ssh_and_names_the_port_only_when_needed():
    assert Machine("m", "ssh", "10.0.0.5").url == "ssh://root@10.0.0.5"
    assert Machine("m", "ssh", "10.0.0.5", user="deploy", port=2222).url == "ssh://deploy@10.0.0.5:2222"


def test_a_machine_made_from_an_ssh_config_alias_is_reached_by_it():
    machine = Machine("m", "ssh", "10.0.0.5", user="deploy", port=2222, alias="box")
    assert (machine.ssh_host, machine.url) == ("box", "ssh://deploy@box:2222")
    assert Machine("m", "ssh", "10.0.0.5").ssh_host == "10.0.0.5"
    # the flags that made it won over the alias's Port: its URL says so
    assert Machine("m", "ssh", "10.0.0.5", port=22, alias="box").url == "ssh://root@box:22"


@pytest.mark.parametrize("name", ["", "Lab", "lab_1", "-lab", "a" * 22])
def test_bad_machine_names(name):
    with pytest.raises(PipelineError, match="machine name"):
        machines.check_name(name)


def test_records_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("MACHINES_DIR", str(tmp_path))
    machines.save(Machine("node1", "netns", "10.77.0.2", key="/k", extras={"pids": {"sshd": 1}}))
    assert machines.load("node1").extras == {"pids": {"sshd": 1}}
    assert machines.by_host("10.77.0.2").name == "node1"
    assert (tmp_path / "node1").stat().st_mode & 0o777 == 0o700
    with pytest.raises(PipelineError, match="unknown machine 'node2'; known machines: node1"):
        machines.load("node2")
    machines.delete("node1")
    assert machines.all_machines() == []


def test_known_hosts_trust_and_forget(tmp_path, monkeypatch):
    monkeypatch.setenv("MACHINES_DIR", str(tmp_path))
    ssh.trust("10.77.0.2", 22, "ssh-ed25519 AAAA1")
    ssh.trust("10.77.0.2", 22, "ssh-ed25519 AAAA2")  # a re-created host replaces its old key
    ssh.trust("10.0.0.9", 2222, "ssh-ed25519 BBBB")
    assert ssh.known_hosts().read_text() == "10.77.0.2 ssh-ed25519 AAAA2\n[10.0.0.9]:2222 ssh-ed25519 BBBB\n"
    assert ssh.known_hosts().stat().st_mode & 0o777 == 0o600
    ssh.forget("10.77.0.2", 22)
    assert ssh.known_hosts().read_text() == "[10.0.0.9]:2222 ssh-ed25519 BBBB\n"


def test_docker_machine_output_parsing():
    assert drivers.parse_ip("192.168.99.100\n") == "192.168.99.100"
    with pytest.raises(PipelineError, match="not an address"):
        drivers.parse_ip("Error: host does not exist")
    inspect = json.dumps({"Driver": {"IPAddress": "192.168.99.100", "SSHUser": "docker", "SSHPort": 50122,
                                     "SSHKeyPath": "/root/.docker/machine/machines/m1/id_rsa"}})
    assert drivers.parse_inspect(inspect) == ("docker", "/root/.docker/machine/machines/m1/id_rsa")
    with pytest.raises(PipelineError, match="SSHKeyPath"):
        drivers.parse_inspect("{}")


def node(node_id, addr, state="ready", hostname="vm", manager_addr=None):
    n = {"ID": node_id, "Status": {"Addr": addr, "State": state}, "Description": {"Hostname": hostname}, "Spec": {}}
    if manager_addr:
        n["ManagerStatus"] = {"Addr": manager_addr, "Leader": True}
    return n


def test_ship_targets():
    known = {"10.77.0.2": Machine("lab-1", "netns", "10.77.0.2"), "10.77.0.3": Machine("lab-2", "netns", "10.77.0.3"),
             "10.77.0.4": Machine("lab-3", "netns", "10.77.0.4")}
    nodes = [node("builder", "192.0.2.2"), node("n2", "10.77.0.2"), node("n3", "10.77.0.3", state="down"),
             node("n4", "10.77.0.4")]
    targets, skipped = ship.ship_targets(nodes, "builder", known)
    assert [m.name for m in targets] == ["lab-1", "lab-3"] and skipped == ["lab-2 is down"]
    with pytest.raises(PipelineError, match="no known machine"):
        ship.ship_targets([node("x", "10.9.9.9")], "builder", known)


def test_node_of_matches_by_address():
    nodes = [node("a", "0.0.0.0", manager_addr="10.77.0.2:2377"), node("b", "10.77.0.3")]
    assert swarm.node_of(nodes, Machine("lab-1", "netns", "10.77.0.2"))["ID"] == "a"
    assert swarm.node_of(nodes, Machine("lab-2", "netns", "10.77.0.3"))["ID"] == "b"
    assert swarm.node_of(nodes, Machine("x", "netns", "10.77.0.9")) is None


def test_lab_names():
    assert lab.names("lab", 3) == ["lab-1", "lab-2", "lab-3"]
    with pytest.raises(PipelineError):
        lab.names("lab", 0)


def test_status_report_names_nodes_and_counts_replicas():
    nodes = [{"ID": "n1", "Spec": {"Role": "manager", "Availability": "active"},
              "Status": {"State": "ready", "Addr": "10.77.0.2"}, "Description": {"Engine": {"EngineVersion": "20.10"}}},
             {"ID": "n2", "Spec": {"Role": "worker", "Availability": "drain"},
              "Status": {"State": "down", "Addr": "10.77.0.3"}, "Description": {}}]
    services = [{"ID": "s1", "ServiceStatus": {"RunningTasks": 2, "DesiredTasks": 3},
                 "Spec": {"Name": "accountservice", "Labels": {"io.goswarm.image": "p/a:1"},
                          "TaskTemplate": {"ContainerSpec": {"Image": "sha256:x"}}}}]
    tasks = [{"ServiceID": "s1", "Slot": 1, "NodeID": "n1", "Status": {"State": "running"}}]
    report = swarm.status_report(nodes, services, tasks, {"n1": "lab-1", "n2": "lab-2"})
    nodes_table, services_table, tasks_table = report.split("\n\n")
    assert "lab-2  worker   drain         down   10.77.0.3" in nodes_table
    assert "accountservice  2/3       p/a:1" in services_table
    assert "accountservice  1     lab-1  running" in tasks_table
