"""A redeploy with nothing to change writes nothing to the swarm's raft store: no deploy lock (a swarm config)
and no service update. One with a change takes the lock, and checks again under it."""
import datetime as dt
import json

from helpers import assert_one_line_error, edit, version

OTHER_HOST = "ci-runner-7"


def plant_lock(engine, name: str) -> str:
    """A live lock of another host, as another run would hold it while it deploys; its config ID."""
    since = dt.datetime.now(dt.timezone.utc)
    record = {"user": "deployer", "host": OTHER_HOST, "pid": 1, "what": "redeploy (CI)", "since": since.isoformat(),
              "expires": (since + dt.timedelta(seconds=600)).isoformat()}
    return engine.api.create_config(name, json.dumps(record).encode())["ID"]


def configs(engine, lock: str) -> list:
    """This project's deploy lock, if it is there (other tests make configs of their own meanwhile)."""
    return sorted((c["ID"], c["Version"]["Index"]) for c in engine.api.configs(filters={"name": lock}))


def test_a_noop_takes_no_lock_and_a_change_does(swarm, engine):
    name = swarm.add_service("quotes-service", port=8080)
    swarm.inv("redeploy", "--service", name)
    before, locks = version(swarm, name), configs(engine, swarm.lock)

    noop = swarm.inv("redeploy", "--service", name)
    assert f"{name}: no change" in noop.output
    assert version(swarm, name) == before and configs(engine, swarm.lock) == locks == []

    held = plant_lock(engine, swarm.lock)  # another run deploys: a no-op does not need its lock
    try:
        again = swarm.inv("redeploy", "--service", name)
        assert f"{name}: no change" in again.output and "deploy lock" not in again.output
        edit(swarm, "quotes-service", '"Clear is better', '"Clearer is better')
        refused = swarm.inv("redeploy", "--service", name, check=False)
        assert_one_line_error(refused, f"deploy lock is held by deployer@{OTHER_HOST} (pid 1)")
        assert version(swarm, name) == before  # built and shipped, but no service was changed
    finally:
        engine.api.remove_config(held)
    changed = swarm.inv("redeploy", "--service", name)
    assert f"update service {name}" in changed.output and version(swarm, name) > before
    assert engine.api.configs(filters={"name": swarm.lock}) == []  # taken and released
