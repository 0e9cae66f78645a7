"""ops/rollout.py, its pure part: the line a person reads while a rollout goes on, and how a failure is
marked. (Waiting, settling and rolling back poll the engine: tests/integration.)"""
import pytest

from goswarm.errors import PipelineError
from goswarm.ops import rollout
from goswarm.plan import converge


def test_the_waiting_line_says_what_the_newest_task_does_and_its_key_does_not_tick():
    progress = converge.Progress(False, 1, 3, waiting="a new task is starting")
    line, key = rollout.waiting_line("web", progress, False, 12.4)
    assert line == "web: 1/3 tasks of the new spec running; a new task is starting (12 s)"
    assert key == "web: 1/3 tasks of the new spec running; a new task is starting"


def test_while_the_engine_rolls_back_the_line_says_so():
    progress = converge.Progress(False, 2, 3)
    line, key = rollout.waiting_line("web", progress, True, 0.4)
    assert (line, key) == ("web: the engine is rolling back (0 s)", "web: the engine is rolling back")


def test_a_failed_rollout_says_whether_the_engine_already_rolled_it_back_or_a_task_was_never_placed():
    plain = rollout.RolloutFailed("web: not converged")
    assert isinstance(plain, PipelineError) and str(plain) == "web: not converged"
    assert (plain.by_engine, plain.blocked) == (False, False)
    assert rollout.RolloutFailed("x", by_engine=True).by_engine
    assert rollout.RolloutFailed("x", blocked=True).blocked


def test_many_rollouts_at_once_look_less_often_so_the_manager_is_asked_no_more_than_by_four():
    assert rollout.poll_every(1) == rollout.poll_every(4) == rollout.POLL
    for at_once in (5, 8, 16, 40):
        assert rollout.poll_every(at_once) > rollout.POLL
        assert at_once / rollout.poll_every(at_once) == pytest.approx(4 / rollout.POLL)
