"""ops/ship.py, its pure part: which nodes get the images when there is no registry."""
import pytest

from goswarm.errors import PipelineError
from goswarm.io.machines import Machine
from goswarm.ops import ship

from .recorded import payload

LAB = payload("lab-nodes")  # lab-1 10.77.0.2 (manager), lab-2 10.77.0.3, lab-3 10.77.0.4 (drained)
HOST = payload("nodes")  # the engine on this host, a swarm of one
KNOWN = {f"10.77.0.{i}": Machine(f"lab-{i - 1}", "netns", f"10.77.0.{i}") for i in (2, 3, 4)}


def test_a_lab_built_on_the_host_gets_the_images_on_every_node():
    """The host's engine built them and is no node of the lab; a drained node still runs tasks later."""
    targets, skipped = ship.ship_targets(LAB, HOST[0]["ID"], KNOWN)
    assert [m.name for m in targets] == ["lab-1", "lab-2", "lab-3"] and skipped == []


def test_the_builder_itself_is_left_out():
    targets, _ = ship.ship_targets(LAB, LAB[0]["ID"], KNOWN)
    assert [m.name for m in targets] == ["lab-2", "lab-3"]
    assert ship.ship_targets(HOST, HOST[0]["ID"], {}) == ([], [])  # a single engine: nothing to ship


def test_a_node_that_is_down_is_skipped_and_said_so():
    nodes = payload("lab-nodes")
    nodes[1]["Status"]["State"] = "down"
    targets, skipped = ship.ship_targets(nodes, HOST[0]["ID"], KNOWN)
    assert [m.name for m in targets] == ["lab-1", "lab-3"] and skipped == ["lab-2 is down"]
    unknown_and_down = {a: m for a, m in KNOWN.items() if m.name != "lab-2"}
    assert ship.ship_targets(nodes, HOST[0]["ID"], unknown_and_down)[1] == ["10.77.0.3 is down"]


def test_a_node_that_is_no_known_machine_is_an_error_that_says_what_to_do():
    with pytest.raises(PipelineError) as e:
        ship.ship_targets(HOST, "builder-elsewhere", KNOWN)
    assert "swarm node vm (192.0.2.2) is no known machine" in str(e.value)
    assert "machine.create" in str(e.value) and "image.registry" in str(e.value)


def node(node_id, addr, state="ready", hostname="vm"):
    return {"ID": node_id, "Status": {"Addr": addr, "State": state}, "Description": {"Hostname": hostname}, "Spec": {}}


def test_ship_targets():
    known = {"10.77.0.2": Machine("lab-1", "netns", "10.77.0.2"), "10.77.0.3": Machine("lab-2", "netns", "10.77.0.3"),
             "10.77.0.4": Machine("lab-3", "netns", "10.77.0.4")}
    nodes = [node("builder", "192.0.2.2"), node("n2", "10.77.0.2"), node("n3", "10.77.0.3", state="down"),
             node("n4", "10.77.0.4")]
    targets, skipped = ship.ship_targets(nodes, "builder", known)
    assert [m.name for m in targets] == ["lab-1", "lab-3"] and skipped == ["lab-2 is down"]
    with pytest.raises(PipelineError, match="no known machine"):
        ship.ship_targets([node("x", "10.9.9.9")], "builder", known)


def test_a_node_known_to_have_every_image_is_not_asked_again():
    from goswarm.ops.image import Image

    machines = [Machine("lab-2", "netns", "10.77.0.3"), Machine("lab-3", "netns", "10.77.0.4")]
    ids = {"lab-2": "node-2", "lab-3": "node-3"}
    old, new = Image("a", "p/a", "t1", "sha256:old"), Image("a", "p/a", "t2", "sha256:new")
    record = {"node-2": ["sha256:old"], "node-3": ["sha256:other"]}
    assert ship.known_to_have(machines, ids, [old], record) == machines[:1]
    assert ship.known_to_have(machines, ids, [old, new], record) == []  # a new image: every node is asked
    assert ship.known_to_have(machines, {"lab-2": "node-2-rejoined", "lab-3": "node-3"}, [old], record) == []
    assert ship.known_to_have(machines, ids, [old], {}) == []


def test_the_record_learns_what_nodes_got_and_forgets_nodes_gone_from_the_swarm():
    record = {"node-2": ["sha256:old"], "node-gone": ["sha256:old"]}
    ids = {"lab-2": "node-2", "lab-3": "node-3"}
    kept = ship.remember(record, ids, {"lab-2": ["sha256:new"], "lab-3": ["sha256:new"]})
    assert kept == {"node-2": ["sha256:old", "sha256:new"], "node-3": ["sha256:new"]}
    assert ship.remember(record, ids, {}) == {"node-2": ["sha256:old"]}  # a failed load teaches nothing
    many = ship.remember({"node-2": [f"sha256:{i:03}" for i in range(100)]}, ids, {"lab-2": ["sha256:000"]})
    assert len(many["node-2"]) == 64 and many["node-2"][-1] == "sha256:000"  # the newest are kept
