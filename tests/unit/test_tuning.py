"""A service's tuning keys (plan/tuning.py): parsed as compose spells them, refused in one line naming the key,
and sent to the engine as its ServiceSpec fields; left out, they keep goswarm's defaults."""
from pathlib import Path

import pytest

from goswarm.errors import ConfigError
from goswarm.plan import config, servicespec, stack, tuning

from .test_servicespec import engine_view

FULL = {
    "resources": {"limits": {"cpus": 0.5, "memory": "256M"}, "reservations": {"cpus": "0.1", "memory": 64 << 20}},
    "command": ["/svc", "-v"], "args": "-listen :8080 -name 'a b'",
    "labels": {"team": "accounts"},
    "volumes": ["data:/var/lib/data", "cache:/cache:ro"],
    "networks": ["backend"],
    "preferences": [{"spread": "node.labels.zone"}],
    "stop_grace_period": "1m30s", "stop_signal": "SIGINT",
    "update": {"parallelism": 2, "delay": "500ms", "order": "stop-first", "monitor": 5, "failure_action": "pause",
               "max_failure_ratio": 0.25},
    "rollback": {"parallelism": 0, "failure_action": "continue"},
    "healthcheck": {"http": "/health", "interval": "2s", "timeout": 1, "retries": 5, "start_period": "30s"},
}


def service(**raw):
    return config.parse_service("svc", {"path": ".", "port": 8080, **raw}, Path("/p"))


def test_every_key_reaches_the_engines_spec():
    spec = servicespec.desired(service(**FULL), "sha256:a", "p/svc:1", "net1", networks={"backend": "net2"})
    task, container = spec["TaskTemplate"], spec["TaskTemplate"]["ContainerSpec"]
    assert task["Resources"] == {"Limits": {"NanoCPUs": 500_000_000, "MemoryBytes": 256 << 20},
                                 "Reservations": {"NanoCPUs": 100_000_000, "MemoryBytes": 64 << 20}}
    assert container["Command"] == ["/svc", "-v"] and container["Args"] == ["-listen", ":8080", "-name", "a b"]
    assert spec["Labels"]["team"] == "accounts" and spec["Labels"]["io.goswarm.service"] == "svc"
    assert container["Mounts"] == [
        {"Type": "volume", "Source": "data", "Target": "/var/lib/data", "ReadOnly": False},
        {"Type": "volume", "Source": "cache", "Target": "/cache", "ReadOnly": True}]
    assert [n["Target"] for n in task["Networks"]] == ["net1", "net2"]
    assert task["Placement"]["Preferences"] == [{"Spread": {"SpreadDescriptor": "node.labels.zone"}}]
    assert container["StopGracePeriod"] == 90 * tuning.SECOND and container["StopSignal"] == "SIGINT"
    assert spec["UpdateConfig"] == {"Parallelism": 2, "Delay": 500_000_000, "Order": "stop-first",
                                    "FailureAction": "pause", "Monitor": 5 * tuning.SECOND, "MaxFailureRatio": 0.25}
    assert spec["RollbackConfig"]["Parallelism"] == 0 and spec["RollbackConfig"]["FailureAction"] == "continue"
    check = container["Healthcheck"]
    assert (check["Interval"], check["Timeout"], check["Retries"], check["StartPeriod"]) == (
        2 * tuning.SECOND, tuning.SECOND, 5, 30 * tuning.SECOND)
    assert "-steady" not in check["Test"]  # the user's interval is the probe's


def test_left_out_they_keep_goswarms_defaults_and_a_change_is_an_update():
    plain = servicespec.desired(service(), "sha256:a", "p/svc:1", "net1")
    assert plain["UpdateConfig"] == servicespec.rollout(service(), "rollback")
    assert plain["TaskTemplate"]["ContainerSpec"]["StopGracePeriod"] == servicespec.STOP_GRACE
    assert "Resources" not in plain["TaskTemplate"] and "Command" not in plain["TaskTemplate"]["ContainerSpec"]
    current = engine_view(plain)
    assert servicespec.plan(service(), plain, current).action == "none"
    for key, value, field in (("resources", {"limits": {"memory": "1G"}}, "resources"), ("args", ["-x"], "command"),
                              ("labels", {"a": "b"}, "labels"), ("volumes", ["d:/d"], "mounts"),
                              ("preferences", ["node.labels.zone"], "preferences"),
                              ("stop_grace_period", 3, "stop grace"), ("update", {"parallelism": 3}, "update config"),
                              ("rollback", {"monitor": "2s"}, "rollback config")):
        changed = service(**{key: value})
        plan = servicespec.plan(changed, servicespec.desired(changed, "sha256:a", "p/svc:1", "net1"), current)
        assert [c[0] for c in plan.changes] == [field], key


@pytest.mark.parametrize("raw, message", [
    ({"resources": {"limit": {"cpus": 1}}}, r"services.svc.resources must be a mapping with limits"),
    ({"resources": {"limits": {"cpus": 0}}}, r"resources.limits.cpus must be a number of CPUs more than 0"),
    ({"resources": {"limits": {"memory": "lots"}}}, r"resources.limits.memory must be an amount of memory"),
    ({"command": []}, r"services.svc.command must be a list"),
    ({"labels": {"io.goswarm.project": "x"}}, r"labels.io.goswarm.project: labels under io.goswarm. are goswarm's"),
    ({"labels": {"n": 1}}, r"labels must be a mapping of label names to quoted strings"),
    ({"volumes": ["/srv:/srv"]}, r"'/srv:/srv' is not NAME:TARGET\[:ro\] \(a path is a bind mount: put it in mounts:"),
    ({"volumes": ["a:/x", "b:/x"]}, r"two volumes at /x"),
    ({"preferences": [{"spread": "zone"}]}, r"preferences must be a list like \[\{spread: node.labels.zone\}\]"),
    ({"stop_grace_period": "ten"}, r"stop_grace_period must be a duration"),
    ({"stop_signal": "INT"}, r"stop_signal must be a signal name like SIGINT"),
    ({"update": {"order": "blue-green"}}, r"update.order must be start-first or stop-first"),
    ({"rollback": {"failure_action": "rollback"}}, r"rollback.failure_action must be pause or continue"),
    ({"update": {"max_failure_ratio": 2}}, r"update.max_failure_ratio must be a fraction from 0 to 1"),
    ({"publish": 8080, "update": {"order": "start-first"}}, r"start-first needs two tasks on one published port"),
    ({"healthcheck": {"http": "/h", "retries": 0}}, r"healthcheck.retries must be a whole number from 1"),
    ({"healthcheck": {"http": "/h", "every": "1s"}}, r"healthcheck must be .* a mapping may add interval"),
])
def test_a_mistake_is_one_line_naming_the_key(raw, message):
    with pytest.raises(ConfigError, match=message):
        service(**raw)


@pytest.mark.parametrize("value, nanoseconds", [(10, 10 * tuning.SECOND), (0.5, 500_000_000),
                                                ("1m30s", 90 * tuning.SECOND), ("250ms", 250_000_000),
                                                ("1h", 3600 * tuning.SECOND), (0, 0)])
def test_durations_as_seconds_or_as_go_spells_them(value, nanoseconds):
    assert tuning.duration("d", value) == nanoseconds


@pytest.mark.parametrize("value, size", [("256M", 256 << 20), ("1g", 1 << 30), ("512MiB", 512 << 20),
                                         ("1.5G", 3 << 29), (1024, 1024), ("100k", 100 << 10)])
def test_memory_as_docker_spells_it(value, size):
    assert tuning.memory("m", value) == size


def test_a_command_healthcheck_takes_timing_too():
    check = service(healthcheck={"command": ["/svc", "-check"], "interval": 3}).healthcheck
    assert (check.kind, check.value, check.timing) == ("command", ("/svc", "-check"),
                                                       (("Interval", 3 * tuning.SECOND),))


def test_the_stack_file_says_them_as_compose_does():
    spec = servicespec.desired(service(**FULL), "sha256:a", "p/svc:1", "my_network")
    document = stack.compose([spec], "my_network")
    out = document["services"]["svc"]
    assert out["entrypoint"] == ["/svc", "-v"] and out["command"] == ["-listen", ":8080", "-name", "a b"]
    assert out["deploy"]["resources"] == {"limits": {"cpus": "0.5", "memory": 256 << 20},
                                          "reservations": {"cpus": "0.1", "memory": 64 << 20}}
    assert out["deploy"]["placement"]["preferences"] == [{"spread": "node.labels.zone"}]
    assert {"type": "volume", "source": "cache", "target": "/cache", "read_only": True} in out["volumes"]
    assert set(out["networks"]) == {"my_network", "backend"}
    assert document["networks"]["backend"] == {"external": True, "name": "backend"}
    assert document["volumes"] == {"cache": None, "data": None}
