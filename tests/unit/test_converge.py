import pytest

from goswarm.plan import converge

TEMPLATE = {"ContainerSpec": {"Image": "sha256:new"}, "ForceUpdate": 0}
OLD = {"ContainerSpec": {"Image": "sha256:old"}, "ForceUpdate": 0}


def service(replicas=1, update_state=None, message=""):
    s = {"Spec": {"Mode": {"Replicated": {"Replicas": replicas}}, "TaskTemplate": {**TEMPLATE, "Runtime": "container"}}}
    if update_state:
        s["UpdateStatus"] = {"State": update_state, "Message": message}
    return s


def task(spec, desired, state, err=None):
    status = {"State": state}
    if err:
        status["Err"] = err
    return {"Spec": spec, "DesiredState": desired, "Status": status}


def test_done_when_new_running_and_old_stopped():
    p = converge.evaluate(service(), [task(TEMPLATE, "running", "running"), task(OLD, "shutdown", "shutdown")])
    assert p.done and not p.failed and (p.running, p.desired) == (1, 1)


def test_not_done_while_old_task_still_running():
    p = converge.evaluate(service(), [task(TEMPLATE, "running", "running"), task(OLD, "shutdown", "running")])
    assert not p.done and not p.failed


def test_not_done_until_all_replicas_run():
    tasks = [task(TEMPLATE, "running", "running"), task(TEMPLATE, "running", "starting")]
    assert not converge.evaluate(service(2), tasks).done


def test_port_wait_during_stop_first_is_not_blocked():
    tasks = [task(TEMPLATE, "running", "pending", "no suitable node (host-mode port already in use on 1 node)"),
             task(OLD, "shutdown", "running")]
    p = converge.evaluate(service(), tasks)
    assert p.blocked is None and not p.failed


def test_port_wait_without_old_task_is_blocked():
    tasks = [task(TEMPLATE, "running", "pending", "no suitable node (host-mode port already in use on 1 node)")]
    assert "host-mode port already in use" in converge.evaluate(service(), tasks).blocked


def test_crash_loop_fails_with_the_task_error():
    tasks = [task(TEMPLATE, "shutdown", "failed", "task: non-zero exit (2)")] * converge.CRASH_LIMIT
    p = converge.evaluate(service(), tasks)
    assert p.failed and "non-zero exit (2)" in p.error


def test_tasks_that_exit_0_by_themselves_are_a_crash_loop_too():
    """A program that exits 0 on the engine's SIGTERM for an unhealthy container: its tasks end `complete`."""
    done = task(TEMPLATE, "shutdown", "complete")
    done["Status"]["ContainerStatus"] = {"ExitCode": 0}
    assert not converge.evaluate(service(), [done] * (converge.CRASH_LIMIT - 1)).failed
    p = converge.evaluate(service(), [done] * converge.CRASH_LIMIT)
    assert p.failed and "the task exited by itself (code 0)" in p.error


def test_rollback_fails_with_the_refused_release_s_error():
    failed = task(OLD, "shutdown", "failed", "task: non-zero exit (3)")
    failed["Status"]["Timestamp"] = "2026-11-26T10:00:01Z"
    older = task(OLD, "shutdown", "failed", "an older failure")
    older["Status"]["Timestamp"] = "2026-11-26T09:00:00Z"
    p = converge.evaluate(service(update_state="rollback_completed", message="update rolled back"), [failed, older])
    assert p.failed and "rollback completed" in p.error and "non-zero exit (3)" in p.error


def test_scaled_to_zero_is_done_when_nothing_runs():
    assert converge.evaluate(service(0), [task(TEMPLATE, "shutdown", "shutdown")]).done


def test_not_done_while_the_engine_still_monitors_the_update():
    tasks = [task(TEMPLATE, "running", "running"), task(OLD, "shutdown", "shutdown")]
    assert not converge.evaluate(service(update_state="updating"), tasks).done
    assert converge.evaluate(service(update_state="completed"), tasks).done


def test_a_task_on_a_lost_node_is_not_waited_for():
    lost = task(OLD, "shutdown", "running")
    lost["NodeID"] = "gone"
    tasks = [task(TEMPLATE, "running", "running"), lost]
    assert not converge.evaluate(service(), tasks).done
    assert converge.evaluate(service(), tasks, down_nodes={"gone"}).done


def test_a_rollback_we_asked_for_is_done_once_completed():
    tasks = [task(TEMPLATE, "running", "running"), task(OLD, "shutdown", "shutdown")]
    assert not converge.evaluate(service(update_state="rollback_started"), tasks, rollback=True).done
    assert not converge.evaluate(service(update_state="completed"), tasks, rollback=True).done  # not begun yet
    p = converge.evaluate(service(update_state="rollback_completed"), tasks, rollback=True)
    assert p.done and not p.failed


def test_a_rollback_that_pauses_fails():
    p = converge.evaluate(service(update_state="rollback_paused", message="rollback paused"), [], rollback=True)
    assert p.failed and "rollback paused" in p.error


@pytest.mark.parametrize("state, image, words", [
    ("updating", None, "is still updating on its own"),
    ("updating", None, "goswarm deploy.rollback --service svc"),
    ("rollback_started", None, "is rolling back to its previous release on its own"),
    ("completed", None, "had finished updating and runs the new release"),
    ("rollback_completed", None, "was rolled back and runs its previous release"),
    ("paused", None, "update is paused"),
    (None, None, "was created and its tasks are starting on their own"),
    ("completed", "sha256:other", "was not changed and runs its previous release"),
])
def test_after_an_interrupt_the_state_and_the_way_on_are_named(state, image, words):
    assert words in converge.after_interrupt("svc", service(update_state=state), image)


def test_after_an_interrupt_before_create():
    assert converge.after_interrupt("svc", None, "sha256:new") == "svc was not created"


def test_a_global_service_is_done_when_every_task_the_engine_made_runs():
    glob = {"Spec": {"Mode": {"Global": {}}, "TaskTemplate": TEMPLATE}}
    tasks = [task(TEMPLATE, "running", "running"), task(TEMPLATE, "running", "running")]
    assert converge.evaluate(glob, tasks).done
    assert converge.evaluate(glob, tasks).desired == 2
    assert not converge.evaluate(glob, tasks + [task(TEMPLATE, "running", "starting")]).done


def test_an_update_waiting_on_a_task_of_a_lost_node_is_done_when_every_task_runs_elsewhere():
    lost = {**task(TEMPLATE, "shutdown", "assigned"), "NodeID": "down1"}
    tasks = [task(TEMPLATE, "running", "running"), task(TEMPLATE, "running", "running"), lost,
             task(OLD, "shutdown", "shutdown")]
    p = converge.evaluate(service(2, "updating"), tasks, down_nodes={"down1"})
    assert p.done and "waits on 1 task(s) on a node that is down" in p.note
    assert not converge.evaluate(service(2, "updating"), tasks[:2], down_nodes={"down1"}).done  # the monitor window


def test_progress_says_what_the_newest_waiting_task_is_doing():
    starting = task(TEMPLATE, "running", "preparing")
    starting["Status"].update(Message="preparing", Timestamp="2026-11-30T10:00:02Z")
    older = task(TEMPLATE, "running", "pending", "no suitable node (host-mode port already in use on 1 node)")
    older["Status"]["Timestamp"] = "2026-11-30T10:00:01Z"
    p = converge.evaluate(service(2, "updating"), [starting, older, task(OLD, "shutdown", "running")])
    assert p.waiting == "a new task is preparing"
    tasks = [task(TEMPLATE, "running", "running"), task(OLD, "shutdown", "running")]
    p = converge.evaluate(service(1, "updating"), tasks)
    assert p.waiting == "1 old task stopping"


def test_a_task_whose_node_could_not_pull_says_so():
    ref = "10.77.0.1:5000/p/a:1@sha256:" + "f" * 64
    failed = [task(TEMPLATE, "running", "rejected", f"No such image: {ref}") for _ in range(converge.CRASH_LIMIT)]
    p = converge.evaluate(service(), failed)
    assert p.failed and f"the node could not pull {ref} from the registry (no credentials" in p.error
    local = [task(TEMPLATE, "running", "rejected", "No such image: p/a:latest") for _ in range(converge.CRASH_LIMIT)]
    assert converge.evaluate(service(), local).error.endswith("last error: No such image: p/a:latest")


def health_log(*entries):
    """A container State whose Health.Log holds (start, end, output) checks, times as the engine writes them."""
    return {"Status": "running", "Health": {"Status": "starting", "FailingStreak": 0, "Log": [
        {"Start": f"2026-12-07T11:20:{start}Z", "End": f"2026-12-07T11:20:{end}+00:00", "ExitCode": 1,
         "Output": output} for start, end, output in entries]}}


SAID = "smoke: GET http://127.0.0.1:6767/accounts/10000: status 500: {\"error\":\n \"boom\"}\n"


def test_a_smoke_path_that_failed_for_the_grace_ends_the_wait_with_what_the_probe_said():
    failing = health_log(("00.100000000", "00.130000000", SAID), ("00.380000000", "00.410000000", SAID),
                         ("00.660000000", "00.690000000", SAID), ("00.940000000", "00.970000000", SAID),
                         ("01.220000000", "01.250000000", SAID))
    assert converge.smoke_failure(failing, 1.0) == \
        'GET http://127.0.0.1:6767/accounts/10000: status 500: {"error": "boom"}'
    assert converge.smoke_failure(failing, 2.0) == ""  # not yet for that long
    # a moment after its health check passes: the first smoke failures are not yet a verdict
    assert converge.smoke_failure(health_log(("00.100000000", "00.130000000", SAID)), 1.0) == ""
    # only failures on end count: one that the service's own check failed since breaks the run
    broken = health_log(("00.100000000", "00.130000000", SAID), ("00.940000000", "00.970000000", "tcp refused"),
                        ("01.220000000", "01.250000000", SAID))
    assert converge.smoke_failure(broken, 1.0) == ""
    assert converge.smoke_failure(health_log(("00.1", "01.9", "tcp 127.0.0.1:6767: refused")), 1.0) == ""
    assert converge.smoke_failure(None, 1.0) == converge.smoke_failure({"Status": "running"}, 1.0) == ""


def test_what_a_check_said_passes_over_the_engine_failing_to_run_it_as_the_task_stopped():
    def state(*outputs):
        return {"Health": {"Status": "unhealthy", "Log": [{"Output": o} for o in outputs]}}

    failed_exec = ("OCI runtime exec failed: exec failed: unable to start container process: error writing config to "
                   "pipe: write init-p: broken pipe: unknown")
    assert converge.check_said(state("GET /health: status 500\n", failed_exec)) == "GET /health: status 500"
    assert converge.check_said(state("GET /health: status 500", "", "  ")) == "GET /health: status 500"
    assert converge.check_said(state(failed_exec)) == failed_exec[:200]  # nothing else: the engine's words
    assert converge.check_said(state()) == converge.check_said(None) == converge.check_said({}) == ""


def stamped(state, created, ended, spec=TEMPLATE, desired="shutdown", err="task: non-zero exit (255)"):
    t = task(spec, desired, state, err)
    t["CreatedAt"], t["Status"]["Timestamp"] = f"2026-12-07T{created}Z", f"2026-12-07T{ended}Z"
    return t


def updated(started, completed=None, state="completed"):
    s = service(update_state=state)
    s["UpdateStatus"].update(StartedAt=f"2026-12-07T{started}Z", **({"CompletedAt": f"2026-12-07T{completed}Z"}
                                                                    if completed else {}))
    return s


def test_tasks_an_engine_restart_ended_after_the_update_completed_are_no_crash_loop():
    """A killed engine (a reboot) ends each task it ran with exit 255; three reboots are no failed rollout."""
    rebooted = [stamped("failed", f"{h:02}:00:05.000000001", f"{h + 1:02}:00:00.5") for h in (10, 11, 12)]
    back = stamped("running", "13:00:01", "13:00:02.25", desired="running", err=None)
    p = converge.evaluate(updated("09:59:58.123456789", "10:00:04.9"), rebooted + [back])
    assert p.done and not p.failed
    assert converge.failed_to_start(updated("09:59:58", "10:00:04.9"), rebooted) == []


def test_tasks_that_failed_during_the_update_count_whatever_their_timestamps_precision():
    crashed = [stamped("failed", f"10:00:0{i}.1", f"10:00:0{i}.123456789", err="task: non-zero exit (2)")
               for i in (1, 2, 3)]
    p = converge.evaluate(updated("10:00:00.12", state="updating"), crashed)
    assert p.failed and "3 tasks failed to start; last error: task: non-zero exit (2)" == p.error
    assert len(converge.failed_to_start(updated("10:00:00.12", "10:00:09"), crashed)) == 3


def test_a_rollback_to_a_spec_does_not_inherit_its_old_failures():
    old = [stamped("failed", f"08:00:0{i}", f"08:00:0{i}.5") for i in (1, 2, 3)]
    assert converge.failed_to_start(updated("10:00:00", state="rollback_started"), old) == []
    assert not converge.evaluate(updated("10:00:00", state="rollback_started"), old, rollback=True).failed


def test_a_never_updated_service_counts_only_tasks_that_failed_within_their_start_budget():
    s = service()
    check = {"Test": ["CMD", "/probe"], "Interval": int(1e9), "Timeout": int(2e9), "Retries": 3,
             "StartPeriod": int(10e9)}
    s["Spec"]["TaskTemplate"]["ContainerSpec"] = {**TEMPLATE["ContainerSpec"], "Healthcheck": check}
    budget = converge.START_GRACE + 10 + 3 * 3  # 139 s
    spec = {**TEMPLATE, "ContainerSpec": s["Spec"]["TaskTemplate"]["ContainerSpec"]}
    within = stamped("failed", "10:00:00", f"10:02:{budget - 120 - 1:02.0f}", spec)
    beyond = stamped("failed", "10:00:00", f"10:02:{budget - 120 + 1:02.0f}", spec)
    assert converge.failed_to_start(s, [within, beyond]) == [within]
    assert not converge.evaluate(s, [beyond] * converge.CRASH_LIMIT).failed
    assert converge.evaluate(s, [within] * converge.CRASH_LIMIT).failed
    # no health check in the spec: the engine's defaults for an image's own (30 s + 30 s, 3 times)
    assert converge.failed_to_start(service(), [stamped("failed", "10:00:00", "10:04:59")]) != []
    assert converge.failed_to_start(service(), [stamped("failed", "10:00:00", "10:05:01")]) == []
