"""Faults and mistakes that must never cause an outage or leave a deploy half-applied (issue #5).

Each fault runs under a client polling the service ten times a second, which must see only answers of a
working release, and each ends with a check that nothing is left behind: no deploy lock, no trial
container, and a service that has settled (a rerun, where the fault stopped one, recovers)."""
import json
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from goswarm.ops import lock
from helpers import (
    ROOT,
    CuttingProxy,
    Poller,
    Registry,
    assert_one_line_error,
    edit,
    free_port,
    http_get,
    processes_naming,
    read_until,
    running_image,
    start_inv,
    version,
    wait_for,
)

PERSON = '{"id":"10000","name":"Person_0"}\n'
TEN_PER_SECOND = 0.1
SLOW_START = ('log.Println("Starting accountservice")',  # after -healthcheck, which must stay quick
              'time.Sleep(SECONDS * time.Second)\n\tlog.Println("Starting accountservice")')
ANSWERS_500 = ("writeJSON(w, http.StatusOK, acc)", "writeJSON(w, http.StatusInternalServerError, acc)")
UNHEALTHY = ('mux.HandleFunc("/health", health)',
             'mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) })')


def deployed(swarm, mode: str, **fields):
    port = free_port()
    name = swarm.add_service("accountservice", port=6767, publish=port, publish_mode=mode, smoke="/accounts/10000",
                             **fields)
    if mode == "edge":
        swarm.names.append(f"{name}-edge")
    swarm.inv("redeploy", "--service", name)
    return name, f"http://127.0.0.1:{port}/accounts/10000"


@pytest.fixture
def edged(swarm):
    return deployed(swarm, "edge")


@pytest.fixture
def hosted(swarm):
    return deployed(swarm, "host")


def slow_start(swarm, seconds: int, prefix: str):
    """A release that listens only after `seconds`, answering with a new name."""
    edit(swarm, "accountservice", SLOW_START[0], SLOW_START[1].replace("SECONDS", str(seconds)))
    edit(swarm, "accountservice", '"Person_"', f'"{prefix}"')


def assert_left_clean(project, name: str):
    """No lock, no trial container of this service, and the service settled with every task running."""
    engine = project.engine
    assert lock.holder(engine, project.lock) is None, "the deploy lock was left behind"
    assert not engine.api.containers(all=True, filters={"label": f"io.goswarm.trial={name}"}), "a trial was left"
    service = project.service(name)
    assert (service.get("UpdateStatus") or {}).get("State") in (None, "completed", "rollback_completed")
    wanted = service["Spec"]["Mode"]["Replicated"]["Replicas"]
    running = [t for t in engine.api.tasks(filters={"service": name, "desired-state": "running"})
               if t["Status"]["State"] == "running"]
    assert len(running) == wanted, f"{len(running)}/{wanted} tasks of {name} running"


def kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)


# --- 1. placement ------------------------------------------------------------------------------------

def test_an_update_no_node_can_place_is_refused_before_anything_changes(swarm, hosted):
    name, url = hosted
    before = version(swarm, name)
    swarm.config["services"][name]["constraints"] = ["node.labels.nosuch==1"]
    edit(swarm, "accountservice", '"Person_"', '"Nowhere_"')
    with Poller(url, TEN_PER_SECOND) as poller:
        started = time.monotonic()
        result = swarm.inv("redeploy", "--service", name, check=False)
        took = time.monotonic() - started
    assert_one_line_error(result, f"{name} cannot be placed: no node meets 'node.labels.nosuch==1' "
                                  "(node.labels.nosuch of the nodes: ", ": none)", "nothing was changed")
    assert took < 15 and version(swarm, name) == before
    assert len(poller.answers) > 5 and poller.failures == []
    assert_left_clean(swarm, name)


def test_more_host_mode_replicas_than_nodes_are_refused(swarm, hosted):
    name, _ = hosted
    swarm.config["services"][name]["replicas"] = 2
    result = swarm.inv("redeploy", "--service", name, check=False)
    assert_one_line_error(result, "2 replicas with host-mode port", "need 2 nodes", "use publish_mode: edge")


def test_a_service_left_stuck_mid_update_is_rolled_back_by_the_next_run(swarm, hosted, engine):
    """Someone else's update that no node can place: the old task is gone and the new one waits forever.
    The next run must not call that "no change"."""
    name, url = hosted
    current = swarm.service(name)
    spec = current["Spec"]
    template = {**spec["TaskTemplate"], "Placement": {"Constraints": ["node.labels.nosuch==1"]}}
    engine.api.update_service(current["ID"], current["Version"]["Index"], task_template=template, name=name,
                              labels=spec["Labels"], mode=spec["Mode"], update_config=spec["UpdateConfig"],
                              rollback_config=spec["RollbackConfig"], endpoint_spec=spec["EndpointSpec"])

    def stuck():
        tasks = engine.api.tasks(filters={"service": name})
        return any(t["Status"]["State"] == "pending" for t in tasks) and not any(
            t["Status"]["State"] == "running" for t in tasks)
    wait_for(stuck, 30, "the update to get stuck")
    result = swarm.inv("redeploy", "--service", name)
    assert f"{name}: an earlier rollout has not settled (its updating is still going)" in result.output
    assert "a task cannot be placed" in result.output and "rolling it back" in result.output
    assert http_get(url) == PERSON
    assert_left_clean(swarm, name)


# --- 3. --force behind the edge -------------------------------------------------------------------------

def test_forced_redeploys_behind_the_edge_drop_no_request_and_leave_the_edge_alone(swarm, edged):
    name, url = edged
    edge, app = version(swarm, f"{name}-edge"), version(swarm, name)
    edge_image = running_image(swarm, f"{name}-edge")
    with Poller(url, TEN_PER_SECOND) as poller:
        for _ in range(3):
            result = swarm.inv("redeploy", "--service", name, "--force")
            assert "start-first" in result.output and f"{name}-edge: no change" in result.output
    assert version(swarm, name) > app
    assert version(swarm, f"{name}-edge") == edge and running_image(swarm, f"{name}-edge") == edge_image
    assert len(poller.answers) > 30 and poller.failures == []
    assert_left_clean(swarm, name)


# --- 3b. 100 keep-alive users through the edge, during every kind of update (issue #15) ------------------

LOADED = {"load": {"path": "/accounts/{id}", "ids": "10000-10099"}}
LOAD_S = "30"  # the update starts a third of the way in (10 s) and must be over before the load ends


def loaded_run(swarm, name: str, during: str) -> dict:
    """`goswarm load` with 100 keep-alive users for LOAD_S seconds, running `during` a third of the way in."""
    result = swarm.inv("load", "--service", name, "--users", "100", "--duration", LOAD_S, "--during", during,
                       "--json")
    doc = json.loads(result.stdout)
    ran = doc["during"]
    assert ran["exit_code"] == 0 and ran["end_s"] < float(LOAD_S), (ran, doc["errors"])
    assert doc["users"] == 100 and doc["requests"] > 10_000, doc
    return doc


@pytest.mark.exclusive  # its own 100 users need the machine: a starved client counts timeouts
def test_100_users_see_no_error_during_forced_redeploys_through_the_edge(swarm):
    name, _ = deployed(swarm, "edge", replicas=2, **LOADED)
    edge = version(swarm, f"{name}-edge")
    doc = loaded_run(swarm, name, f"redeploy --service {name} --force")
    assert doc["errors"] == {}, doc["errors"]
    assert version(swarm, f"{name}-edge") == edge
    assert_left_clean(swarm, name)


@pytest.mark.exclusive  # its own 100 users need the machine: a starved client counts timeouts
def test_100_users_see_no_error_during_an_edit_and_the_new_release_takes_over(swarm):
    name, url = deployed(swarm, "edge", **LOADED)
    edit(swarm, "accountservice", '"Person_"', '"Loaded_"')
    doc = loaded_run(swarm, name, f"redeploy --service {name}")
    assert doc["errors"] == {}, doc["errors"]
    assert http_get(url) == '{"id":"10000","name":"Loaded_0"}\n'
    assert_left_clean(swarm, name)


@pytest.mark.exclusive  # its own 100 users need the machine: a starved client counts timeouts
def test_100_users_see_no_error_during_a_scale_down(swarm):
    name, _ = deployed(swarm, "edge", replicas=3, **LOADED)
    swarm.config["services"][name]["replicas"] = 1
    doc = loaded_run(swarm, name, f"redeploy --service {name}")
    assert doc["errors"] == {}, doc["errors"]
    assert_left_clean(swarm, name)


@pytest.mark.exclusive  # its own 100 users need the machine: a starved client counts timeouts
def test_100_users_see_no_error_during_a_rollback(swarm):
    name, url = deployed(swarm, "edge", replicas=2, **LOADED)
    edit(swarm, "accountservice", '"Person_"', '"Rolled_"')
    swarm.inv("redeploy", "--service", name)
    assert http_get(url) == '{"id":"10000","name":"Rolled_0"}\n'
    doc = loaded_run(swarm, name, f"deploy.rollback --service {name}")
    assert doc["errors"] == {}, doc["errors"]
    assert http_get(url) == PERSON  # the previous release again
    assert_left_clean(swarm, name)


def upgraded_goswarm(tmp: Path) -> Path:
    """A copy of this goswarm as an upgrade would come, whose edge differs: HAProxy's config adds a header to every
    answer. `inv` runs it in the folder returned, with PYTHONPATH at it."""
    up = tmp / "upgraded"
    for package in ("goswarm", "tasks"):  # goswarm/tasks links to ../tasks
        shutil.copytree(ROOT / package, up / package, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("tasks.py", "invoke.yaml"):  # inv's entry point and the project's config, as in this checkout
        shutil.copy(ROOT / name, up / name)
    source = up / "goswarm" / "plan" / "edgeproxy.py"
    text = source.read_text()
    assert text.count("frontend edge\n") == 1
    source.write_text(text.replace("frontend edge\n", "frontend edge\n  http-response set-header X-Upgraded yes\n"))
    return up


def edge_tasks(swarm, name: str) -> set:
    return {(t["ID"], t["Status"]["ContainerStatus"]["ContainerID"]) for t in swarm.engine.api.tasks(
        filters={"service": f"{name}-edge", "desired-state": "running"}) if t["Status"]["State"] == "running"}


def upgraded_header(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return answer.headers.get("X-Upgraded", "")


@pytest.mark.exclusive  # its own 100 users need the machine: a starved client counts timeouts
def test_an_upgrade_that_changes_the_edge_reloads_it_in_place_under_100_users(swarm, tmp_path):
    """A goswarm upgrade with another edge (here: another HAProxy config) changes the edge's image. Its tasks take
    the new files and HAProxy reloads, so the port never closes: no task is replaced, no request fails."""
    name, url = deployed(swarm, "edge", replicas=2, **LOADED)
    tasks, edge = edge_tasks(swarm, name), version(swarm, f"{name}-edge")
    assert upgraded_header(url) == ""
    up = upgraded_goswarm(tmp_path)
    argv = swarm.argv("load", "--service", name, "--users", "100", "--duration", LOAD_S, "--during",
                      f"redeploy --service {name}", "--json")
    result = subprocess.run(argv, cwd=up, env=swarm.environ({"PYTHONPATH": str(up)}), capture_output=True,
                            text=True, stdin=subprocess.DEVNULL, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    doc = json.loads(result.stdout)
    assert doc["during"]["exit_code"] == 0 and doc["requests"] > 10_000, doc["during"]["last_line"]
    assert doc["errors"] == {}, doc["errors"]
    assert upgraded_header(url) == "yes" and http_get(url) == PERSON
    assert edge_tasks(swarm, name) == tasks  # the same tasks and containers: reloaded, not replaced
    spec = swarm.service(f"{name}-edge")["Spec"]
    assert version(swarm, f"{name}-edge") > edge and spec["Labels"]["io.goswarm.edge-runs"].endswith(
        ",".join(sorted(task for task, _ in tasks)))

    again = subprocess.run(swarm.argv("redeploy", "--service", name), cwd=up, capture_output=True,
                           env=swarm.environ({"PYTHONPATH": str(up)}), text=True, timeout=300)
    assert again.returncode == 0 and f"{name}-edge: no change" in again.stdout, again.stdout + again.stderr
    back = swarm.inv("redeploy", "--service", name)  # this goswarm again: its own edge, in place too
    assert f"reload service {name}-edge in place" in back.output, back.output
    assert f"{name}-edge: 1 task(s) reloaded in place" in back.output, back.output  # a global service: one node
    assert upgraded_header(url) == "" and edge_tasks(swarm, name) == tasks
    assert_left_clean(swarm, name)


# --- 4. a rerun after a run that was killed -------------------------------------------------------------

def test_a_rerun_waits_for_the_update_a_killed_run_left_and_reports_it(swarm, edged):
    name, url = edged
    slow_start(swarm, 4, "Later_")
    with Poller(url, TEN_PER_SECOND) as poller:
        first = start_inv(swarm, "redeploy", "--service", name)
        read_until(first, f"{name}: 0/1 tasks of the new spec running", 60)
        kill(first)
        rerun = swarm.inv("redeploy", "--service", name)
    assert f"{name}: an earlier rollout has not settled" in rerun.output
    assert f"{name}: converged" in rerun.output and "taking over the deploy lock (its process is gone)" in rerun.output
    assert http_get(url) == '{"id":"10000","name":"Later_0"}\n'  # the smoke test's 200 came from the new release
    assert poller.failures == []
    assert_left_clean(swarm, name)


def test_a_rerun_reports_that_the_engine_rolled_back_what_a_killed_run_started(swarm):
    name = swarm.add_service("quotes-service", port=8080)  # no published port: start-first, no trial
    swarm.inv("redeploy", "--service", name)
    image = running_image(swarm, name)
    edit(swarm, "quotes-service", *UNHEALTHY)
    first = start_inv(swarm, "redeploy", "--service", name)
    read_until(first, f"{name}: 0/1 tasks of the new spec running", 60)
    kill(first)
    rerun = swarm.inv("redeploy", "--service", name, check=False)
    assert_one_line_error(rerun, "update rollback completed", "this run would deploy that same release again",
                          "a new task failed its health check (GET http://127.0.0.1:8080/health inside the container), "
                          "which said: "
                          "GET http://127.0.0.1:8080/health: status 500", f"change it with services.{name}.healthcheck")
    assert f"{name}: an earlier rollout has not settled" in rerun.output
    assert running_image(swarm, name) == image
    assert_left_clean(swarm, name)


# --- 5. a release that answers 500 on its smoke path -----------------------------------------------------

@pytest.mark.parametrize("mode", ["edge", "host"])
def test_a_release_that_answers_500_on_its_smoke_path_never_takes_traffic(swarm, mode):
    name, url = deployed(swarm, mode)
    before = version(swarm, name)
    edit(swarm, "accountservice", *ANSWERS_500)
    with Poller(url, TEN_PER_SECOND) as poller:
        started = time.monotonic()
        result = swarm.inv("redeploy", "--service", name, check=False)
        took = time.monotonic() - started
    if mode == "host":  # stop-first: proven in a trial container before the old task stops
        assert_one_line_error(result, "failed in a trial container (its smoke path failed", "status 500",
                              "the running version stays up")
        assert version(swarm, name) == before
    else:  # start-first: the new task's first health check reads the smoke path, and fails it
        assert_one_line_error(result, "a new task's smoke path failed for 1 s (GET http://127.0.0.1:6767"
                              "/accounts/10000: status 500", "the engine sent it no request",
                              "rolled back to its previous release, which runs again")
        assert "trial container" not in result.output
        assert swarm.service(name)["UpdateStatus"]["State"] == "rollback_completed"
    assert took < 30
    assert len(poller.answers) > 5 and poller.failures == []
    assert set(poller.answers) == {'{"id":"10000","name":"Person_0"}\n'}  # not one answer of the new release
    assert_left_clean(swarm, name)


# --- SIGKILL at every stage ---------------------------------------------------------------------------

def test_sigkill_during_the_build_leaves_nothing_the_rerun_cannot_take_over(swarm, edged):
    name, url = edged
    edit(swarm, "accountservice", '"Person_"', '"Rebuilt_"')
    binary = str(swarm.tmp / "dist" / f"{name}-linux-amd64")
    with Poller(url, TEN_PER_SECOND) as poller:
        first = start_inv(swarm, "redeploy", "--service", name)
        wait_for(lambda: processes_naming(binary), 60, "go build to start")
        kill(first)
        rerun = swarm.inv("redeploy", "--service", name)
    # The deploy stage takes the lock, when it has something to change: a run killed in its build held none.
    assert "taking over the deploy lock" not in rerun.output and f"update service {name}" in rerun.output
    assert http_get(url) == '{"id":"10000","name":"Rebuilt_0"}\n'
    assert poller.failures == []
    assert_left_clean(swarm, name)


def test_sigkill_during_the_trial_leaves_a_container_the_next_run_removes(swarm, hosted, engine):
    name, url = hosted  # stop-first: proven in a trial first (a start-first task proves its smoke path itself)
    slow_start(swarm, 3, "Proven_")
    trials = {"label": f"io.goswarm.trial={name}"}
    with Poller(url, TEN_PER_SECOND) as poller:  # the run killed in its trial had not touched the service
        first = start_inv(swarm, "redeploy", "--service", name)
        wait_for(lambda: engine.api.containers(filters=trials), 60, "the trial container")
        kill(first)
        left = engine.api.containers(all=True, filters=trials)
        assert len(left) == 1
    assert len(poller.answers) > 5 and poller.failures == []
    rerun = swarm.inv("redeploy", "--service", name)
    assert (f"remove the trial container {left[0]['Id'][:12]} of {name}, left by a run that was killed "
            f"(pid {first.pid})") in rerun.output
    assert http_get(url) == '{"id":"10000","name":"Proven_0"}\n'
    assert_left_clean(swarm, name)


# --- the build directory on a full disk -------------------------------------------------------------------

@pytest.mark.parametrize("mount, message", [
    ("size=1m", "go build could not write"),  # the binary does not fit
    # the binaries fit (the root, .keys/ holding Go's facts: 3 inodes; what go list named for the service and the
    # probe: 2; their binaries: 2; the HTTP edge is HAProxy, not compiled), their keys do not
    ("nr_inodes=7", "cannot write"),
])
def test_a_full_dist_directory_is_one_line_and_deploys_nothing(swarm, edged, mount, message):
    name, url = edged
    before = version(swarm, name)
    full = swarm.tmp / "full-dist"
    full.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", mount, "tmpfs", str(full)], check=True)
    try:
        swarm.config["build"]["dist"] = str(full)
        edit(swarm, "accountservice", '"Person_"', '"Full_"')
        with Poller(url, TEN_PER_SECOND) as poller:
            result = swarm.inv("redeploy", "--service", name, check=False)
        assert_one_line_error(result, message, "no space left on device", "nothing was deployed")
        assert version(swarm, name) == before and poller.failures == []
    finally:
        subprocess.run(["umount", str(full)], check=True)
    swarm.inv("redeploy", "--service", name)  # the same dist directory, with room now
    assert http_get(url) == '{"id":"10000","name":"Full_0"}\n'
    assert_left_clean(swarm, name)


# --- the registry stopping in the middle of a push ---------------------------------------------------------

def test_the_registry_stopping_mid_push_deploys_nothing_and_the_rerun_recovers(swarm, tmp_path):
    registry = Registry(tmp_path, "127.0.0.1")
    registry.start()
    proxy = CuttingProxy(registry.port)
    try:
        swarm.config["image"]["registry"] = f"127.0.0.1:{proxy.port}"
        name, url = deployed(swarm, "edge")
        before = version(swarm, name)
        edit(swarm, "accountservice", '"Person_"', '"Pushed_"')
        proxy.cut_when(b"/blobs/uploads/", registry.stop)  # the first new layer's upload
        with Poller(url, TEN_PER_SECOND) as poller:
            result = swarm.inv("redeploy", "--service", name, check=False)
        assert_one_line_error(result, f"pushing 127.0.0.1:{proxy.port}/it/{name}:")
        assert version(swarm, name) == before and poller.failures == []
        assert lock.holder(swarm.engine, swarm.lock) is None
        registry.start()
        swarm.inv("redeploy", "--service", name)
        assert http_get(url) == '{"id":"10000","name":"Pushed_0"}\n'
        assert_left_clean(swarm, name)
    finally:
        proxy.close()
        registry.stop()
