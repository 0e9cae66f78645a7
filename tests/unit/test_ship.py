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
