"""The one deadline loop."""
import pytest

from goswarm import poll
from goswarm.errors import PipelineError


def test_the_first_answer_is_returned_and_falsy_answers_count():
    answers = iter([None, None, 0])
    assert poll.until(lambda: next(answers), 5, 0) == 0


def test_after_the_deadline_expired_decides():
    calls = []
    assert poll.until(lambda: calls.append(1), 0.05, 0.01, lambda: "late") == "late"
    assert len(calls) >= 2  # it kept asking until the time was up


def test_expired_may_raise_and_without_it_the_answer_is_none():
    def late():
        raise PipelineError("too slow")

    with pytest.raises(PipelineError, match="too slow"):
        poll.until(lambda: None, 0, 0, late)
    assert poll.until(lambda: None, 0, 0) is None
