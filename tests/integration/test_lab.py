"""A real 3-node swarm of netns machines: redeploy across nodes, overlay between nodes, node loss, ssh driver."""
import json
import os
import re
import signal
import stat
import subprocess
from pathlib import Path

import docker
import pytest

from helpers import (
    SUFFIX,
    Poller,
    Project,
    assert_one_line_error,
    edit,
    free_port,
    get_in_container,
    http_get,
    httpget_image,
    read_until,
    running_registry,
    start_inv,
    wait_for,
)
from helpers import machine_records as records

PREFIX = f"it{SUFFIX}"
MANAGER = f"{PREFIX}-1"


@pytest.fixture(scope="module")
def lab(tmp_path_factory, engine):
    tmp = tmp_path_factory.mktemp("lab")
    project = Project(tmp, engine)
    project.machines_dir = tmp / "machines"
    project.extra_env = {"MACHINES_DIR": str(project.machines_dir)}
    project.config["lab"] = {"prefix": PREFIX, "nodes": 3}
    project.config["swarm"]["manager"] = MANAGER
    project.outputs = []
    project.pids, project.veths = [], []
    try:
        up = project.inv("lab.up", "--nodes", "3")
        project.pids = [pid for m in records(project) for pid in m["extras"]["pids"].values()]
        project.veths = [m["extras"]["veth"] for m in records(project)]
        assert f"lab ready: target it with --manager {MANAGER}" in up.output
        yield project
    finally:
        down = project.inv("lab.down", check=False)
        project.outputs.append(down.output)
        leftovers(project)


def rename_accounts(project, prefix: str) -> None:
    """A one-line change: the accounts' name prefix, whatever an earlier test set it to."""
    main_go = project.source("accountservice")
    main_go.write_text(re.sub(r'"\w+_" \+ strconv', f'"{prefix}" + strconv', main_go.read_text()))


def client_of(record):
    return docker.DockerClient(base_url=f"unix://{record['extras']['socket']}")


def leftovers(project):
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert f"goswarm-{PREFIX}" not in namespaces
    assert not list(project.machines_dir.glob("*/machine.json"))
    assert not list(Path("/var/lib/goswarm").glob(f"{PREFIX}-*"))
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert not [veth for veth in project.veths if f" {veth}@" in links or f" {veth}:" in links]
    for pid in project.pids:
        assert not alive(pid), f"process {pid} of the lab is still running"


def alive(pid: int) -> bool:
    """A zombie waiting for init to reap it has stopped running."""
    try:
        return "\tZ" not in Path(f"/proc/{pid}/status").read_text().split("State:")[1].split("\n")[0]
    except (FileNotFoundError, IndexError):
        return False


def test_lab_forms_a_three_node_swarm(lab):
    assert stat.S_IMODE(lab.machines_dir.stat().st_mode) == 0o700  # made by lab.up: keys live there
    tokens = sorted(p.name for p in (lab.tmp / "swarm").iterdir())
    assert tokens == [f"join-tokens-{MANAGER}.json"]  # the host's swarm keeps its own file
    machines = records(lab)
    assert [m["name"] for m in machines] == [f"{PREFIX}-1", f"{PREFIX}-2", f"{PREFIX}-3"]
    nodes = client_of(machines[0]).api.nodes()
    assert sorted(n["Spec"]["Role"] for n in nodes) == ["manager", "worker", "worker"]
    assert all(n["Status"]["State"] == "ready" for n in nodes)
    again = lab.inv("lab.up", "--nodes", "3")
    assert again.output.count("no change") >= 5, again.output  # 3 engines, the swarm, the network, 2 joins
    ls = lab.inv("machine.ls")
    assert ls.output.count(" yes ") == 3 and "manager" in ls.output


def test_redeploy_across_nodes_and_overlay_between_nodes(lab, engine):
    port = free_port()
    name = lab.add_service("accountservice", port=6767, publish=port, replicas=3, smoke="/accounts/10000")
    quotes = lab.add_service("quotes-service", port=8080)
    result = lab.inv("redeploy", "--service", f"{name},{quotes}")
    lab.outputs.append(result.output)
    assert "ship" in result.output and "loaded" in result.output
    for machine in records(lab):
        url = f"http://{machine['host']}:{port}/accounts/10000"
        body = wait_for(lambda url=url: http_get(url), 20, machine["name"])
        assert body == '{"id":"10000","name":"Person_0"}\n'

    manager = client_of(records(lab)[0])
    quotes_node = next(t["NodeID"] for t in manager.api.tasks(filters={"service": quotes, "desired-state": "running"}))
    nodes = {n["ID"]: n["Status"]["Addr"] for n in manager.api.nodes()}
    other = next(m for m in records(lab) if m["host"] not in (nodes[quotes_node],))
    client = client_of(other)
    getter = httpget_image(engine, lab.tmp, "it/httpget:lab")
    client.images.load(b"".join(engine.api.get_image(getter)))
    body = wait_for(lambda: get_in_container(client, getter, f"http://{quotes}:8080/api/quote", lab.network), 30,
                    "a quote from another node")
    assert json.loads(body)["quote"]

    unchanged = lab.inv("redeploy", "--service", name)
    # What each node was given is recorded: an unchanged redeploy connects to none of them for images.
    assert "already had every image (as recorded by an earlier run)" in unchanged.output
    assert f"{name}: no change" in unchanged.output and "loaded" not in unchanged.output


def test_dev_live_swaps_a_change_into_the_tasks_on_every_node(lab):
    port = free_port()
    name = lab.add_service("accountservice", suffix="-live", port=6767, publish=port, publish_mode="host",
                           replicas=3, smoke="/accounts/10000")
    manager = client_of(records(lab)[0])

    def running() -> set:
        return {(t["ID"], t["NodeID"]) for t in manager.api.tasks(filters={"service": name, "desired-state": "running"})
                if t["Status"]["State"] == "running"}

    dev = start_inv(lab, "dev", "--live", "--service", name)
    try:
        lab.outputs.append(read_until(dev, f"dev: {name} runs under goswarm's supervisor", 600))
        before = running()
        assert len({node for _, node in before}) == 3  # one task on each node: two are reached over SSH
        prefix = f"Live{os.getpid()}_"
        rename_accounts(lab, prefix)
        out = read_until(dev, f"dev: {name} is serving the change in the same 3 task(s)", 180)
        lab.outputs.append(out)
        assert f"{name}: swapped into 3 running task(s)" in out
        for machine in records(lab):
            assert http_get(f"http://{machine['host']}:{port}/accounts/10000") == \
                f'{{"id":"10000","name":"{prefix}0"}}\n', machine["name"]
        assert running() == before  # the same tasks, on the same nodes
    finally:
        dev.send_signal(signal.SIGINT)
        dev.wait(60)


def test_with_a_registry_every_node_pulls_the_pushed_digest(lab):
    from goswarm.io import netns

    with running_registry(lab.tmp, "0.0.0.0") as port:
        lab.config["image"].update(registry=f"127.0.0.1:{port}", node_registry=f"{netns.GATEWAY}:{port}")
        try:
            name = lab.add_service("accountservice", port=6767, publish=free_port(), replicas=3,
                                   smoke="/accounts/10000")
            rename_accounts(lab, "Pulled_")
            result = lab.inv("redeploy", "--service", name)
            assert "push" in result.output and "ship" not in result.output
            spec = client_of(records(lab)[0]).api.inspect_service(name)["Spec"]
            image = spec["TaskTemplate"]["ContainerSpec"]["Image"]
            assert image.startswith(f"{netns.GATEWAY}:{port}/it/{name}:") and "@sha256:" in image
            port_published = lab.config["services"][name]["publish"]
            for machine in records(lab):
                body = http_get(f"http://{machine['host']}:{port_published}/accounts/10000")
                assert body == '{"id":"10000","name":"Pulled_0"}\n'
        finally:
            lab.config["image"].update(registry="", node_registry="")


def test_node_loss(lab):
    from invoke import Context

    from goswarm.io import netns
    from goswarm.io.shell import Shell

    name = lab.add_service("accountservice", port=6767, publish=free_port(), replicas=2, smoke="/accounts/10000")
    lab.inv("redeploy", "--service", name)
    machines = records(lab)
    manager = client_of(machines[0])
    by_addr = {n["Status"]["Addr"]: n["ID"] for n in manager.api.nodes()}
    busy = {t["NodeID"] for t in manager.api.tasks(filters={"service": name, "desired-state": "running"})}
    victim = next(m for m in machines[1:] if by_addr[m["host"]] in busy)
    netns.stop_engine(Shell(Context().run), victim["extras"])
    try:
        def down():
            out = lab.inv("swarm.status").output
            row = next(line for line in out.splitlines() if line.startswith(victim["name"]))
            return "down" in row and out
        status = wait_for(down, 60, f"{victim['name']} to be reported down")
        assert victim["name"] in status

        def moved():
            tasks = manager.api.tasks(filters={"service": name, "desired-state": "running"})
            running = [t for t in tasks if t["Status"]["State"] == "running"]
            return len(running) == 2 and all(t["NodeID"] != by_addr[victim["host"]] for t in running)
        wait_for(moved, 60, "the tasks to move off the lost node")

        rename_accounts(lab, "Survivor_")
        result = lab.inv("redeploy", "--service", name)
        assert f"skipped, {victim['name']} is down" in result.output
    finally:
        lab.inv("machine.provision", victim["name"])
    wait_for(lambda: manager.api.inspect_node(by_addr[victim["host"]])["Status"]["State"] == "ready", 60,
             f"{victim['name']} to rejoin")
    assert "running, no change" in lab.inv("machine.provision", victim["name"]).output


def test_ssh_driver_host_keys_and_credentials(lab, tmp_path):
    target = records(lab)[1]
    other = Project(tmp_path, lab.engine)
    other.extra_env = {"MACHINES_DIR": str(tmp_path / "machines")}
    host, key = target["host"], target["key"]

    unknown = other.inv("machine.create", "box", "--host", host, "--key", key, check=False)
    assert_one_line_error(unknown, "host key is unknown", "--accept-new-host-key")
    accepted = other.inv("machine.create", "box", "--host", host, "--key", key, "--accept-new-host-key")
    assert "accepted new host key" in accepted.output and "machine box: created" in accepted.output
    assert "running, no change" in other.inv("machine.provision", "box").output
    assert "running, no change" in other.inv("machine.provision", "box").output
    assert "10.77.0." in other.inv("machine.ssh", "box", "--", "ip -4 -o addr show").output

    wrong = tmp_path / "wrong_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(wrong)], check=True)
    refused = other.inv("machine.create", "box2", "--host", host, "--key", str(wrong), check=False)
    assert_one_line_error(refused, "the key was refused")
    bad_user = other.inv("machine.create", "box3", "--host", host, "--user", "nobody", "--key", key, check=False)
    assert_one_line_error(bad_user, "nobody@", "the key was refused")

    known = tmp_path / "machines" / "known_hosts"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "fake")], check=True)
    known.write_text(f"{host} {(tmp_path / 'fake.pub').read_text().split(' ')[0]} "
                     f"{(tmp_path / 'fake.pub').read_text().split(' ')[1]}\n")
    changed = other.inv("machine.create", "box4", "--host", host, "--key", key, "--accept-new-host-key", check=False)
    assert_one_line_error(changed, "CHANGED")
    lab.outputs += [unknown.output, accepted.output, refused.output, bad_user.output, changed.output]


def test_no_secret_in_any_output(lab):
    manager = client_of(records(lab)[0])
    manager.swarm.reload()
    tokens = list(manager.swarm.attrs["JoinTokens"].values())
    keys = [Path(m["key"]).read_text().strip().splitlines()[1] for m in records(lab)]
    seen = "\n".join(lab.outputs + lab.all_output)
    assert tokens and keys and seen
    for secret in tokens + keys:
        assert secret not in seen


def test_drain_activate_leave_and_join_again(lab):
    name = lab.add_service("quotes-service", port=8080)
    lab.config["services"][name]["replicas"] = 2
    lab.inv("redeploy", "--service", name)
    worker = records(lab)[2]
    manager = client_of(records(lab)[0])
    node_id = next(n["ID"] for n in manager.api.nodes() if n["Status"]["Addr"] == worker["host"])

    assert f"{worker['name']}: drain" in lab.inv("swarm.drain", worker["name"]).output
    assert "already drain, no change" in lab.inv("swarm.drain", worker["name"]).output
    wait_for(lambda: not [t for t in manager.api.tasks(filters={"service": name, "desired-state": "running"})
                          if t["NodeID"] == node_id], 30, "the drained node to have no tasks")
    row = next(line for line in lab.inv("swarm.status").output.splitlines() if line.startswith(worker["name"]))
    assert "drain" in row
    assert f"{worker['name']}: active" in lab.inv("swarm.activate", worker["name"]).output
    assert "already active, no change" in lab.inv("swarm.activate", worker["name"]).output

    assert "left the swarm" in lab.inv("swarm.leave", worker["name"]).output
    assert node_id not in [n["ID"] for n in manager.api.nodes()]
    assert "not in a swarm, no change" in lab.inv("swarm.leave", worker["name"]).output
    assert "joined as worker" in lab.inv("swarm.join", worker["name"]).output
    assert "already in the swarm, no change" in lab.inv("swarm.join", worker["name"]).output
    wait_for(lambda: sorted(n["Status"]["State"] for n in manager.api.nodes()) == ["ready"] * 3, 30,
             "the rejoined node to be ready")


def test_dry_lab_up_plans_new_machines_on_distinct_addresses_and_creates_nothing(lab, tmp_path):
    other = Project(tmp_path, lab.engine)
    other.extra_env = {"MACHINES_DIR": str(tmp_path / "machines")}
    other.config["lab"] = {"prefix": f"{PREFIX}dry", "nodes": 2}
    result = other.inv("lab.up", "--nodes", "2", dry=True)
    addresses = re.findall(r"would create netns machine \S+ at (10\.77\.0\.\d+)", result.output)
    taken = {m["host"] for m in records(lab)}
    assert len(set(addresses)) == 2 and not set(addresses) & taken, result.output
    assert f"[dry] would initialise a swarm on {PREFIX}dry-1" in result.output
    assert not (tmp_path / "machines").exists()


def test_a_node_whose_engine_dies_during_a_rollout(lab):
    """lab-3's engine is killed while the rollout replaces tasks. Swarm's own bookkeeping of such an update
    varies from run to run (it may finish, or lose track of a slot), so either the rollout converges on the
    nodes that are up, or it is rolled back with one line saying why. Either way the edge on the manager
    answers throughout (a GET in flight on a task of the dead node never gets its answer: after the service's
    response_timeout the edge sends it to another task), and a rerun once the node is back deploys the release."""
    from invoke import Context

    from goswarm.io import netns
    from goswarm.io.shell import Shell

    port = free_port()
    name = lab.add_service("accountservice", "-lost", port=6767, publish=port, publish_mode="edge", replicas=3,
                           smoke="/accounts/10000", response_timeout=1)
    lab.names.append(f"{name}-edge")
    rename_accounts(lab, "Before_")
    lab.inv("redeploy", "--service", name)
    victim = records(lab)[2]
    rename_accounts(lab, "During_")
    url = f"http://{records(lab)[0]['host']}:{port}/accounts/10000"
    try:
        with Poller(url, 0.1) as poller:
            run = start_inv(lab, "redeploy", "--service", name, "--timeout", "30")
            read_until(run, f"{name}: 0/3 tasks of the new spec running", 120)
            netns.stop_engine(Shell(Context().run), victim["extras"])
            out, _ = run.communicate(timeout=180)
        errors = [line for line in out.splitlines() if line.startswith("error:")]
        if run.returncode == 0:
            assert f"{name}: converged, 3/3 running" in out and not errors, out
        else:
            assert run.returncode == 1 and len(errors) == 1 and "Traceback" not in out, out
            assert "was rolled back to its previous release, which runs again" in errors[0], out
        edge_log = "" if poller.failures == [] else "".join(  # what the edge says of its failed requests
            c.logs().decode(errors="replace") for c in client_of(records(lab)[0]).containers.list(
                all=True, filters={"label": f"com.docker.swarm.service.name={name}-edge"}))
        print(edge_log)  # shown in full with the failure
        assert poller.failures == [] and len(poller.answers) > 20, poller.failures
    finally:
        lab.inv("machine.provision", victim["name"])
    manager = client_of(records(lab)[0])
    wait_for(lambda: all(n["Status"]["State"] == "ready" for n in manager.api.nodes()), 60, "the node to be back")
    lab.inv("redeploy", "--service", name)
    assert http_get(url) == '{"id":"10000","name":"During_0"}\n'
    assert lock_free(manager, lab.lock)


def test_the_manager_engine_stopping_mid_rollout_is_one_line_and_the_rerun_reports_the_update(lab):
    """The swarm's only manager stops (SIGTERM, as `systemctl stop docker` does) under a running redeploy."""

    from goswarm.io import netns

    name = lab.add_service("quotes-service", "-stopped", port=8080)
    lab.inv("redeploy", "--service", name)
    edit(lab, "quotes-service", 'log.Println("Starting quotes-service")',
         'time.Sleep(3 * time.Second)\n\tlog.Println("Starting quotes-service")')
    manager = records(lab)[0]
    run = start_inv(lab, "redeploy", "--service", name)
    try:
        read_until(run, f"{name}: 0/1 tasks of the new spec running", 120)
        os.kill(manager["extras"]["pids"]["dockerd"], signal.SIGTERM)
        out, _ = run.communicate(timeout=120)
    finally:
        run.kill()
        wait_for(lambda: not netns.engine_running(manager["extras"]), 60, "the manager's engine to stop")
        lab.inv("machine.provision", manager["name"])
    errors = [line for line in out.splitlines() if line.startswith("error:")]
    assert run.returncode == 1 and len(errors) == 1 and "Traceback" not in out, out
    assert "may be left mid-update" in errors[0] and "`inv redeploy` waits for that update" in errors[0]
    assert "not a swarm manager. Use" not in out
    client = client_of(records(lab)[0])
    wait_for(lambda: client.api.inspect_service(name), 90, "the manager to answer again")
    rerun = lab.inv("redeploy", "--service", name)
    assert f"{name}: no change" in rerun.output or f"{name}: converged" in rerun.output, rerun.output
    assert lock_free(client, lab.lock)


def lock_free(client, name: str) -> bool:
    from goswarm.ops import lock

    return lock.holder(client, name) is None

