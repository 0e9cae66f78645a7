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
