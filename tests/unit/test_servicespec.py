import copy
from pathlib import Path

import pytest

from tasks import servicespec
from tasks.config import Service

ACCOUNTS = Service("accountservice", Path("/p"), 6767, publish=6767, publish_mode="host", smoke="/health")
QUOTES = Service("quotes-service", Path("/q"), 8080)


def want(service=ACCOUNTS, image="sha256:aaa", net="net1"):
    return servicespec.desired(service, image, "someprefix/x:1", net)


def engine_view(spec: dict) -> dict:
    """What inspect returns: our spec plus the defaults the engine fills in."""
    spec = copy.deepcopy(spec)
    spec["TaskTemplate"]["ContainerSpec"]["Isolation"] = "default"
    spec["TaskTemplate"]["Runtime"] = "container"
    spec["TaskTemplate"]["ForceUpdate"] = 0
    spec["TaskTemplate"]["Placement"] = {}
    spec["UpdateConfig"]["MaxFailureRatio"] = 0
    return {"ID": "id1", "Version": {"Index": 7}, "Spec": spec}


def test_desired_spec():
    spec = want()
    assert spec["Name"] == "accountservice"
    assert spec["TaskTemplate"]["ContainerSpec"]["Image"] == "sha256:aaa"
    assert spec["TaskTemplate"]["ContainerSpec"]["Env"] == ["PORT=6767"]
    assert spec["EndpointSpec"] == {"Mode": "dnsrr", "Ports": [
        {"Protocol": "tcp", "TargetPort": 6767, "PublishedPort": 6767, "PublishMode": "host"}]}
    assert spec["UpdateConfig"]["Order"] == "stop-first"
    assert spec["Labels"]["io.goswarm.image"] == "someprefix/x:1"


@pytest.mark.parametrize("service, order, mode", [
    (ACCOUNTS, "stop-first", "dnsrr"),  # host ports: two tasks cannot share one
    (Service("a", Path("/p"), 80, publish=80, publish_mode="ingress"), "start-first", "vip"),
    (QUOTES, "start-first", "dnsrr"),  # nothing published: nothing to share
])
def test_update_order_and_endpoint_mode(service, order, mode):
    assert (servicespec.update_order(service), servicespec.endpoint_mode(service)) == (order, mode)


def test_plan_create():
    plan = servicespec.plan(ACCOUNTS, want(), None)
    assert (plan.action, plan.changes) == ("create", [])


def test_plan_none_when_only_engine_defaults_differ():
    assert servicespec.plan(ACCOUNTS, want(), engine_view(want())).action == "none"


@pytest.mark.parametrize("changed, field", [
    (Service("accountservice", Path("/p"), 6767, publish=6767, replicas=3), "replicas"),
    (Service("accountservice", Path("/p"), 6767, publish=6868), "ports"),
    (Service("accountservice", Path("/p"), 6767, publish=6767, env={"DEBUG": "1"}), "env"),
    (Service("accountservice", Path("/p"), 6767, publish=6767, constraints=("node.role==manager",)), "constraints"),
    (Service("accountservice", Path("/p"), 6767, publish=6767, publish_mode="ingress"), "ports"),
])
def test_plan_update_names_the_changed_field(changed, field):
    plan = servicespec.plan(changed, want(changed), engine_view(want()))
    assert plan.action == "update"
    assert field in [name for name, _, _ in plan.changes]


def test_plan_update_on_new_image_and_network():
    plan = servicespec.plan(ACCOUNTS, want(image="sha256:bbb", net="net2"), engine_view(want()))
    assert [(n, b, a) for n, b, a in plan.changes] == [
        ("image", "sha256:aaa", "sha256:bbb"), ("networks", ["net1"], ["net2"])]
    assert "stop-first" in plan.describe() and "image" in plan.describe()


def test_port_conflicts():
    other = {"Spec": {"Name": "web", "EndpointSpec": {"Ports": [{"PublishedPort": 6767}]}}}
    me = {"Spec": {"Name": "accountservice", "EndpointSpec": {"Ports": [{"PublishedPort": 6767}]}}}
    assert servicespec.port_conflicts(ACCOUNTS, [me, other]) == "web"
    assert servicespec.port_conflicts(ACCOUNTS, [me]) is None
    assert servicespec.port_conflicts(QUOTES, [other]) is None
    assert servicespec.publishes(me, 6767) and not servicespec.publishes(None, 6767)
