"""io/shell.py: what the library asks of Invoke's runner, and what --dry does, with a runner that records
its calls (the runner's interface is all a Shell uses)."""
import invoke
import pytest

from goswarm.io.shell import Shell


class Runner:
    """Records each call as (command, keyword arguments) and answers with a fixed result."""

    def __init__(self):
        self.calls = []

    def __call__(self, command, **kwargs):
        self.calls.append((command, kwargs))
        return f"ran {command}"


def test_run_passes_the_command_on_and_never_stdin():
    runner = Runner()
    assert Shell(runner).run("go build ./...", hide=True) == "ran go build ./..."
    assert runner.calls == [("go build ./...", {"in_stream": False, "hide": True})]


def test_a_read_runs_even_under_dry_quietly_and_leaves_failure_to_the_caller():
    runner = Runner()
    Shell(runner, dry=True).read("ip netns list", timeout=5)
    assert runner.calls == [("ip netns list", {"dry": False, "echo": False, "hide": True, "warn": True,
                                               "in_stream": False, "timeout": 5})]


def test_act_says_what_it_does_and_does_it(capsys):
    done = []
    assert Shell(Runner()).act("create service web", lambda *a, **k: done.append((a, k)) or "id1", 1, x=2) == "id1"
    assert done == [((1,), {"x": 2})]
    assert capsys.readouterr().out == "-> create service web\n"


def test_act_under_dry_only_says_what_it_would_do(capsys):
    done = []
    assert Shell(Runner(), dry=True).act("create service web", done.append, "web") is None
    assert done == []
    assert capsys.readouterr().out == "[dry] would create service web\n"


@pytest.mark.parametrize("dry", [True, False])
def test_a_shell_of_a_context_takes_its_runner_and_its_dry_flag(dry):
    c = invoke.Context(invoke.Config(overrides={"run": {"dry": dry}}))
    sh = Shell.of(c)
    assert sh.dry is dry and sh.runner == c.run


def test_a_dry_context_echoes_a_mutating_command_and_runs_nothing(capsys, tmp_path):
    marker = tmp_path / "made"
    sh = Shell.of(invoke.Context(invoke.Config(overrides={"run": {"dry": True}})))
    sh.run(f"touch {marker}")
    assert not marker.exists() and f"touch {marker}" in capsys.readouterr().out
    assert sh.read("echo seen").stdout == "seen\n"  # a read runs under --dry too
