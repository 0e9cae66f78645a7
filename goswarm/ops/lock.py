"""The deploy lock: one `redeploy` at a time per swarm, held as a swarm config on the manager.

Creating a config whose name exists fails with 409 Conflict: an atomic test-and-set in the swarm's
raft store, so a laptop and a CI job deploying to the same manager see the same lock. Its data names
the holder. A lock left by a killed run expires, is taken over at once when its process is gone from
this host, or is released with `deploy.unlock`. Its name and time to live come from the config
(deploy.lock, deploy.lock_ttl).
"""
import base64
import datetime as dt
import getpass
import json
import os
import socket
import sys
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Callable, Optional

from goswarm import program
from goswarm.errors import PipelineError
from goswarm.io import engine, engineapi
from goswarm.io.processes import pid_alive

UTC = dt.timezone.utc


def _span(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds} s" if seconds < 120 else f"{seconds // 60} min" if seconds < 7200 else f"{seconds // 3600} h"


@dataclass(frozen=True)
class Holder:
    user: str
    host: str
    pid: int
    what: str
    since: dt.datetime  # UTC
    expires: dt.datetime  # UTC

    def describe(self, now: dt.datetime) -> str:
        """Who, since when, doing what, until when: one line, for an error message. Pure."""
        left = (self.expires - now).total_seconds()
        ends = f"expires in {_span(left)}" if left > 0 else f"expired {_span(-left)} ago"
        return (f"{self.user}@{self.host} (pid {self.pid}) since {self.since:%H:%M:%S} UTC, "
                f"{_span((now - self.since).total_seconds())} ago: {' '.join(self.what.split())}; {ends}")


def parse_holder(config: dict) -> Holder:
    """The holder recorded in a lock config's inspect dict (Spec.Data is base64 JSON). Pure."""
    name = (config.get("Spec") or {}).get("Name", "?")
    try:
        data = json.loads(base64.b64decode(config["Spec"]["Data"]))
        since, expires = (dt.datetime.fromisoformat(data[k]).astimezone(UTC) for k in ("since", "expires"))
        return Holder(str(data["user"]), str(data["host"]), int(data["pid"]), str(data["what"]), since, expires)
    except (KeyError, TypeError, ValueError):
        raise PipelineError(f"config {name} is not a goswarm deploy lock; remove it with `docker config rm {name}`"
                            ) from None


def is_stale(holder: Holder, now: dt.datetime, pid_alive: Callable[[int], bool], this_host: str) -> bool:
    """Expired, or left by a run on this host whose process is gone (no need to wait for expiry). Pure."""
    return now >= holder.expires or (holder.host == this_host and not pid_alive(holder.pid))


def advice(holder: Holder, this_host: str, pid_alive: Callable[[int], bool]) -> str:
    """What to do about a lock that is not stale: `deploy.unlock` only where the holder may be gone. A run on
    this host whose process lives is never unlocked from under it; one elsewhere cannot be seen from here. Pure."""
    if holder.host == this_host and pid_alive(holder.pid):
        return f"wait for it: that run (pid {holder.pid}) is still going"
    return (f"wait for it; only if that run on {holder.host} has ended, remove it with "
            f"{program.run('deploy.unlock')}")


def _inspect(client, name: str) -> Optional[dict]:
    return engineapi.swarm_config(client, name, f"reading the deploy lock {name}")


def _remove(client, config_id: str) -> bool:
    """By ID, so that a newer lock under the same name is never removed. False: it was already gone."""
    return engineapi.remove_swarm_config(client, config_id, "removing the deploy lock")


def _take(client, me: Holder, name: str) -> str:
    """Create the lock config, or refuse at once (no waiting); over a stale lock, remove it and retry once."""
    docker = engine.sdk()

    record = {**asdict(me), "since": me.since.isoformat(), "expires": me.expires.isoformat()}
    for attempt in (1, 2):
        with engine.errors(f"taking the deploy lock {name}"):
            try:
                labels = {f"io.goswarm.lock.{k}": str(v) for k, v in record.items()}
                return engineapi.create_swarm_config(client, name, json.dumps(record).encode(), labels)
            except docker.errors.APIError as e:
                if e.status_code != 409:
                    raise
        current = _inspect(client, name)
        if current is None:
            continue  # released between our create and our inspect
        other, now = parse_holder(current), dt.datetime.now(UTC)
        if attempt == 2 or not is_stale(other, now, pid_alive, socket.gethostname()):
            raise PipelineError(f"deploy lock is held by {other.describe(now)}; "
                                f"{advice(other, socket.gethostname(), pid_alive)}")
        reason = "it has expired" if now >= other.expires else "its process is gone"
        print(f"taking over the deploy lock ({reason}) held by {other.describe(now)}")
        _remove(client, current["ID"])
    raise PipelineError(f"the deploy lock {name} changed hands while taking it; try again")


@contextmanager
def held(client, what: str, ttl: float, name: str):
    """Hold the deploy lock for the body, and release it however the body ends."""
    now = dt.datetime.now(UTC)
    me = Holder(getpass.getuser(), socket.gethostname(), os.getpid(), what, now, now + dt.timedelta(seconds=ttl))
    config_id = _take(client, me, name)
    failed = True
    try:
        yield me
        failed = False
    finally:
        try:
            if not _remove(client, config_id):
                print(f"note: the deploy lock {name} was removed by someone else during this run")
        except PipelineError as e:
            if not failed:
                raise
            # The body's error is the one to report; the lock expires on its own.
            print(f"warning: {e}; the lock expires at {me.expires:%H:%M:%S} UTC", file=sys.stderr)


def holder(client, name: str) -> Optional[Holder]:
    current = _inspect(client, name)
    return parse_holder(current) if current else None


def remove(client, name: str) -> Optional[Holder]:
    """Remove the lock whoever holds it; who held it, or None. A config that is no lock is left alone."""
    current = _inspect(client, name)
    held_by = parse_holder(current) if current else None
    return held_by if held_by and _remove(client, current["ID"]) else None


def unlock(sh, client, name: str) -> None:
    """Release the lock, whoever holds it (e.g. a killed `redeploy`), and say whose it was."""
    current = holder(client, name)
    if current is not None:
        message = f"remove the deploy lock held by {current.user}@{current.host} (pid {current.pid})"
        current = sh.act(message, remove, client, name)
        if sh.dry:
            return
    now = dt.datetime.now(UTC)
    print(f"removed the deploy lock held by {current.describe(now)}" if current else "no deploy lock is held")
