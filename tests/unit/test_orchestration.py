"""The operations against recorded engine answers (tests/unit/replay.py): what they ask the engine to do, and
what they make of its answers, through the real docker SDK and with nothing of goswarm patched."""
import datetime as dt
import os
import socket

import pytest

from goswarm.io.shell import Shell
from goswarm.ops import history, image, proof, rollout, swarm
from goswarm.plan import history as history_plan

from .replay import engine

SERVICE = "fx-account"


def shell(dry=False) -> Shell:
    return Shell(runner=None, dry=dry)


def test_a_converged_rollout_is_only_read():
    client, state = engine()
    rollout.wait(shell(), client, SERVICE, timeout=5)
    assert state.writes() == []
    asked = {(r.method, r.path) for r in state.sent}
    assert asked == {("GET", "/services/fx-account"), ("GET", "/tasks"), ("GET", "/nodes")}
    [tasks] = {str(r.query["filters"]) for r in state.sent if r.path == "/tasks"}
    assert state.inspect["ID"] in tasks  # by the service's ID: a name filter also matches longer names


def test_a_rollback_asks_the_engine_for_the_previous_spec_of_the_version_it_read(capsys):
    client, state = engine()
    state.inspect["UpdateStatus"]["State"] = "rollback_completed"  # as the engine says once it is done
    rollout.rollback(shell(), client, SERVICE, timeout=5)
    [update] = state.writes()
    assert (update.method, update.path) == ("POST", f"/services/{state.inspect['ID']}/update")
    assert update.query == {"version": str(state.inspect["Version"]["Index"]), "rollback": "previous"}
    assert update.body == state.inspect["Spec"]
    assert "fx-account: rolled back, 2/2 running" in capsys.readouterr().out


def test_a_dry_rollback_changes_nothing(capsys):
    client, state = engine()
    rollout.rollback(shell(dry=True), client, SERVICE, timeout=5)
    assert state.writes() == []
    assert "[dry] would roll back fx-account to its previous release" in capsys.readouterr().out


def test_a_rollback_with_no_previous_spec_is_refused_before_any_write():
    client, state = engine()
    del state.inspect["PreviousSpec"]
    with pytest.raises(Exception, match="fx-account has no previous release to go back to"):
        rollout.rollback(shell(), client, SERVICE, timeout=5)
    assert state.writes() == []


def test_tasks_that_keep_failing_end_the_wait_with_the_engines_error():
    client, state = engine()
    spec = state.inspect["Spec"]["TaskTemplate"]
    for task in state.tasks:
        if task["ServiceID"] == state.inspect["ID"] and task["DesiredState"] == "running":
            task["Status"].update(State="failed", Err="task: non-zero exit (2)")
            task["Spec"] = spec
    failed = [dict(t, ID=f"{t['ID']}{n}") for n in range(3) for t in state.tasks
              if t["ServiceID"] == state.inspect["ID"] and t["Status"]["State"] == "failed"]
    state.tasks += failed
    with pytest.raises(rollout.RolloutFailed, match=r"fx-account: \d+ tasks failed to start; last error: "
                                                    r"task: non-zero exit \(2\)"):
        rollout.wait(shell(), client, SERVICE, timeout=5)
    assert state.writes() == []


def test_a_removed_service_is_gone_once_its_tasks_are_or_their_node_is_down(capsys):
    client, state = engine()
    service_id = state.inspect["ID"]
    for node in state.nodes:
        node["Status"]["State"] = "down"  # its tasks keep their last state forever: not waited for
    rollout.wait_gone(client, SERVICE, service_id, timeout=2)
    assert "fx-account: removed" in capsys.readouterr().out
    client, state = engine()
    with pytest.raises(Exception, match=r"fx-account: \d+ tasks still running 1s after removal"):
        rollout.wait_gone(client, SERVICE, service_id, timeout=1)


def test_down_nodes_are_the_ones_the_managers_see_down():
    client, state = engine()
    assert swarm.down_nodes(client) == set()
    state.nodes[0]["Status"]["State"] = "down"
    assert swarm.down_nodes(client) == {state.nodes[0]["ID"]}


def test_the_sweep_removes_only_trials_whose_run_is_gone(capsys):
    client, state = engine()
    here, now = socket.gethostname(), dt.datetime.now(dt.timezone.utc).timestamp()
    dead = 2 ** 22 + 17  # above any pid_max: no such process
    state.listed = [
        {"Id": "a" * 64, "Created": now, "Labels": {proof.TRIAL: "api", proof.OWNER: f"{here}:{dead}"}},
        {"Id": "b" * 64, "Created": now, "Labels": {proof.TRIAL: "web", proof.OWNER: f"{here}:{os.getpid()}"}},
        {"Id": "c" * 64, "Created": now - 3600, "Labels": {proof.TRIAL: "db", proof.OWNER: "elsewhere:12"}},
        {"Id": "d" * 64, "Created": now, "Labels": {"other": "x"}},
    ]
    proof.sweep(shell(), client)
    [listing] = [r for r in state.sent if r.path == "/containers/json"]
    assert listing.query["filters"] == {"label": [proof.TRIAL]} and listing.query["all"] in ("1", "True", "true")
    removed = [(r.path, r.query.get("force")) for r in state.writes()]
    assert removed == [(f"/containers/{'a' * 64}", "True"), (f"/containers/{'c' * 64}", "True")]
    out = capsys.readouterr().out
    assert f"left by a run that was killed (pid {dead})" in out and "left by a run on elsewhere 60 min ago" in out


def test_a_release_number_another_run_took_first_is_read_again_and_the_next_one_taken():
    client, state = engine()
    images = {"api": image.Image("api", "p/api", "abc", "sha256:" + "1" * 64)}
    history.record(shell(), client, "proj", images)
    state.taken.add(history_plan.object_name("proj", 2))  # a run under another lock name records 2 first
    history.record(shell(), client, "proj", images)
    creates = [r.body["Name"] for r in state.writes() if r.path == "/configs/create"]
    assert creates == [history_plan.object_name("proj", n) for n in (1, 2, 3)]
    assert sorted(e["seq"] for e in history.read(client, "proj")) == [1, 2, 3]


def starting_task(state, container: str, log: list) -> None:
    """One of the service's running tasks becomes a new one of its spec, still starting, its checks in `log`."""
    task = next(t for t in state.tasks if t["ServiceID"] == state.inspect["ID"] and t["DesiredState"] == "running")
    task["Spec"] = state.inspect["Spec"]["TaskTemplate"]
    task["Status"].update(State="starting", ContainerStatus={"ContainerID": container})
    state.inspect["UpdateStatus"] = {"State": "updating"}
    state.containers[container] = {"Id": container, "State": {"Status": "running", "Health": {
        "Status": "starting", "FailingStreak": 0, "Log": [
            {"Start": f"2026-12-07T11:20:0{n}.100000000Z", "End": f"2026-12-07T11:20:0{n}.130000000Z",
             "ExitCode": code, "Output": said} for n, (code, said) in enumerate(log)]}}}


def test_a_new_task_that_keeps_failing_its_smoke_path_ends_the_wait_with_what_the_probe_said():
    client, state = engine()
    said = "smoke: GET http://127.0.0.1:6767/accounts/10000: status 500: oops\n"
    starting_task(state, "d" * 64, [(1, said), (1, said)])  # 1.03 s on end
    with pytest.raises(rollout.RolloutFailed, match=r"fx-account: a new task's smoke path failed for 1 s \(GET "
                                                    r"http://127.0.0.1:6767/accounts/10000: status 500: oops\); "
                                                    r"the engine sent it no request"):
        rollout.wait(shell(), client, SERVICE, timeout=5)
    assert ("GET", f"/containers/{'d' * 64}/json") in {(r.method, r.path) for r in state.sent}
    assert state.writes() == []


def test_a_new_task_whose_smoke_path_failed_once_is_given_its_grace():
    client, state = engine()
    starting_task(state, "e" * 64, [(1, "tcp 127.0.0.1:6767: refused"), (1, "smoke: GET ...: status 503")])
    with pytest.raises(rollout.RolloutFailed, match=r"not converged after 1s"):
        rollout.wait(shell(), client, SERVICE, timeout=1)


def test_an_unhealthy_task_is_named_with_the_last_check_that_said_something():
    client, state = engine()
    starting_task(state, "f" * 64, [(1, "GET http://127.0.0.1:8080/health: status 500"), (-1, "")])
    state.containers["f" * 64]["State"]["Health"]["Status"] = "unhealthy"
    said = rollout.unhealthy(client, SERVICE, state.tasks, "GET http://127.0.0.1:8080/health inside the container")
    assert said == ("; a new task failed its health check (GET http://127.0.0.1:8080/health inside the container), "
                    "which said: GET http://127.0.0.1:8080/health: status 500; change it with "
                    "services.fx-account.healthcheck")
