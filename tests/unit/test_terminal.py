"""io/terminal.py: a waiting line, redrawn in a terminal, plain lines at most every few seconds elsewhere."""
import io

import pytest

from goswarm.io import terminal


class Tty(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture(autouse=True)
def plain_env(monkeypatch):
    for key in ("NO_COLOR", "GOSWARM_PLAIN", "TERM"):
        monkeypatch.delenv(key, raising=False)


def test_a_pipe_gets_a_line_when_the_text_changes_and_no_control_characters():
    out = io.StringIO()
    status = terminal.Status(out, every=60)
    for seconds in range(3):
        status.update(f"web: 0/1 running ({seconds} s)", key="web: 0/1 running")
    status.update("web: 1/1 running (3 s)", key="web: 1/1 running")
    status.done("web: converged")
    assert out.getvalue() == "web: 0/1 running (0 s)\nweb: 1/1 running (3 s)\nweb: converged\n"


def test_a_pipe_hears_again_after_every_seconds_even_when_nothing_changed():
    out = io.StringIO()
    status = terminal.Status(out, every=0)
    status.update("stuck (1 s)", key="stuck")
    status.update("stuck (2 s)", key="stuck")
    assert out.getvalue().splitlines() == ["stuck (1 s)", "stuck (2 s)"]


def test_a_terminal_redraws_one_line_and_clears_it_when_done():
    out = Tty()
    status = terminal.Status(out)
    status.update("a")
    status.update("b")
    status.done("finished")
    assert out.getvalue() == "\r\x1b[2Ka\r\x1b[2Kb\r\x1b[2Kfinished\n"


@pytest.mark.parametrize("env", [{"NO_COLOR": "1"}, {"TERM": "dumb"}, {"GOSWARM_PLAIN": "1"}])
def test_no_color_dumb_terminals_and_plain_turn_redrawing_off(monkeypatch, env):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert not terminal.live(Tty())

