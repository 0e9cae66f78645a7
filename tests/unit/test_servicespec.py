import copy
import dataclasses
from pathlib import Path

import pytest

from goswarm.plan import servicespec
from goswarm.plan.config import Check, Mount, Service

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
    (Service("accountservice", Path("/p"), 6767, publish=6767, healthcheck=Check("none")), "healthcheck"),
    (Service("accountservice", Path("/p"), 6767, publish=6767, healthcheck=Check("command", ("/check",))),
     "healthcheck"),
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
    assert servicespec.port_conflicts(6767, [me, other], {"accountservice"}) == "web"
    assert servicespec.port_conflicts(6767, [me], {"accountservice"}) is None
    assert servicespec.port_conflicts(8080, [other]) is None
    # An app handing its port to its edge: both are ours, neither is a conflict.
    assert servicespec.port_conflicts(6767, [me], {"accountservice", "accountservice-edge"}) is None
    assert servicespec.publishes(me, 6767) and not servicespec.publishes(None, 6767)


def test_tasks_are_health_gated_and_drain_within_the_grace_period():
    container = want()["TaskTemplate"]["ContainerSpec"]
    check = container["Healthcheck"]
    # No check configured and none in the image: the port, through the probe goswarm adds to the image; a new
    # task's first check also reads the smoke path, so the engine sends it no request before that answers.
    assert check["Test"] == ["CMD", "/.goswarm/probe", "-steady", "10s", "-smoke",
                             "http://127.0.0.1:6767/health", "-tcp", "127.0.0.1:6767"]
    assert servicespec.gates_smoke(ACCOUNTS, None)
    # A command, or the image's own check, cannot: a start-first update proves the smoke path in a trial.
    assert not servicespec.gates_smoke(dataclasses.replace(ACCOUNTS, healthcheck=Check("command", ("/x",))), None)
    assert not servicespec.gates_smoke(ACCOUNTS, {"Test": ["CMD", "/service", "-healthcheck"]})
    assert not servicespec.gates_smoke(dataclasses.replace(ACCOUNTS, smoke=None), None)
    # A trial container reads the smoke path itself, after its check: its check does not.
    trial = servicespec.trial_check(ACCOUNTS, None, servicespec.SECOND // 10)
    assert trial["Test"] == ["CMD", "/.goswarm/probe", "-tcp", "127.0.0.1:6767"]
    # Docker's default interval (30 s) would make each task wait 30 s before it counts as running.
    assert check["Interval"] <= servicespec.SECOND and check["StartPeriod"] > 0
    # -steady stays in the check for 10 s once healthy: the timeout must cover it.
    assert check["Timeout"] > 12 * servicespec.SECOND
    # The services drain for up to 10 s on SIGTERM (services/*/main.go).
    assert container["StopGracePeriod"] > 10 * servicespec.SECOND


# With the engine's StartInterval, a probe check is healthy as soon as it answers, then cheap.
@pytest.mark.parametrize("check, start_interval, test, interval, start", [
    (Check("http", ("/health",)), False, ["CMD", "/.goswarm/probe", "-steady", "10s", "http://127.0.0.1:80/health"],
     servicespec.SECOND // 4, None),
    (Check("http", ("/health",)), True, ["CMD", "/.goswarm/probe", "http://127.0.0.1:80/health"],
     10 * servicespec.SECOND, servicespec.SECOND // 4),
    (Check("http", ("/healthz",), 81), True, ["CMD", "/.goswarm/probe", "http://127.0.0.1:81/healthz"],
     10 * servicespec.SECOND, servicespec.SECOND // 4),
    (Check("tcp"), True, ["CMD", "/.goswarm/probe", "-tcp", "127.0.0.1:80"], 10 * servicespec.SECOND,
     servicespec.SECOND // 4),
    (Check("command", ("/bin/check", "-v")), False, ["CMD", "/bin/check", "-v"], servicespec.SECOND // 4, None),
    (Check("command", ("/bin/check", "-v")), True, ["CMD", "/bin/check", "-v"], servicespec.SECOND // 4, None),
])
def test_each_kind_of_check_and_the_engines_start_interval(check, start_interval, test, interval, start):
    spec = servicespec.healthcheck(Service("a", Path("/p"), 80, healthcheck=check), None, start_interval)
    assert (spec["Test"], spec["Interval"], spec.get("StartInterval")) == (test, interval, start)


def test_no_healthcheck_when_the_service_has_none_not_even_the_images():
    spec = servicespec.desired(Service("a", Path("/p"), 80, healthcheck=Check("none")), "sha256:a", "x:1", "net1")
    assert spec["TaskTemplate"]["ContainerSpec"]["Healthcheck"] == {"Test": ["NONE"]}


IMAGE_CHECK = {"Test": ["CMD", "./healthchecker-linux-amd64", "-port=6767"], "Interval": 1_000_000_000}


def test_the_images_own_healthcheck_is_kept_as_it_declares_it_unless_the_config_sets_one():
    kept = servicespec.desired(Service("a", Path("/p"), 80), "sha256:a", "x:1", "net1", image_check=IMAGE_CHECK)
    assert "Healthcheck" not in kept["TaskTemplate"]["ContainerSpec"]  # the engine runs the image's, as declared
    configured = Service("a", Path("/p"), 80, healthcheck=Check("http", ("/ready",)))
    spec = servicespec.desired(configured, "sha256:a", "x:1", "net1", image_check=IMAGE_CHECK)
    assert spec["TaskTemplate"]["ContainerSpec"]["Healthcheck"]["Test"][-1] == "http://127.0.0.1:80/ready"


def test_a_trial_checks_the_same_thing_often_and_without_steady():
    trial = servicespec.trial_check(Service("a", Path("/p"), 80), IMAGE_CHECK, servicespec.SECOND // 10)
    assert trial["Test"] == IMAGE_CHECK["Test"] and trial["Interval"] == servicespec.SECOND // 10
    probe = servicespec.trial_check(Service("a", Path("/p"), 80, healthcheck=Check("tcp")), None, 1)
    assert "-steady" not in probe["Test"]
    assert servicespec.trial_check(Service("a", Path("/p"), 80, healthcheck=Check("none")), None, 1) is None


def test_updates_roll_back_on_failure_and_roll_back_with_our_own_config():
    spec = want()
    assert spec["UpdateConfig"]["FailureAction"] == "rollback" and spec["UpdateConfig"]["Parallelism"] == 1
    assert spec["UpdateConfig"]["Monitor"] > 0
    assert spec["RollbackConfig"]["Order"] == spec["UpdateConfig"]["Order"]


def test_a_forced_update_is_a_change_and_nothing_else_is():
    plan = servicespec.plan(ACCOUNTS, servicespec.desired(ACCOUNTS, "sha256:aaa", "someprefix/x:1", "net1", 1),
                            engine_view(want()))
    assert plan.action == "update" and [name for name, _, _ in plan.changes] == ["forced updates"]


@pytest.mark.parametrize("service, words", [
    (ACCOUNTS, "host-mode port 6767 can be bound by one task per node, so the old task stops first"),
    (Service("a", Path("/p"), 80, publish=80, publish_mode="ingress"), "the ingress mesh lets old and new tasks"),
    (QUOTES, "no published port, so the new task starts before the old one stops"),
])
def test_the_plan_says_why_it_chose_the_update_order(service, words):
    plan = servicespec.plan(service, want(service, image="sha256:new"), engine_view(want(service)))
    assert words in plan.describe()


EDGED = Service("accountservice", Path("/p"), 6767, publish=6767, publish_mode="edge", replicas=2)


def test_in_edge_mode_the_app_publishes_nothing_and_updates_start_first():
    spec = want(EDGED)
    assert spec["EndpointSpec"] == {"Mode": "dnsrr", "Ports": []}
    assert spec["UpdateConfig"]["Order"] == "start-first"
    assert "accountservice-edge holds port 6767" in servicespec.plan(
        EDGED, want(EDGED, image="sha256:new"), engine_view(want(EDGED))).describe()


def test_the_edge_holds_the_port_on_every_node_and_forwards_to_the_app():
    from goswarm.plan import config
    edge = config.edge_of(EDGED, Path("/project"))
    spec = servicespec.desired(edge, "sha256:edge", "someprefix/goswarm-edge:1", "net1")
    assert spec["Name"] == "accountservice-edge" and spec["Mode"] == {"Global": {}}
    assert spec["EndpointSpec"]["Ports"] == [
        {"Protocol": "tcp", "TargetPort": 6767, "PublishedPort": 6767, "PublishMode": "host"}]
    env = dict(e.split("=", 1) for e in spec["TaskTemplate"]["ContainerSpec"]["Env"])
    assert (env["EDGE_PORT"], env["EDGE_APP"], env["EDGE_APP_PORT"]) == ("6767", "accountservice", "6767")
    assert spec["UpdateConfig"]["Order"] == "stop-first"
    assert servicespec.observe(spec)["replicas"] == "one per node"


def test_the_edge_of_a_tcp_service_is_the_l4_forwarder():
    from goswarm.plan import config
    tcp = dataclasses.replace(EDGED, protocol="tcp")
    edge = config.edge_of(tcp, Path("/project"))
    spec = servicespec.desired(edge, "sha256:edge", "someprefix/goswarm-tcpedge:1", "net1")
    assert {"LISTEN=:6767", "TARGET=accountservice:6767"} <= set(spec["TaskTemplate"]["ContainerSpec"]["Env"])
    assert edge.path == Path("/project/tcpedge") and config.edge_image(tcp) == config.TCP_EDGE


VISUALIZER = Service("visualizer", None, 8080, publish=8080, image="dockersamples/visualizer",
                     constraints=("node.role==manager",),
                     mounts=(Mount("/var/run/docker.sock", "/var/run/docker.sock"),))


def test_an_image_service_mounts_what_it_names_and_a_mount_change_is_an_update():
    spec = want(VISUALIZER, image="dockersamples/visualizer:latest")
    container = spec["TaskTemplate"]["ContainerSpec"]
    assert container["Mounts"] == [{"Type": "bind", "Source": "/var/run/docker.sock",
                                    "Target": "/var/run/docker.sock", "ReadOnly": False}]
    assert container["Image"] == "dockersamples/visualizer:latest"
    assert spec["TaskTemplate"]["Placement"] == {"Constraints": ["node.role==manager"]}
    assert "Mounts" not in want()["TaskTemplate"]["ContainerSpec"]
    unmounted = servicespec.plan(VISUALIZER, want(ACCOUNTS), engine_view(spec))
    assert ("mounts", ["/var/run/docker.sock:/var/run/docker.sock"], []) in unmounted.changes


def test_an_image_service_without_a_check_of_its_own_gets_none_not_goswarms_probe():
    assert servicespec.check_of(VISUALIZER, None) == Check("none")
    assert servicespec.healthcheck(VISUALIZER, None) == {"Test": ["NONE"]}
    assert servicespec.check_of(VISUALIZER, {"Test": ["CMD", "/check"]}) == Check("image")
    assert servicespec.check_of(ACCOUNTS, None) == Check("tcp")


def test_a_projects_services_carry_its_label_and_a_new_owner_is_a_change():
    service = Service("a", Path("/p"), 80)
    spec = servicespec.desired(service, "sha256:a", "x:1", "net1", project="shop")
    assert spec["Labels"][servicespec.PROJECT_LABEL] == "shop"
    assert servicespec.PROJECT_LABEL not in servicespec.desired(service, "sha256:a", "x:1", "net1")["Labels"]
    unlabelled = {"Spec": servicespec.desired(service, "sha256:a", "x:1", "net1")}
    assert servicespec.plan(service, spec, unlabelled).changes == [("project", None, "shop")]
    assert servicespec.plan(service, spec, {"Spec": spec}).action == "none"
