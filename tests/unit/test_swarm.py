"""ops/swarm.py, its pure part: file names for a swarm's tokens, which node a machine is, and swarm.status's
tables, over node, service and task lists recorded from a real engine."""
import pytest

from goswarm import settings
from goswarm.io import machines
from goswarm.io.machines import Machine
from goswarm.ops import swarm

from .recorded import payload

LAB = payload("lab-nodes")
NODES, SERVICES, TASKS = payload("nodes"), payload("services"), payload("tasks")


@pytest.fixture
def machines_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MACHINES_DIR", str(tmp_path / "machines"))
    monkeypatch.setenv("GOSWARM_ROOT", str(tmp_path))
    return tmp_path / "machines"


@pytest.mark.parametrize("target, slug", [
    ("unix:///var/run/docker.sock", "local"),
    ("npipe:////./pipe/docker_engine", "local"),
    ("lab-1", "lab-1"),
    ("ssh://root@10.77.0.2", "root@10.77.0.2"),
    ("ssh://deploy@host.example:2222", "deploy@host.example_2222"),
    ("tcp://10.0.0.5:2376", "10.0.0.5_2376"),
    ("ssh://", "local"),
])
def test_swarm_slug_is_a_file_name_for_the_manager(target, slug):
    assert swarm.swarm_slug(target) == slug


def test_the_tokens_of_a_machine_managed_swarm_are_named_for_its_manager(machines_dir, tmp_path):
    machines.save(Machine("lab-1", "netns", "10.77.0.2"))
    cfg = settings.read({"services": {"a": {"path": "a", "port": 80}}}, "lab-1")
    assert swarm.token_file(cfg) == tmp_path / ".swarm" / "join-tokens-lab-1.json"
    assert swarm.with_manager(cfg, "lab-2").manager_name == "lab-2" and cfg.manager_name == "lab-1"


def test_join_tokens_are_private_from_the_first_byte(tmp_path):
    path = tmp_path / "state" / "join-tokens-local.json"
    swarm.save_tokens(path, {"worker": "SWMTKN-1-w", "manager": "SWMTKN-1-m"})
    swarm.save_tokens(path, {"worker": "SWMTKN-1-w2", "manager": "SWMTKN-1-m2"})  # kept again: replaced
    assert path.read_text() == '{"worker": "SWMTKN-1-w2", "manager": "SWMTKN-1-m2"}'
    assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700


def node(node_id, addr, state="ready", hostname="vm", manager_addr=None):
    n = {"ID": node_id, "Status": {"Addr": addr, "State": state}, "Description": {"Hostname": hostname}, "Spec": {}}
    if manager_addr:
        n["ManagerStatus"] = {"Addr": manager_addr, "Leader": True}
    return n


def test_node_of_matches_by_address():
    nodes = [node("a", "0.0.0.0", manager_addr="10.77.0.2:2377"), node("b", "10.77.0.3")]
    assert swarm.node_of(nodes, Machine("lab-1", "netns", "10.77.0.2"))["ID"] == "a"
    assert swarm.node_of(nodes, Machine("lab-2", "netns", "10.77.0.3"))["ID"] == "b"
    assert swarm.node_of(nodes, Machine("x", "netns", "10.77.0.9")) is None


def test_node_of_in_a_recorded_lab():
    """netns machines share no hostname with their node record that could be trusted: the address decides."""
    by_host = {n["Status"]["Addr"]: n["Description"]["Hostname"] for n in LAB}
    for host, hostname in by_host.items():
        assert swarm.node_of(LAB, Machine("any-name", "netns", host))["Description"]["Hostname"] == hostname
    assert swarm.node_of(LAB, Machine("lab-9", "netns", "10.77.0.9")) is None


def test_node_names_prefer_the_machine_name_to_the_hostname(machines_dir):
    machines.save(Machine("manager-a", "netns", "10.77.0.2"))
    machines.save(Machine("worker-b", "netns", "10.77.0.3"))
    names = swarm.node_names(LAB)
    assert [names[n["ID"]] for n in LAB] == ["manager-a", "worker-b", "lab-3"]


STATUS = """\
NODE  ROLE     AVAILABILITY  STATE  ADDRESS    ENGINE
vm    manager  active        ready  192.0.2.2  20.10.24+dfsg1

SERVICE          REPLICAS  PORT                 IMAGE
fx-account       2/2       -                    fx/fx-account:3be961c3f5e0
fx-account-edge  1/1       55961 host: answers  fx/goswarm-edge:678d6a6b8478

SERVICE          SLOT  NODE  STATE    ERROR
fx-account       1     vm    running
fx-account       2     vm    running
fx-account-edge        vm    running"""


def test_status_report_of_a_recorded_swarm(machines_dir):
    running = [t for t in TASKS if t["DesiredState"] == "running"]  # what swarm.status asks the engine for
    assert swarm.status_report(NODES, SERVICES, running, swarm.node_names(NODES), {55961: ""}) == STATUS


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
    assert "accountservice  2/3       -     p/a:1" in services_table
    assert "accountservice  1     lab-1  running" in tasks_table
    services[0]["Spec"]["Labels"]["io.goswarm.live"] = "/service"  # dev --live swapped a binary in
    services_table = swarm.status_report(nodes, services, tasks, {"n1": "lab-1", "n2": "lab-2"}).split("\n\n")[1]
    assert "p/a:1 (live: no release until the next redeploy)" in services_table


def test_status_report_of_services_not_deployed_by_goswarm_and_tasks_of_unknown_ones():
    """No goswarm label: the image the spec names. No status counts: '?'. A task whose service is gone (or
    not listed) by its id; a task not yet on a node as '-'; its error as the engine says it."""
    service = {"ID": "s9", "Spec": {"Name": "other", "Labels": {},
                                    "TaskTemplate": {"ContainerSpec": {"Image": "nginx:1"}}}}
    tasks = [{"ServiceID": "0123456789abcdefghij", "Slot": 1, "Status": {"State": "pending",
                                                                      "Err": "no suitable node"}}]
    _, services_table, tasks_table = swarm.status_report([], [service], tasks, {}).split("\n\n")
    assert services_table.splitlines()[1] == "other    ?/?       -     nginx:1"
    assert tasks_table.splitlines()[1] == "0123456789ab  1     -     pending  no suitable node"


def test_status_as_json_holds_the_same_rows_as_the_tables(machines_dir):
    import json

    running = [t for t in TASKS if t["DesiredState"] == "running"]
    document = swarm.status_document(NODES, SERVICES, running, swarm.node_names(NODES), {55961: ""})
    assert json.loads(json.dumps(document)) == document
    assert list(document) == ["nodes", "services", "tasks"]
    tables = STATUS.split("\n\n")
    for (name, rows), table in zip(document.items(), tables):
        assert len(rows) == len(table.splitlines()) - 1, name
    assert set(document["services"][0]) == {"service", "replicas", "port", "image"}
    assert set(document["nodes"][0]) == {"node", "role", "availability", "state", "address", "engine"}


def test_a_port_that_refuses_while_its_tasks_run_says_what_to_do():
    service = {"Spec": {"EndpointSpec": {"Ports": [{"PublishedPort": 8080, "TargetPort": 80, "PublishMode": "host"},
                                                   {"TargetPort": 81}]}}}
    assert swarm.published(service) == [(8080, "host")]
    assert swarm.port_cell(service, {}) == "8080 host"  # not probed: no task runs
    cell = swarm.port_cell(service, {8080: "refused (the engine's mapping of the port is gone: ...)"})
    assert cell.startswith("8080 host: refused")
    assert swarm.port_cell({"Spec": {}}, {}) == "-"


def test_a_global_service_counts_its_running_tasks_as_desired():
    """Engine 20.10 reports DesiredTasks 0 for a global service."""
    service = {"ID": "g", "ServiceStatus": {"RunningTasks": 2, "DesiredTasks": 0},
               "Spec": {"Name": "web-edge", "Mode": {"Global": {}}, "TaskTemplate": {"ContainerSpec": {"Image": "e"}}}}
    tasks = [{"ServiceID": "g", "DesiredState": "running", "Status": {"State": "running"}, "NodeID": n}
             for n in ("a", "b")]
    rows = swarm.status_tables([], [service], tasks, {})["services"][0]
    assert rows[0][1] == "2/2"
