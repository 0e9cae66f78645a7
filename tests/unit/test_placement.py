"""Placement is judged before anything changes, from node inspects recorded on the 3-node lab:
lab-1 manager, lab-2 worker with labels zone=a and disk=ssd, lab-3 worker drained."""
import json
from pathlib import Path

import pytest

from goswarm.plan import placement
from goswarm.plan.config import parse_service
from goswarm.plan.platforms import Platform

NODES = json.loads((Path(__file__).parents[1] / "fixtures" / "engine" / "lab-nodes.json").read_text())
AMD64 = [Platform("linux", "amd64")]


def service(**fields):
    return parse_service("web", {"path": "web", "port": 80, **fields}, Path("/p"))


def hostnames(nodes):
    return sorted(n["Description"]["Hostname"] for n in nodes)


@pytest.mark.parametrize("text, where", [
    ("node.role==manager", ["lab-1"]),
    ("node.role != manager", ["lab-2", "lab-3"]),
    ("node.ROLE==Worker", ["lab-2", "lab-3"]),  # keys and values compare case-insensitively
    ("node.labels.zone==a", ["lab-2"]),
    ("node.labels.zone!=a", ["lab-1", "lab-3"]),  # a missing label reads as ""
    ("node.labels.Zone==a", []),  # label names are case-sensitive
    ("node.hostname==lab-3", ["lab-3"]),
    ("node.ip==10.77.0.0/24", ["lab-1", "lab-2", "lab-3"]),
    ("node.ip==10.77.0.3", ["lab-2"]),
    ("node.platform.arch==x86_64", ["lab-1", "lab-2", "lab-3"]),
    ("node.platform.os!=linux", []),
    ("node.nosuch==1", []),  # a key swarm does not know places nothing
])
def test_constraints_match_as_swarm_matches_them(text, where):
    constraint = placement.parse(text)
    assert hostnames(n for n in NODES if constraint.matches(n)) == where


@pytest.mark.parametrize("text", ["node.role", "node.role=manager", "==x", "node.role==", "1node==a", "no de==x"])
def test_malformed_constraints_are_refused(text):
    with pytest.raises(ValueError, match="is not KEY==VALUE or KEY!=VALUE"):
        placement.parse(text)


def test_a_drained_node_takes_no_task():
    assert hostnames(placement.usable(NODES)) == ["lab-1", "lab-2"]


def test_placeable_services_pass():
    for fields in ({}, {"constraints": ["node.labels.zone==a"]}, {"publish": 80, "replicas": 2},
                   {"publish": 80, "replicas": 9, "publish_mode": "edge"}, {"constraints": ["node.role==manager"]}):
        assert placement.refusal(service(**fields), NODES, AMD64) is None


def test_a_label_no_node_has_is_refused_naming_it_and_what_the_nodes_offer():
    line = placement.refusal(service(constraints=["node.labels.nosuch==1"]), NODES, AMD64)
    assert line == ("web cannot be placed: no node meets 'node.labels.nosuch==1' "
                    "(node.labels.nosuch of the nodes: lab-1: none, lab-2: none) (lab-3 is drained)")


def test_constraints_narrow_one_after_another():
    line = placement.refusal(service(constraints=["node.role==worker", "node.labels.disk==hdd"]), NODES, AMD64)
    assert "no node meets 'node.labels.disk==hdd' (node.labels.disk of the nodes: lab-2: ssd)" in line


def test_machine_names_are_used_when_known():
    names = {n["ID"]: f"m{i}" for i, n in enumerate(NODES)}
    line = placement.refusal(service(constraints=["node.role==nobody"]), NODES, AMD64, names)
    assert "(node.role of the nodes: m0: manager, m1: worker) (m2 is drained)" in line


def test_an_unknown_key_is_named_with_the_keys_swarm_knows():
    line = placement.refusal(service(constraints=["node.zone==a"]), NODES, AMD64)
    assert "names 'node.zone', which swarm does not know; use node.id" in line


def test_more_host_mode_replicas_than_nodes_are_refused():
    line = placement.refusal(service(publish=80, replicas=3), NODES, AMD64)
    assert line.startswith("web cannot be placed: 3 replicas with host-mode port 80 need 3 nodes (one task per "
                           "node and port), and 2 can take one (lab-1, lab-2) (lab-3 is drained)")
    assert "use publish_mode: edge" in line


def test_an_image_no_node_can_run_is_refused():
    line = placement.refusal(service(), NODES, [Platform("linux", "arm64")])
    assert line == ("web cannot be placed: it is built for linux/arm64, and the nodes it may use run "
                    "lab-1: linux/amd64, lab-2: linux/amd64; add their platform to build.platforms")


def test_no_ready_node():
    down = [{**n, "Status": {**n["Status"], "State": "down"}} for n in NODES]
    assert "no node is ready and active (lab-1 is down; lab-2 is down; lab-3 is down)" in placement.refusal(
        service(), down, AMD64)


def test_an_image_goswarm_did_not_build_is_not_judged_by_platform():
    from goswarm.plan.config import Service

    nodes = NODES
    viz = Service("visualizer", None, 8080, publish=8080, image="dockersamples/visualizer",
                  constraints=("node.role==manager",))
    assert placement.refusal(viz, nodes, []) is None
    arm = [Platform("linux", "arm64")]
    assert "it is built for linux/arm64" in placement.refusal(service(constraints=["node.role==manager"]), nodes, arm)
