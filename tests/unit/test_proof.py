"""The trial run before a stop-first update: its verdicts and its container. Pure."""
from pathlib import Path

import pytest

from tasks import proof
from tasks.config import Service

SERVICE = Service("accounts", Path("/p"), 6767, publish=6767, env={"DEBUG": "1"})


@pytest.mark.parametrize("state, checked, verdict", [
    ({"Status": "running", "Health": {"Status": "starting"}}, True, None),
    ({"Status": "running", "Health": {"Status": "healthy"}}, True, "healthy"),
    ({"Status": "exited", "ExitCode": 3}, True, "it exited with code 3"),
    ({"Status": "exited", "ExitCode": 0}, False, "it exited with code 0"),
    ({"Status": "running"}, False, "running"),
    ({"Status": "created"}, False, None),
    ({"Status": "running", "Health": {"Status": "unhealthy", "FailingStreak": 3,
                                      "Log": [{"Output": "healthcheck: status 500\nmore\n"}]}}, True,
     "its health check failed 3 times: healthcheck: status 500"),
])
def test_verdict(state, checked, verdict):
    assert proof.verdict(state, checked) == verdict


def test_the_trial_runs_like_a_task_but_checks_often_and_has_no_network():
    config = proof.trial_config(SERVICE, "sha256:new")
    assert config["image"] == "sha256:new" and config["network_disabled"] is True
    assert config["environment"] == ["DEBUG=1", "PORT=6767"]
    assert config["healthcheck"]["test"] == ["CMD", "/service", "-healthcheck"]
    assert config["healthcheck"]["interval"] < 1_000_000_000


def test_a_service_without_a_healthcheck_gets_none_in_its_trial():
    assert "healthcheck" not in proof.trial_config(Service("a", Path("/p"), 80, healthcheck=()), "sha256:new")


@pytest.mark.parametrize("ref, pullable", [
    ("127.0.0.1:5000/p/a:abc@sha256:1", "127.0.0.1:5000/p/a@sha256:1"),
    ("p/a@sha256:1", "p/a@sha256:1"),
    ("127.0.0.1:5000/p/a@sha256:1", "127.0.0.1:5000/p/a@sha256:1"),
    ("p/a:abc", "p/a:abc"),
])
def test_untagged(ref, pullable):
    assert proof.untagged(ref) == pullable
