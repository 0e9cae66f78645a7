"""ops/external's pure part: references and the nodes an `image:` service may run on (recorded lab nodes)."""
import pytest

from goswarm.ops import external
from goswarm.plan import config

from .recorded import payload


@pytest.mark.parametrize("ref, parts", [
    ("dockersamples/visualizer", ("dockersamples/visualizer", "latest")),
    ("eriklupander/dvizz:1.0", ("eriklupander/dvizz", "1.0")),
    ("127.0.0.1:5000/a/b", ("127.0.0.1:5000/a/b", "latest")),
    ("127.0.0.1:5000/a/b:2", ("127.0.0.1:5000/a/b", "2")),
    ("a/b@sha256:0123", ("a/b", "digest")),
])
def test_split(ref, parts):
    assert external.split(ref) == parts


def test_eligible_nodes_follow_the_constraints_and_skip_drained_ones():
    nodes = payload("lab-nodes")
    managers = config.Service("v", None, 8080, image="x", constraints=("node.role==manager",))
    anywhere = config.Service("v", None, 8080, image="x")
    assert [n["Description"]["Hostname"] for n in external.eligible(managers, nodes)] == ["lab-1"]
    assert sorted(n["Description"]["Hostname"] for n in external.eligible(anywhere, nodes)) == ["lab-1", "lab-2"]
