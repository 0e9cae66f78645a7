"""At scale (issue 19): a 10-node netns lab and 20 services of 3 replicas each, shipped without a registry.

One lab for the module: the 20 services are deployed once, side by side; then a no-op touches no node and
writes nothing; one changed service is the only one updated; `stats` reads all 60+ tasks, 12 of them on one
node over one SSH connection's worth of channels and more (sshd's MaxSessions is 10), none shown down, and a
--watch refresh over them takes well under a second.
"""
import shutil
import signal
import time

import docker
import pytest

from helpers import ROOT, SUFFIX, lab_project, lab_up, machine_records, read_until, start_inv

# A 10-node lab with 60 tasks takes the whole machine: nothing else runs beside this module (tests/conftest.py).
pytestmark = pytest.mark.exclusive
PREFIX = f"sc{SUFFIX}"
NODES, SERVICES, REPLICAS = 10, 20, 3
CROWDED = 4  # services placed on one node: 12 tasks there, more than one SSH connection carries (10)


def names() -> list:
    return [f"it{SUFFIX}-s{i:02}" for i in range(1, SERVICES + 1)]


def all_of_ours() -> tuple:
    """--service for all 20 (inv also reads this repository's invoke.yaml, with the sample services)."""
    return ("--service", ",".join(names()))


@pytest.fixture(scope="module")
def lab(tmp_path_factory, engine):
    project = lab_project(tmp_path_factory.mktemp("scalelab"), engine, PREFIX)
    project.config["lab"]["nodes"] = NODES
    project.config["deploy"]["timeout"] = 300
    with lab_up(project):
        manager = manager_client(project)
        crowded = next(n["ID"] for n in manager.api.nodes() if n["Status"]["Addr"] == host_of(project, 2))
        for index, name in enumerate(names()):
            source = project.tmp / "src" / name
            shutil.copytree(ROOT / "services" / "quotes-service", source)
            project.names.append(name)
            project.config["services"][name] = {
                "path": str(source), "port": 8080, "replicas": REPLICAS, "healthcheck": {"http": "/health"},
                **({"constraints": [f"node.id=={crowded}"]} if index < CROWDED else {})}
        project.crowded = crowded
        yield project


def host_of(project, number: int) -> str:
    return next(r["host"] for r in machine_records(project) if r["name"] == f"{PREFIX}-{number}")


def manager_client(project):
    record = next(r for r in machine_records(project) if r["name"] == f"{PREFIX}-1")
    return docker.DockerClient(base_url=f"unix://{record['extras']['socket']}")


def versions(client) -> dict:
    return {s["Spec"]["Name"]: s["Version"]["Index"] for s in client.api.services() if s["Spec"]["Name"] in names()}


def running(client) -> list:
    return [t for t in client.api.tasks(filters={"desired-state": "running"})
            if t["Status"]["State"] == "running" and t["ServiceID"] in {s["ID"] for s in client.api.services()
                                                                       if s["Spec"]["Name"] in names()}]


def test_twenty_services_on_ten_nodes_deploy_side_by_side_and_a_noop_touches_nothing(lab):
    client = manager_client(lab)
    began = time.monotonic()
    first = lab.inv("redeploy", *all_of_ours())
    took = time.monotonic() - began
    print(f"first redeploy of {SERVICES} services x {REPLICAS} on {NODES} nodes: {took:.1f} s")
    assert all(f"{name}: converged, {REPLICAS}/{REPLICAS} running" in first.output for name in names()), first.output
    tasks = running(client)
    assert len(tasks) == SERVICES * REPLICAS
    assert len({t["NodeID"] for t in tasks}) == NODES  # spread over every node
    assert sum(t["NodeID"] == lab.crowded for t in tasks) >= CROWDED * REPLICAS

    before, configs = versions(client), client.api.configs()
    began = time.monotonic()
    noop = lab.inv("redeploy", *all_of_ours())
    took = time.monotonic() - began
    print(f"no-op redeploy on {NODES} nodes, {SERVICES} services: {took:.2f} s")
    assert all(f"{name}: no change" in noop.output for name in names()), noop.output
    line = next(ln for ln in noop.output.splitlines() if ln.startswith("ship: ") and "already had" in ln)
    had = set(line.removeprefix("ship: ").split(" already had")[0].split(", "))
    assert had == {f"{PREFIX}-{i}" for i in range(1, NODES + 1)}, line  # no node was connected to for images
    assert not [ln for ln in noop.output.splitlines() if ln.startswith(f"ship {PREFIX}-")]  # nothing loaded
    assert versions(client) == before and client.api.configs() == configs  # no raft write: no update, no lock


def test_one_changed_service_of_twenty_is_the_only_one_updated(lab):
    client = manager_client(lab)
    before = versions(client)
    changed = names()[-1]
    main = lab.tmp / "src" / changed / "main.go"
    main.write_text(main.read_text().replace('"Clear is better', '"Clearer is better', 1))
    result = lab.inv("redeploy", *all_of_ours())
    after = versions(client)
    assert [n for n in names() if after[n] != before[n]] == [changed]
    assert f"{changed}: converged, {REPLICAS}/{REPLICAS} running" in result.output
    assert sum(f"{n}: no change" in result.output for n in names()) == SERVICES - 1
    assert client.api.configs(filters={"name": lab.lock}) == []  # the lock was taken, and released


def test_stats_watch_reads_every_task_within_a_second_and_more_than_one_connection_carries_on_a_node(lab):
    """The first refresh opens a stream per container (an SSH channel and a `docker system dial-stdio` on its
    node, 60 of them here): on this 2-core machine, loaded, some may take longer than the 5 s a new stream
    gets, and show as such until they answer. Once open, every task is read, none is down (12 on one node:
    more channels than sshd lets one connection carry), and a refresh takes well under a second."""
    watch = start_inv(lab, "stats", *all_of_ours(), "--watch")
    blocks, deadline = [], time.monotonic() + 120
    try:
        seen = read_until(watch, "refresh", 120)
        while time.monotonic() < deadline and len(blocks) < 3:
            seen += read_until(watch, "refresh", 60)
            block = seen.split("refresh ")[-2]  # the whole block before the header just read
            if " down" in block:
                blocks = []  # not yet every stream: the steady refreshes are the ones after
            else:
                blocks.append(block)
    finally:
        watch.send_signal(signal.SIGINT)
        rest, _ = watch.communicate(timeout=30)
    assert watch.returncode == 0, seen + rest
    assert len(blocks) == 3, seen[-5000:]
    refreshes = [float(b.split()[0]) for b in blocks]
    print(f"stats --watch refreshes over {SERVICES * REPLICAS} tasks on {NODES} nodes, once every stream is open: "
          f"{refreshes}")
    assert all(b.count(" running") == SERVICES * REPLICAS for b in blocks), blocks[-1]
    crowded = [line for line in blocks[-1].splitlines() if f" {PREFIX}-2 " in line]
    assert len(crowded) >= CROWDED * REPLICAS > 10, blocks[-1]
    assert all(r < 1.0 for r in refreshes), refreshes
