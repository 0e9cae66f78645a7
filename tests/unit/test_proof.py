"""The trial run before a stop-first update: its verdicts and its container. Pure."""
from pathlib import Path

import pytest

from goswarm.ops import proof
from goswarm.plan.config import Check, Service

SERVICE = Service("accounts", Path("/p"), 6767, publish=6767, env={"DEBUG": "1"})
SMOKED = Service("accounts", Path("/p"), 6767, publish=6767, env={"DEBUG": "1"}, smoke="/accounts/10000")


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


def test_the_trial_runs_like_a_task_but_checks_often_and_joins_the_network_under_no_service_name():
    config = proof.trial_settings(SMOKED, "sha256:new", "my_network", "ci:42")
    assert config["image"] == "sha256:new" and config["host_config"] == {"NetworkMode": "my_network"}
    assert "network_disabled" not in config and "networking_config" not in config  # no alias, so no traffic
    assert config["environment"] == ["DEBUG=1", "PORT=6767"]
    assert config["healthcheck"]["test"] == ["CMD", "/.goswarm/probe", "-tcp", "127.0.0.1:6767"]
    assert config["healthcheck"]["interval"] < 1_000_000_000
    assert config["labels"] == {"io.goswarm.trial": "accounts", "io.goswarm.trial.owner": "ci:42"}


def test_without_an_attachable_network_or_a_smoke_path_to_read_the_trial_has_no_network():
    assert proof.trial_settings(SMOKED, "sha256:new")["network_disabled"] is True
    assert proof.trial_settings(SERVICE, "sha256:new", "my_network")["network_disabled"] is True


def test_the_smoke_path_is_read_by_the_probe_on_the_containers_loopback():
    svc = Service("accounts", Path("/p"), 6767, publish=80, smoke="/accounts/10000")
    assert proof.smoke_command(svc) == ["/.goswarm/probe", "http://127.0.0.1:6767/accounts/10000"]


NOW = __import__("datetime").datetime(2026, 11, 30, 12, 0, tzinfo=__import__("datetime").timezone.utc)


@pytest.mark.parametrize("owner, minutes_old, left", [
    ("here:100", 0, "left by a run that was killed (pid 100)"),  # this host, its pid is gone
    ("here:200", 60, None),  # this host, its run is still going (however long)
    ("there:100", 1, None),  # another host's, young: its run may still be going
    ("there:100", 11, "left by a run on there 11 min ago"),
    ("", 11, "left by a run on an older goswarm 11 min ago"),
])
def test_trial_containers_whose_run_is_gone_are_left_overs(owner, minutes_old, left):
    created = NOW.timestamp() - minutes_old * 60
    labels = {"io.goswarm.trial": "a", "io.goswarm.trial.owner": owner}
    containers = [{"Id": "c1", "Created": created, "Labels": labels}]
    found = proof.leftovers(containers, "here", lambda pid: pid == 200, NOW)
    assert found == ([("c1", left)] if left else [])


def test_a_service_without_a_healthcheck_gets_none_in_its_trial():
    unchecked = Service("a", Path("/p"), 80, healthcheck=Check("none"))
    assert "healthcheck" not in proof.trial_settings(unchecked, "sha256:new")


def test_a_trial_of_an_image_with_its_own_check_runs_that_check():
    own = {"Test": ["CMD", "./hc"], "Interval": 10**9}
    assert proof.trial_settings(SERVICE, "sha256:new", image_check=own)["healthcheck"]["test"] == ["CMD", "./hc"]


@pytest.mark.parametrize("ref, pullable", [
    ("127.0.0.1:5000/p/a:abc@sha256:1", "127.0.0.1:5000/p/a@sha256:1"),
    ("p/a@sha256:1", "p/a@sha256:1"),
    ("127.0.0.1:5000/p/a@sha256:1", "127.0.0.1:5000/p/a@sha256:1"),
    ("p/a:abc", "p/a:abc"),
])
def test_untagged(ref, pullable):
    assert proof.untagged(ref) == pullable
