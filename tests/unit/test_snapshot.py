"""ops/snapshot.py, its pure part, on recorded engine payloads (reading them needs the engine: tests/integration)."""
from goswarm.ops import snapshot

from .recorded import payload

SERVICES, TASKS, NODES = payload("services"), payload("tasks"), payload("lab-nodes")


def test_the_services_asked_about_by_name_not_those_the_prefix_filter_also_matches():
    found = snapshot.by_name(SERVICES, ["fx-account", "fx-other"])
    assert list(found) == ["fx-account"] and found["fx-account"]["Spec"]["Name"] == "fx-account"
    assert snapshot.by_name(SERVICES, []) == {}


def test_each_service_gets_its_own_tasks_and_down_nodes_are_named():
    seen = snapshot.Snapshot(NODES, snapshot.by_name(SERVICES, ["fx-account", "fx-account-edge"]), TASKS, "net")
    app, edge = seen.service("fx-account"), seen.service("fx-account-edge")
    mine, theirs = seen.tasks_of(app), seen.tasks_of(edge)
    assert mine and theirs and len(mine) + len(theirs) == len(TASKS)
    assert {t["ServiceID"] for t in mine} == {app["ID"]} and {t["ServiceID"] for t in theirs} == {edge["ID"]}
    assert seen.service("nothing") is None
    assert seen.down() == set()
    lab_3 = NODES[2]["ID"]
    down = [{**n, "Status": {**n["Status"], "State": "down"}} if n["ID"] == lab_3 else n for n in NODES]
    assert snapshot.Snapshot(down, {}, [], "net").down() == {lab_3}
