from pathlib import Path

import pytest
from invoke.util import yaml

from goswarm.plan import servicespec, stack
from goswarm.plan.config import Check, Service, edge_of

SECOND = servicespec.SECOND
ACCOUNTS = Service("accountservice", Path("/p"), 6767, publish=6767, publish_mode="edge", replicas=2,
                   env={"GREETING": "hi: there"}, constraints=("node.role==worker",),
                   healthcheck=Check("http", ("/health",)))
QUOTES = Service("quotes", Path("/q"), 8080, publish=8081, publish_mode="ingress")


def spec(service, image="127.0.0.1:5000/p/accountservice:abc@sha256:1234", **kw):
    return servicespec.desired(service, image, "p/accountservice:abc", "netid", **kw)


def test_a_service_with_everything_deploy_sets():
    out = stack.service(spec(ACCOUNTS), "my_network")
    assert out["image"] == "127.0.0.1:5000/p/accountservice:abc@sha256:1234"
    assert out["environment"] == ["GREETING=hi: there", "PORT=6767"]
    assert out["stop_grace_period"] == "15s"
    assert out["networks"] == {"my_network": None}  # the stack adds the service's key as its alias
    assert "ports" not in out  # its edge publishes the port
    assert out["healthcheck"] == {
        "test": ["CMD", "/.goswarm/probe", "-steady", "10s", "http://127.0.0.1:6767/health"],
        "interval": "250ms", "timeout": "14s", "start_period": "10s", "retries": 6}
    assert out["deploy"] == {
        "mode": "replicated", "replicas": 2, "endpoint_mode": "dnsrr",
        "labels": {"io.goswarm.service": "accountservice", "io.goswarm.image": "p/accountservice:abc"},
        "placement": {"constraints": ["node.role==worker"]},
        "restart_policy": {"condition": "any", "delay": "500ms", "max_attempts": 0},
        "update_config": {"parallelism": 1, "delay": "0s", "failure_action": "rollback", "monitor": "1s",
                          "order": "start-first"},
        "rollback_config": {"parallelism": 1, "delay": "0s", "failure_action": "pause", "monitor": "1s",
                            "order": "start-first"},
    }


def test_an_edge_is_global_and_publishes_in_host_mode():
    out = stack.service(spec(edge_of(ACCOUNTS, Path("/go"))), "net")
    assert out["deploy"]["mode"] == "global" and "replicas" not in out["deploy"]
    assert out["ports"] == [{"target": 6767, "published": 6767, "protocol": "tcp", "mode": "host"}]
    assert out["deploy"]["update_config"]["order"] == "stop-first"
    assert "EDGE_APP=accountservice" in out["environment"]


def test_an_ingress_port_keeps_vip():
    out = stack.service(spec(QUOTES), "net")
    assert out["ports"] == [{"target": 8080, "published": 8081, "protocol": "tcp", "mode": "ingress"}]
    assert out["deploy"]["endpoint_mode"] == "vip"


@pytest.mark.parametrize("check, expected", [
    (Check("none"), {"disable": True}),
    (Check("command", ("/bin/check", "-x")), {"test": ["CMD", "/bin/check", "-x"], "interval": "250ms",
                                               "timeout": "2s", "start_period": "10s", "retries": 6}),
])
def test_health_checks(check, expected):
    service = Service("s", Path("/s"), 1, healthcheck=check)
    assert stack.service(spec(service), "net")["healthcheck"] == expected


def test_the_image_own_check_leaves_the_healthcheck_out():
    service = Service("s", Path("/s"), 1)
    assert "healthcheck" not in stack.service(spec(service, image_check={"Test": ["CMD", "/x"]}), "net")


@pytest.mark.parametrize("ns, text", [(15 * SECOND, "15s"), (SECOND // 2, "500ms"), (0, "0s"), (None, "0s"),
                                      (1500, "1500ns")])
def test_durations(ns, text):
    assert stack.duration(ns) == text


def test_what_compose_cannot_say_is_listed():
    made = spec(ACCOUNTS, start_interval=True, force_update=2)
    assert [what for _, what, _ in stack.dropped(made)] == ["healthcheck StartInterval", "ForceUpdate"]
    assert stack.dropped(spec(ACCOUNTS)) == []


def test_the_file_is_yaml_that_reads_back_as_the_document():
    specs = [spec(ACCOUNTS), spec(edge_of(ACCOUNTS, Path("/go"))), spec(QUOTES)]
    document = stack.compose(specs, "my_network")
    text = stack.render(document, ("made by a test", ""))
    assert text.startswith("# made by a test\n#\n")
    assert yaml.safe_load(text) == document
    assert document["version"] == "3.8" and list(document["services"]) == [
        "accountservice", "accountservice-edge", "quotes"]
    assert document["networks"] == {"my_network": {"external": True, "name": "my_network"}}


def test_render_of_empty_and_odd_values():
    document = {"a": [], "b": {}, "c": None, "d": [{"x": 1, "y": [1, 2]}, "t"], "e": 'quote " and: colon', "f": False}
    assert yaml.safe_load(stack.render(document)) == document
