"""plan/topology over payloads recorded from a real engine (tests/fixtures/engine/record_viz.py)."""
import xml.etree.ElementTree as ET

from goswarm.plan import topology

from .recorded import payload


def recorded(now_after_last: float = 5):
    nodes, services, tasks = payload("viz-nodes"), payload("viz-services"), payload("viz-tasks")
    now = max(topology.epoch(t["Status"]["Timestamp"]) for t in tasks) + now_after_last
    return nodes, services, tasks, now


def view(now_after_last: float = 5, names=None):
    nodes, services, tasks, now = recorded(now_after_last)
    return topology.model(nodes, services, tasks, now, names), now


def test_epoch_reads_the_engines_nanosecond_timestamps():
    assert topology.epoch("2026-11-30T07:36:55.022212744Z") == topology.epoch("2026-11-30T07:36:55.022212Z")
    assert topology.epoch("2026-11-30T07:36:55Z") - topology.epoch("2026-11-30T07:36:54.5Z") == 0.5
    assert topology.epoch("0001-01-01T00:00:00Z") is None and topology.epoch("") is None


def test_a_column_per_node_with_its_facts():
    v, _ = view(names={payload("viz-nodes")[0]["ID"]: "host-1"})
    assert [n["name"] for n in v["nodes"]] == ["host-1"]
    node = v["nodes"][0]
    assert (node["role"], node["availability"], node["state"], node["leader"]) == ("manager", "active", "ready", True)
    assert node["engine"].startswith("20.10") and node["addr"]


def test_every_current_task_is_a_card_in_its_nodes_column_and_unplaced_ones_wait_apart():
    v, _ = view()
    on_node = {(c["service"], c["state"]) for c in v["nodes"][0]["tasks"]}
    assert ("vizfx-web", "running") in on_node
    assert sorted((c["service"], c["error"]) for c in v["pending"]) == [
        ("vizfx-stuck", "no suitable node (scheduling constraints not satisfied on 1 node)"),
        ("vizfx-web", "no suitable node (host-mode port already in use on 1 node)")]
    assert topology.count_cards(v) == len(v["nodes"][0]["tasks"]) + len(v["pending"])


def test_a_running_card_names_its_image_digest_port_and_health():
    v, _ = view()
    web = next(c for c in v["nodes"][0]["tasks"] if c["service"] == "vizfx-web")
    assert web["image"] == "vizfx/nodelister:1" and web["digest"] == ""  # created by a name, not a digest
    assert web["health"] == "healthy" and web["ports"] and web["ports"][0].endswith("->8080/host")
    assert web["error"] == "" and web["colour"] in topology.PALETTE and not web["edge"]


def checks() -> dict:
    return {cid: topology.health_record(inspect.get("State") or {})
            for cid, inspect in payload("viz-containers").items()}


def test_a_task_stopped_by_its_health_check_shows_the_checks_own_output_while_it_is_recent():
    nodes, services, tasks, now = recorded()
    ended = [t for t in tasks if t["Status"]["State"] == "complete"]
    assert ended and not ended[0]["Status"].get("Err")  # the engine kept no reason: the program exited 0
    assert topology.to_inspect(services, tasks, now, {}) == [(ended[0]["NodeID"], topology.container_id(ended[0]))]
    assert topology.to_inspect(services, tasks, now, checks()) == []  # read once
    assert topology.to_inspect(services, tasks, now + topology.RECENT + 60, {}) == []

    v = topology.model(nodes, services, tasks, now, checks=checks())
    sick = [c for n in v["nodes"] for c in n["tasks"] if c["service"] == "vizfx-sick" and c["state"] == "complete"]
    assert len(sick) == 1 and sick[0]["health"] == "unhealthy"
    assert sick[0]["error"].startswith('health check failed: OCI runtime exec failed: exec failed: unable to start '
                                       'container process: exec: "/missing-check"')
    without = topology.model(nodes, services, tasks, now)  # no record read: a clean exit is no trouble
    assert not [c for n in without["nodes"] for c in n["tasks"] if c["state"] == "complete"]
    later = topology.model(nodes, services, tasks, now + topology.RECENT + 60, checks=checks())
    assert not [c for n in later["nodes"] for c in n["tasks"] if c["state"] == "complete"]


def test_a_task_the_engine_failed_shows_its_error():
    nodes, services, tasks, now = recorded()
    ended = next(t for t in tasks if t["Status"]["State"] == "complete")
    ended["Status"].update(State="failed", Err="task: non-zero exit (2): dockerexec: unhealthy container")
    v = topology.model(nodes, services, tasks, now)
    failed = [c for n in v["nodes"] for c in n["tasks"] if c["state"] == "failed"]
    assert [(c["error"], c["health"]) for c in failed] == [
        ("task: non-zero exit (2): dockerexec: unhealthy container", "unhealthy")]


def test_the_legend_and_the_overlay_network():
    v, _ = view()
    assert [s["name"] for s in v["services"]] == ["vizfx-sick", "vizfx-stuck", "vizfx-web"]
    web = v["services"][2]
    assert web["desired"] == 2 and web["mode"] == "replicated" and web["ports"][0].endswith("->8080/host")
    assert v["networks"] == [{"name": "vizfx-net", "driver": "overlay",
                              "services": ["vizfx-sick", "vizfx-stuck", "vizfx-web"]}]


def test_edge_services_are_marked():
    services = payload("services")
    nodes, tasks = payload("nodes"), payload("tasks")
    now = max(topology.epoch(t["Status"]["Timestamp"]) for t in tasks)
    v = topology.model(nodes, services, tasks, now)
    edge = next(s for s in v["services"] if s["edge"])
    assert edge["name"] == "fx-account-edge" and edge["edge_for"] == "fx-account" and edge["mode"] == "global"
    cards = [c for n in v["nodes"] for c in n["tasks"]]
    assert {c["service"] for c in cards if c["edge"]} == {"fx-account-edge"}
    app = [c for c in cards if c["service"] == "fx-account"]
    assert len(app) == 2  # the update's old tasks are not shown
    assert {(c["image"], c["digest"]) for c in app} == {("fx/fx-account:3be961c3f5e0", "7d96edee29d8")}


def test_the_model_stays_equal_while_nothing_changes_so_nothing_is_pushed():
    first, _ = view(5)
    second, _ = view(50)
    assert first == second


def test_an_unreachable_engine_keeps_the_last_picture_under_its_reason():
    v, _ = view()
    down = topology.unreachable("connection refused", v)
    assert down["error"] == "connection refused" and down["nodes"] == v["nodes"]
    assert topology.unreachable("no engine")["nodes"] == []


def test_the_svg_is_one_well_formed_document_with_every_card():
    v, now = view()
    doc = topology.svg(v, now)
    root = ET.fromstring(doc)
    cards = [g for g in root.iter("{http://www.w3.org/2000/svg}g") if g.get("class") == "card"]
    assert len(cards) == topology.count_cards(v)
    text = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert "not on any node" in text and "no suitable node" in text and "network vizfx-net (overlay)" in text
    assert "engine unreachable" not in text
    down = ET.fromstring(topology.svg(topology.unreachable("connection refused", v), now))
    assert "engine unreachable: connection refused" in " ".join(t.text or "" for t in down.iter(
        "{http://www.w3.org/2000/svg}text"))


def test_card_lines_and_ages():
    assert [topology.age(s) for s in (5, 125, 7300, 200000, None)] == ["5s", "2m", "2h", "2d", ""]
    c = {"service": "a", "slot": 2, "edge": False, "image": "p/a:1", "digest": "abc", "state": "running",
         "since": 100.0, "health": "healthy", "ports": ["80->8080/host"], "error": ""}
    assert topology.card_lines(c, 112) == ["a.2", "p/a:1", "@abc", "running 12s · healthy", "port 80->8080/host"]


def test_image_parts():
    assert topology.image_parts({"ContainerSpec": {"Image": "reg:5000/p/a:1@sha256:0123456789abcdef"}}) == (
        "reg:5000/p/a:1", "0123456789ab")
    assert topology.image_parts({"Labels": {"io.goswarm.image": "p/a:1"},
                                 "ContainerSpec": {"Image": "sha256:fedcba9876543210"}}) == ("p/a:1", "fedcba987654")


def test_during_an_update_each_task_shows_its_own_release():
    service = payload("service-inspect")
    old_ref = service["PreviousSpec"]["TaskTemplate"]["ContainerSpec"]["Image"]
    new_ref = service["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
    old = {"Spec": {"ContainerSpec": {"Image": old_ref}}}
    new = {"Spec": {"ContainerSpec": {"Image": new_ref}}}
    assert topology.task_image(old, service) == ("fx/fx-account:967f4371354a", old_ref[7:19])
    assert topology.task_image(new, service) == ("fx/fx-account:3be961c3f5e0", new_ref[7:19])
    assert topology.task_image({"Spec": {"ContainerSpec": {"Image": "other:1"}}}, service) == ("other:1", "")
