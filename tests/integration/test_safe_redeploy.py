"""Issue #4 on a real engine: skip what did not change, never stop a working release for a broken one,
roll back on a failed smoke test, one deploy at a time, and a clean Ctrl-C."""
import signal
import time

import pytest

from goswarm.ops import lock
from helpers import (
    Poller,
    edit,
    free_port,
    http_get,
    read_until,
    running_image,
    start_inv,
    version,
    wait_for,
)


@pytest.fixture
def accounts(swarm):
    """accountservice deployed on a host-mode port (a stop-first update), answering as Person_0."""
    port = free_port()
    name = swarm.add_service("accountservice", port=6767, publish=port, smoke="/accounts/10000")
    swarm.inv("redeploy", "--service", name)
    return name, f"http://127.0.0.1:{port}/accounts/10000"


def test_a_redeploy_with_nothing_changed_changes_nothing_and_says_why(swarm, accounts):
    name, url = accounts
    binary = swarm.tmp / "dist" / f"{name}-linux-amd64"
    before, built = version(swarm, name), binary.stat().st_mtime_ns
    result = swarm.inv("redeploy", "--service", name)
    assert version(swarm, name) == before
    assert binary.stat().st_mtime_ns == built
    assert "up to date (same packages, files, Go environment and flags)" in result.output
    assert "up to date (same binary and Dockerfile)" in result.output
    assert f"{name}: no change: it already runs it/{name}:" in result.output
    forced = swarm.inv("redeploy", "--service", name, "--force")
    assert version(swarm, name) > before and binary.stat().st_mtime_ns != built
    assert "forced updates 0 -> 1" in forced.output


def test_a_one_line_change_rebuilds_and_updates_only_that_service(swarm):
    port = free_port()
    accounts = swarm.add_service("accountservice", port=6767, publish=port, smoke="/accounts/10000")
    quotes = swarm.add_service("quotes-service", port=8080)
    both = f"{accounts},{quotes}"  # never all: the project's own services are in the merged config too
    swarm.inv("redeploy", "--service", both)
    versions = {n: version(swarm, n) for n in (accounts, quotes)}
    edit(swarm, "accountservice", '"Person_"', '"Changed_"')
    result = swarm.inv("redeploy", "--service", both)
    assert version(swarm, quotes) == versions[quotes]
    assert version(swarm, accounts) > versions[accounts]
    assert f"{quotes}-linux-amd64: up to date" in result.output
    assert f"{quotes}: no change" in result.output
    assert http_get(f"http://127.0.0.1:{port}/accounts/10000") == '{"id":"10000","name":"Changed_0"}\n'


def test_a_release_that_crashes_never_stops_the_old_one(swarm, accounts):
    name, url = accounts
    before, image = version(swarm, name), running_image(swarm, name)
    edit(swarm, "accountservice", "func main() {", "func main() {\n\tos.Exit(3)")
    with Poller(url) as poller:
        started = time.monotonic()
        result = swarm.inv("redeploy", "--service", name, check=False)
        took = time.monotonic() - started
    assert result.returncode == 1 and "Traceback" not in result.output
    assert "the new release failed in a trial container (it exited with code 3)" in result.stderr
    assert "the running version stays up" in result.stderr
    assert took < 60
    assert version(swarm, name) == before and running_image(swarm, name) == image
    assert len(poller.answers) > 10
    assert set(poller.answers) == {'{"id":"10000","name":"Person_0"}\n'}, "the old release stopped answering"


def test_a_release_that_fails_its_health_check_never_stops_the_old_one(swarm, accounts):
    name, url = accounts
    before = version(swarm, name)
    edit(swarm, "accountservice", 'mux.HandleFunc("/health", health)',
         'mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) })')
    with Poller(url) as poller:
        result = swarm.inv("redeploy", "--service", name, check=False)
    assert result.returncode == 1, result.output
    assert "failed in a trial container (its health check failed" in result.stderr
    assert "GET http://127.0.0.1:6767/health: status 500" in result.stderr
    assert (f"the check is GET http://127.0.0.1:6767/health inside the container: change it with "
            f"services.{name}.healthcheck") in result.stderr
    assert version(swarm, name) == before
    assert set(poller.answers) == {'{"id":"10000","name":"Person_0"}\n'}


def test_a_start_first_release_that_crashes_is_rolled_back_by_the_engine(swarm):
    """No published port: start-first, so the engine itself tries the new task and rolls back."""
    name = swarm.add_service("quotes-service", port=8080)
    swarm.inv("redeploy", "--service", name)
    image = running_image(swarm, name)
    edit(swarm, "quotes-service", "func main() {", "func main() {\n\tos.Exit(4)")
    started = time.monotonic()
    result = swarm.inv("redeploy", "--service", name, check=False)
    assert time.monotonic() - started < 60
    assert result.returncode == 1 and "Traceback" not in result.output
    assert "rollback completed" in result.stderr and "exit (4)" in result.stderr, result.stderr
    assert running_image(swarm, name) == image
    assert "trial container" not in result.output  # start-first needs no trial: the old task keeps running


def test_a_failed_smoke_test_rolls_back_to_the_previous_release(swarm, accounts):
    name, url = accounts
    image = running_image(swarm, name)
    # Healthy, and fine on its own port (where the trial reads the smoke path), but a 404 through the
    # published one: only the smoke test after the update can tell.
    edit(swarm, "accountservice", "func (h *accountHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {",
         'func (h *accountHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {\n'
         '\tif r.Host != "127.0.0.1:"+os.Getenv("PORT") {\n\t\tw.WriteHeader(404)\n\t\treturn\n\t}')
    result = swarm.inv("redeploy", "--service", name, check=False)
    assert result.returncode == 1, result.output
    assert "GET /accounts/10000 answers 2xx" in result.output  # the trial passed
    assert "smoke test failed" in result.stderr and "HTTP 404" in result.stderr
    assert "was rolled back to its previous release, which runs again" in result.stderr
    assert running_image(swarm, name) == image
    assert http_get(url) == '{"id":"10000","name":"Person_0"}\n'


@pytest.mark.exclusive  # it times the refusal / measures CPU: nothing may run beside it
def test_a_second_redeploy_is_refused_while_one_runs_and_a_stale_lock_can_be_released(swarm, accounts, engine):
    name, url = accounts
    edit(swarm, "accountservice", '"Person_"', '"Locked_"')
    first = start_inv(swarm, "redeploy", "--service", name)
    try:
        wait_for(lambda: lock.holder(engine, swarm.lock) is not None, 30, "the first redeploy to take the lock")
        started = time.monotonic()
        second = swarm.inv("redeploy", "--service", name, check=False)
        assert time.monotonic() - started < 2
        assert second.returncode == 1 and "Traceback" not in second.output
        assert "deploy lock is held by" in second.stderr and f"(pid {first.pid})" in second.stderr
        assert f"redeploy {name}" in second.stderr
        # Its holder is alive on this host: wait for it, never unlock it.
        assert f"that run (pid {first.pid}) is still going" in second.stderr and "deploy.unlock" not in second.stderr
        out, _ = first.communicate(timeout=120)
        assert first.returncode == 0, out
    finally:
        first.kill()
    assert lock.holder(engine, swarm.lock) is None
    assert http_get(url) == '{"id":"10000","name":"Locked_0"}\n'
    # A lock whose holder is gone without releasing it (here: another host's, not yet expired).
    with lock.held(engine, "a run on a machine that crashed", 60, swarm.lock):
        # --force: a redeploy with nothing to change takes no lock (a no-op writes nothing), so it would go through
        refused = swarm.inv("redeploy", "--service", name, "--force", check=False)
        assert "a run on a machine that crashed" in refused.stderr
        released = swarm.inv("deploy.unlock")
        assert "removed the deploy lock held by" in released.output
    swarm.inv("redeploy", "--service", name)  # goes through: the lock is free again


@pytest.mark.parametrize("stop, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_during_the_wait_leaves_the_update_going_and_says_so(swarm, accounts, engine, stop, code):
    """Ctrl-C, or SIGTERM (a cancelled CI job): the same unwinding, and the exit code says which."""
    name, url = accounts
    edit(swarm, "accountservice", '"Person_"', f'"Interrupted{code}_"')
    proc = start_inv(swarm, "redeploy", "--service", name)
    try:
        read_until(proc, f"{name}: 0/1 tasks of the new spec running", 60)
        proc.send_signal(stop)
        out, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == code, out
    assert "Traceback" not in out
    assert f"interrupted: {name} " in out
    assert "updating on its own" in out or "had finished updating" in out, out
    assert lock.holder(engine, swarm.lock) is None, "the lock was not released"
    # The engine finishes the update by itself.
    wait_for(lambda: http_get(url) == f'{{"id":"10000","name":"Interrupted{code}_0"}}\n', 60, "the update to finish")
    wait_for(lambda: swarm.service(name)["UpdateStatus"]["State"] == "completed", 30, "the update to complete")


def test_dry_run_explains_the_update_order(swarm, accounts):
    name, _ = accounts
    edit(swarm, "accountservice", '"Person_"', '"Dry_"')
    result = swarm.inv("redeploy", "--service", name, dry=True)
    assert (f"[dry] would prove {name}'s new release healthy in a trial container and GET /accounts/10000 "
            f"from it first") in result.output
    assert "stop-first, one task at a time: host-mode port" in result.output
    assert "can be bound by one task per node, so the old task stops first" in result.output
