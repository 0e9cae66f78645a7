"""Config that Invoke cannot merge is explained in one line naming the file and the key; the command line's
conventions (usage errors, short flags, typed options, help)."""
import os

import pytest

from goswarm.cli import explain_merge_error, merge_conflict, merged


@pytest.fixture(autouse=True)
def _environment():
    """Program.run sets GOSWARM_ROOT (and GOSWARM_DESTINATION) in this process: later tests, and the goswarm
    commands they start, must not inherit them."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


DEFAULTS = {"deploy": {"timeout": 60, "lock_ttl": 900}, "image": {"prefix": "someprefix"}}
PROJECT = {"services": {"a": {"path": "a", "port": 1}}}


@pytest.mark.parametrize("runtime, line", [
    ({"services": ["a", "b"]}, "error: it.yaml: `services` must be a mapping of settings, got list ['a', 'b']"),
    ({"services": "a"}, "error: it.yaml: `services` must be a mapping of settings, got str 'a'"),
    ({"deploy": 5}, "error: it.yaml: `deploy` must be a mapping of settings, got int 5"),
    ({"deploy": {"timeout": {"s": 1}}}, "error: it.yaml: `deploy.timeout` must be a single value, got dict {'s': 1}"),
])
def test_the_first_key_that_cannot_merge_is_named_with_its_file(runtime, line):
    layers = [("the defaults", DEFAULTS), ("invoke.yaml", PROJECT), ("it.yaml", runtime)]
    assert explain_merge_error(layers) == line


def test_a_project_file_that_clashes_with_the_defaults_is_named():
    assert explain_merge_error([("the defaults", DEFAULTS), ("invoke.yaml", {"image": "x"})]).startswith(
        "error: invoke.yaml: `image` must be a mapping")


def test_values_that_merge_are_no_conflict():
    assert merge_conflict(DEFAULTS, {"deploy": {"timeout": 5}, "new": [1]}) is None
    assert merged(DEFAULTS, {"deploy": {"timeout": 5}}) == {**DEFAULTS, "deploy": {"timeout": 5, "lock_ttl": 900}}


def test_an_unreadable_layer_does_not_hide_the_others():
    layers = [("the defaults", DEFAULTS), ("invoke.yaml", None), ("it.yaml", {"deploy": 5})]
    assert "it.yaml: `deploy`" in explain_merge_error(layers)


@pytest.mark.parametrize("message, task, line", [
    ("No idea what '--nope' is!", "redeploy", "error: redeploy has no option --nope; see `goswarm redeploy --help`"),
    ("No idea what 'deploi' is!", "", "error: no task or option 'deploi'; see `goswarm --help`"),
    ("Flag <Argument: users (u)> needed value and was not given one!", "load",
     "error: load: --users needs a value; see `goswarm load --help`"),
    ("Flag <NumberArgument: timeout (t) [float]> needed value and was not given one!", "deploy",
     "error: deploy: --timeout needs a value; see `goswarm deploy --help`"),
    ("'deploy.scale' did not receive required positional arguments: 'service', 'replicas'", "deploy.scale",
     "error: deploy.scale: --service and --replicas are required; see `goswarm deploy.scale --help`"),
    ("'x' is ambiguous when given after an optional-value flag", "",
     "error: 'x' is ambiguous when given after an optional-value flag; see `goswarm --help`"),
])
def test_a_usage_error_is_one_line_that_points_at_the_help(message, task, line):
    from goswarm.cli import usage_error

    assert usage_error(message, task, "goswarm") == line


def test_a_run_stopped_by_sigterm_exits_143_and_by_ctrl_c_130():
    from goswarm import errors

    errors.TERMINATED.clear()
    assert errors.stop_code() == 130
    errors.TERMINATED.append(15)
    try:
        assert errors.stop_code() == 143
    finally:
        errors.TERMINATED.clear()


def test_help_hides_the_invoke_options_that_do_nothing_here(capsys):
    import invoke

    from goswarm import cli

    program = cli.Program(name="goswarm", binary="goswarm", version="0", namespace=invoke.Collection())
    program.list_tasks = lambda: None  # the core options only
    program.print_help()
    shown = capsys.readouterr().out
    assert "--dry" in shown and "--root" in shown and "--config" in shown
    for hidden in cli.HIDDEN_CORE:
        assert f"--{hidden}" not in shown


def _options():
    """(task, option name, its short flags, its kind) for every option of every task goswarm has."""
    from pathlib import Path

    from goswarm import cli

    namespace = cli.inv_namespace(Path(__file__).resolve().parents[2])
    for name in sorted(namespace.task_names):
        for argument in namespace[name].get_arguments(ignore_unknown_help=True):
            yield name, argument.name, [n for n in argument.names if len(n) == 1], argument.kind


def test_a_short_flag_means_one_thing_in_every_task_and_h_only_help():
    from goswarm.tasks.base import SHORT_FLAGS

    meanings = {}
    for _, option, shorts, _ in _options():
        for short in shorts:
            meanings.setdefault(short, set()).add(option.replace("-", "_").rstrip("_").removesuffix("_file"))
    assert all(len(options) == 1 for options in meanings.values()), meanings
    assert "h" not in meanings
    assert set(meanings) == set(SHORT_FLAGS.values())


def test_numeric_options_are_typed_and_a_word_there_is_a_usage_error(capsys):
    from goswarm import cli

    kinds = {(task, option): kind for task, option, _, kind in _options()}
    assert kinds[("load", "users")] is int and kinds[("load", "duration")] is float
    assert kinds[("deploy.scale", "replicas")] is int and kinds[("redeploy", "timeout")] is float
    assert kinds[("init", "port")] is list  # NAME=PORT items
    from pathlib import Path

    def run(*argv):
        namespace = cli.inv_namespace(Path(__file__).resolve().parents[2])
        with pytest.raises(SystemExit) as raised:
            cli.Program(name="goswarm", binary="goswarm", version="0", namespace=namespace).run(["goswarm", *argv])
        return raised.value.code

    assert run("load", "--users", "many") == cli.USAGE
    assert capsys.readouterr().err.strip() == (
        "error: load: --users takes a whole number, got 'many'; see `goswarm load --help`")
    assert run("load", "--help") == 0
    shown = capsys.readouterr().out
    assert "-u INT, --users=INT" in shown and "-d FLOAT, --duration=FLOAT" in shown and "--ramp=FLOAT" in shown


def test_inv_names_a_float_option_s_value_as_goswarm_does():
    """`inv` makes its parser contexts from a copy of tasks.py's collection: its help says FLOAT too."""
    import subprocess
    import sys
    from pathlib import Path

    from invoke.parser import ParserContext

    from goswarm.tasks.base import showing_float

    shown = subprocess.run([sys.executable, "-m", "invoke", "deploy", "--help"], capture_output=True, text=True,
                           cwd=Path(__file__).resolve().parents[2], timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert "-t FLOAT, --timeout=FLOAT" in shown.stdout and "-s STRING, --service=STRING" in shown.stdout
    once = showing_float(ParserContext.help_for)
    assert showing_float(once) is once  # set up twice in one process: still one FLOAT


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_every_task_shows_its_help_even_one_with_required_options(flag, capsys):
    from pathlib import Path

    from goswarm import cli

    namespace = cli.inv_namespace(Path(__file__).resolve().parents[2])
    for name in namespace.task_names:
        with pytest.raises(SystemExit) as raised:
            cli.Program(name="goswarm", binary="goswarm", version="0", namespace=namespace).run(
                ["goswarm", name, flag])
        shown = capsys.readouterr()
        assert raised.value.code == 0 and shown.out.startswith(f"Usage: goswarm [--core-opts] {name}"), shown
