"""The deploy lock's pure parts: the record on the swarm, the one-line description, staleness."""
import base64
import datetime as dt
import json

import pytest

from goswarm.errors import PipelineError
from goswarm.ops.lock import Holder, advice, is_stale, parse_holder

UTC = dt.timezone.utc
T0 = dt.datetime(2024, 5, 6, 17, 40, 2, tzinfo=UTC)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def holder(host="laptop", pid=4242, what="redeploy accountservice", ttl=900) -> Holder:
    return Holder("alice", host, pid, what, T0, at(ttl))


def inspect_dict(data, name="goswarm-deploy-lock") -> dict:
    """A config's inspect dict as the engine returns it: Spec.Data is base64."""
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return {"ID": "abc123", "Spec": {"Name": name, "Labels": {}, "Data": base64.b64encode(raw).decode()}}


RECORD = {"user": "alice", "host": "laptop", "pid": 4242, "what": "redeploy accountservice",
          "since": "2024-05-06T17:40:02+00:00", "expires": "2024-05-06T17:55:02+00:00"}


@pytest.mark.parametrize("record, expected", [
    (RECORD, holder()),
    # another writer's offset is the same moment, read back in UTC
    ({**RECORD, "since": "2024-05-06T19:40:02+02:00"}, holder()),
    # extra fields from a newer writer are ignored
    ({**RECORD, "version": 2}, holder()),
])
def test_parse_holder(record, expected):
    parsed = parse_holder(inspect_dict(record))
    assert parsed == expected
    assert parsed.since.tzinfo == UTC


@pytest.mark.parametrize("data", [
    b"not json",
    b"[1, 2]",
    {key: value for key, value in RECORD.items() if key != "pid"},
    {**RECORD, "pid": "many"},
    {**RECORD, "since": "yesterday"},
])
def test_a_config_that_is_no_lock_is_named_with_the_way_out(data):
    with pytest.raises(PipelineError) as e:
        parse_holder(inspect_dict(data, name="it-lock"))
    assert str(e.value) == "config it-lock is not a goswarm deploy lock; remove it with `docker config rm it-lock`"


@pytest.mark.parametrize("lock, now, expected", [
    (holder(), at(12),
     "alice@laptop (pid 4242) since 17:40:02 UTC, 12 s ago: redeploy accountservice; expires in 14 min"),
    (holder(ttl=60), at(0),
     "alice@laptop (pid 4242) since 17:40:02 UTC, 0 s ago: redeploy accountservice; expires in 60 s"),
    (holder(ttl=900), at(1080),
     "alice@laptop (pid 4242) since 17:40:02 UTC, 18 min ago: redeploy accountservice; expired 3 min ago"),
    (holder(ttl=900), at(3 * 3600),
     "alice@laptop (pid 4242) since 17:40:02 UTC, 3 h ago: redeploy accountservice; expired 2 h ago"),
    # the description ends up in a one-line error: a what with line breaks stays on one line
    (holder(what="redeploy a,\nb"), at(5),
     "alice@laptop (pid 4242) since 17:40:02 UTC, 5 s ago: redeploy a, b; expires in 14 min"),
    # a writer whose clock is ahead: never "-3 s ago"
    (holder(), at(-3),
     "alice@laptop (pid 4242) since 17:40:02 UTC, 0 s ago: redeploy accountservice; expires in 15 min"),
])
def test_describe(lock, now, expected):
    assert lock.describe(now) == expected


LIVE = {4242}.__contains__


@pytest.mark.parametrize("case, lock, now, stale", [
    ("expired, on another host", holder(host="ci-7"), at(900), True),
    ("expired, on this host, process alive", holder(), at(901), True),
    ("this host, process gone", holder(pid=999), at(10), True),
    ("this host, process alive", holder(), at(10), False),
    ("another host, not expired: its pid means nothing here", holder(host="ci-7", pid=999), at(10), False),
])
def test_is_stale(case, lock, now, stale):
    assert is_stale(lock, now, LIVE, this_host="laptop") is stale, case


def test_unlock_is_suggested_only_where_the_holder_may_be_gone():
    alive, gone = (lambda pid: True), (lambda pid: False)
    assert advice(holder(host="laptop"), "laptop", alive) == "wait for it: that run (pid 4242) is still going"
    elsewhere = advice(holder(host="ci-runner"), "laptop", alive)
    assert elsewhere.startswith("wait for it; only if that run on ci-runner has ended, remove it with `")
    assert elsewhere.endswith(" deploy.unlock`")
    assert "deploy.unlock" in advice(holder(host="laptop"), "laptop", gone)
