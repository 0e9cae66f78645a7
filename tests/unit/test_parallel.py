"""goswarm/parallel.py: bounded, in order, every item run to its end, the first failure raised."""
import threading
import time

import pytest

from goswarm import parallel


def test_workers_are_bounded_by_the_limit_and_the_items():
    assert [parallel.workers(n, 4) for n in (0, 1, 3, 4, 20)] == [1, 1, 3, 4, 4]


def test_results_keep_the_items_order_and_no_more_than_the_limit_run_at_once():
    running, most, lock = [0], [0], threading.Lock()

    def slow(x):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.02 if x % 2 else 0.05)
        with lock:
            running[0] -= 1
        return x * x

    assert parallel.each(slow, range(10), 3) == [x * x for x in range(10)]
    assert most[0] == 3


def test_every_item_runs_to_its_end_and_the_first_failure_in_order_is_raised():
    done = []

    def fails_on_odd(x):
        time.sleep(0.01 * (5 - x))
        done.append(x)
        if x % 2:
            raise ValueError(f"item {x}")
        return x

    with pytest.raises(ValueError, match="^item 1$"):
        parallel.each(fails_on_odd, range(5), 2)
    assert sorted(done) == [0, 1, 2, 3, 4]


def test_one_item_or_a_limit_of_one_runs_in_the_callers_thread():
    me = threading.get_ident()
    assert parallel.each(lambda x: threading.get_ident(), [1], 4) == [me]
    assert parallel.each(lambda x: threading.get_ident(), [1, 2], 1) == [me, me]
    assert parallel.each(lambda x: x, [], 4) == []


def test_threads_talking_to_one_engine_take_the_first_connection_with_room_never_more_than_sshd_allows():
    assert parallel.lane([]) == 0
    assert parallel.lane([0] * 7) == 0
    assert parallel.lane([0] * 8) == 1
    assert parallel.lane([0] * 8 + [1] * 3) == 1
    assert parallel.lane([0] * 7 + [1] * 8) == 0  # a thread of lane 0 ended: its room is taken again
    assert parallel.lane([0] * 8 + [1] * 8) == 2
    lanes = []
    for _ in range(60):  # 60 containers' stats streams on one node
        lanes.append(parallel.lane(lanes))
    assert max(lanes.count(n) for n in set(lanes)) == parallel.PER_CONNECTION < 10  # MaxSessions 10


def test_lanes_are_handed_back_when_their_thread_is_done():
    lanes = parallel.Lanes()
    with lanes.one() as first:
        held = [lanes.one() for _ in range(parallel.PER_CONNECTION)]
        taken = [h.__enter__() for h in held]
        assert first == 0 and taken == [0] * (parallel.PER_CONNECTION - 1) + [1]
        for h in held:
            h.__exit__(None, None, None)
    with lanes.one() as again:
        assert again == 0


def test_many_threads_at_once_never_put_more_than_a_connection_carries_on_one_lane():
    lanes, lock, now, most = parallel.Lanes(), threading.Lock(), {}, {}

    def work(_):
        with lanes.one() as lane:
            with lock:
                now[lane] = now.get(lane, 0) + 1
                most[lane] = max(most.get(lane, 0), now[lane])
            time.sleep(0.02)
            with lock:
                now[lane] -= 1

    parallel.each(work, range(60), 20)
    assert max(most.values()) <= parallel.PER_CONNECTION and len(most) >= 3
