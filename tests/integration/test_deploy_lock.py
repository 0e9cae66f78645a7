"""The deploy lock against the real swarm: refused fast, always released, stale locks taken over.

Every lock here has a name of its own (it<pid>-lock-N), never the real goswarm-deploy-lock, and is
removed after the test whatever happened.
"""
import contextlib
import datetime as dt
import getpass
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time

import docker
import pytest
from invoke import Config, Context

from goswarm.errors import PipelineError
from goswarm.ops import lock
from goswarm.tasks.deploy import unlock
from helpers import ROOT, SUFFIX

UTC = dt.timezone.utc
OTHER_HOST = "ci-runner-7"
_numbers = itertools.count(1)


@pytest.fixture
def name(engine):
    """A lock name of this test's own; whatever config bears it is removed afterwards."""
    lock_name = f"it{SUFFIX}-lock-{next(_numbers)}"
    yield lock_name
    try:
        engine.api.remove_config(engine.api.inspect_config(lock_name)["ID"])
    except docker.errors.NotFound:
        pass


def plant(engine, name, host=OTHER_HOST, pid=1, age=0, ttl=600, what="redeploy quotes-service (CI)") -> str:
    """A lock as another run would have written it, straight through the API; its config ID."""
    since = dt.datetime.now(UTC) - dt.timedelta(seconds=age)
    record = {"user": "deployer", "host": host, "pid": pid, "what": what, "since": since.isoformat(),
              "expires": (since + dt.timedelta(seconds=ttl)).isoformat()}
    return engine.api.create_config(name, json.dumps(record).encode(), labels={"io.goswarm.lock.host": host})["ID"]


def dead_pid() -> int:
    """The pid of a process of this host that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not lock.pid_alive(child.pid)
    return child.pid


HOLDER = """
import sys, docker
from goswarm.ops import lock
with lock.held(docker.from_env(), sys.argv[2], 60, name=sys.argv[1]):
    print("held", flush=True)
    sys.stdin.readline()
"""


@pytest.fixture
def other_run(name):
    """Another process on this host that takes the lock and holds it until its stdin closes."""
    child = subprocess.Popen([sys.executable, "-c", HOLDER, name, "redeploy accountservice,quotes-service"], cwd=ROOT,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "held\n"
        yield child
    finally:
        child.kill()
        child.wait()


def test_a_second_run_is_refused_within_2s_naming_the_holder(engine, name, other_run):
    start = time.monotonic()
    with pytest.raises(PipelineError) as refused, lock.held(engine, "redeploy accountservice", 60, name):
        pytest.fail("took a lock another run holds")
    elapsed = time.monotonic() - start
    message = str(refused.value)
    assert elapsed < 2, f"refused after {elapsed:.2f}s"
    assert "\n" not in message
    assert message.startswith(f"deploy lock is held by {getpass.getuser()}@{socket.gethostname()} "
                              f"(pid {other_run.pid}) since ")
    assert ": redeploy accountservice,quotes-service; expires in " in message
    # its holder runs here and is alive: no `deploy.unlock` to pull the lock from under it
    assert message.endswith(f"; wait for it: that run (pid {other_run.pid}) is still going")
    assert "unlock" not in message
    assert lock.holder(engine, name).pid == other_run.pid  # the refused run left it alone

    other_run.stdin.close()  # the other run ends normally and releases its lock
    assert other_run.wait(10) == 0
    assert lock.holder(engine, name) is None


@pytest.mark.parametrize("failure", [None, RuntimeError("deploy failed"), PipelineError("smoke test failed"),
                                     KeyboardInterrupt()])
def test_released_however_the_run_ends(engine, name, failure):
    expected = pytest.raises(type(failure)) if failure else contextlib.nullcontext()
    with expected, lock.held(engine, "redeploy accountservice", 60, name) as me:
        assert lock.holder(engine, name) == me
        if failure:
            raise failure
    assert lock.holder(engine, name) is None


def test_an_expired_lock_is_taken_over(engine, name, capsys):
    plant(engine, name, age=20 * 60, ttl=15 * 60)
    with lock.held(engine, "redeploy accountservice", 60, name) as me:
        assert lock.holder(engine, name) == me
    assert lock.holder(engine, name) is None
    said = capsys.readouterr().out
    assert f"taking over the deploy lock (it has expired) held by deployer@{OTHER_HOST} (pid 1) " in said
    assert "expired 5 min ago" in said


def test_a_lock_of_a_dead_process_on_this_host_is_taken_over_at_once(engine, name, capsys):
    pid = dead_pid()
    plant(engine, name, host=socket.gethostname(), pid=pid, ttl=600)
    with lock.held(engine, "redeploy accountservice", 60, name) as me:
        assert lock.holder(engine, name) == me
    said = capsys.readouterr().out
    assert f"taking over the deploy lock (its process is gone) held by deployer@{socket.gethostname()} (pid {pid})" \
           in said


def test_a_run_killed_with_sigkill_leaves_a_lock_the_next_run_takes_over(engine, name, other_run, capsys):
    os.kill(other_run.pid, signal.SIGKILL)  # no finally runs: the lock stays behind
    other_run.wait()
    assert lock.holder(engine, name).pid == other_run.pid
    with lock.held(engine, "redeploy accountservice", 60, name) as me:
        assert lock.holder(engine, name) == me
    assert "(its process is gone)" in capsys.readouterr().out


def test_a_live_lock_of_another_host_is_refused_whatever_its_pid_is_here(engine, name):
    config_id = plant(engine, name, pid=dead_pid(), ttl=600)
    held_by = rf"deployer@{OTHER_HOST} \(pid \d+\) since .*: redeploy quotes-service \(CI\); expires in 9 min"
    with pytest.raises(PipelineError, match=f"^deploy lock is held by {held_by}; ") as refused, \
            lock.held(engine, "redeploy accountservice", 60, name):
        pytest.fail("took a live lock")
    assert str(refused.value).endswith(f"; wait for it; only if that run on {OTHER_HOST} has ended, remove it "
                                       f"with `goswarm deploy.unlock`")
    assert engine.api.inspect_config(name)["ID"] == config_id


def test_remove_takes_someone_elses_lock_and_says_whose(engine, name):
    plant(engine, name, pid=777)
    released = lock.remove(engine, name)
    assert (released.user, released.host, released.pid, released.what) == \
           ("deployer", OTHER_HOST, 777, "redeploy quotes-service (CI)")
    assert lock.holder(engine, name) is None
    assert lock.remove(engine, name) is None


def test_unlock_during_a_run_does_not_fail_it_nor_remove_the_next_runs_lock(engine, name, capsys):
    first = lock.held(engine, "redeploy accountservice", 60, name)
    me = first.__enter__()
    assert lock.remove(engine, name) == me  # someone ran `inv deploy.unlock`
    second = lock.held(engine, "redeploy quotes-service", 60, name)
    next_run = second.__enter__()
    first.__exit__(None, None, None)
    assert lock.holder(engine, name) == next_run
    second.__exit__(None, None, None)
    assert lock.holder(engine, name) is None
    assert f"the deploy lock {name} was removed by someone else during this run" in capsys.readouterr().out


def test_a_config_that_is_no_lock_is_left_alone(engine, name):
    config_id = engine.api.create_config(name, b"somebody's nginx.conf")["ID"]
    no_lock = f"config {name} is not a goswarm deploy lock; remove it with `docker config rm {name}`"
    with pytest.raises(PipelineError) as refused, lock.held(engine, "redeploy accountservice", 60, name):
        pytest.fail("took over a config that is no lock")
    assert str(refused.value) == no_lock
    with pytest.raises(PipelineError):
        lock.remove(engine, name)
    assert engine.api.inspect_config(name)["ID"] == config_id


def test_the_unlock_task_says_what_it_would_do_then_does_it(engine, name, monkeypatch, capsys):
    monkeypatch.setenv("DOCKER_HOST", os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock")
    config = Config(runtime_path=str(ROOT / "invoke.yaml"), overrides={"run": {"dry": True}, "deploy": {"lock": name}})
    config.load_runtime()
    plant(engine, name, pid=777)

    unlock(Context(config))
    assert capsys.readouterr().out == f"[dry] would remove the deploy lock held by deployer@{OTHER_HOST} (pid 777)\n"
    assert lock.holder(engine, name) is not None

    config.run.dry = False
    unlock(Context(config))
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"-> remove the deploy lock held by deployer@{OTHER_HOST} (pid 777)"
    assert out[1].startswith(f"removed the deploy lock held by deployer@{OTHER_HOST} (pid 777) since ")
    assert lock.holder(engine, name) is None

    unlock(Context(config))
    assert capsys.readouterr().out == "no deploy lock is held\n"
