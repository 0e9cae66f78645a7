"""What every task shares: the decorator that turns a PipelineError into one line and an exit code, the
per-command start (signal handling, the project root), and reading the config once."""
import functools
import importlib
import os

from invoke import Exit
from invoke import task as invoke_task

from goswarm import settings
from goswarm.errors import Interrupted, PipelineError, stop_code
from goswarm.io.shell import Shell

MANAGER_HELP = "The swarm manager machine (default: swarm.manager, else the engine at DOCKER_HOST)."
JSON_HELP = "Print JSON (for CI) instead of tables."
ADOPT_HELP = ("Take over services of another project, or made by hand (no io.goswarm.project label); "
              "it says what it takes.")
SERVICE_HELP = {"service": "Only these services (comma-separated names from the config; default: all).",
                "manager": MANAGER_HELP}


class lazy:
    """A module imported when first used. The tasks' library stays unimported for `--list` and `--help`."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr):
        return getattr(importlib.import_module(self._name), attr)


def task(*args, **kwargs):
    """`invoke.task` that turns a PipelineError into a one-line message and exit code 1."""

    def decorate(body):
        @functools.wraps(body)
        def wrapper(c, *a, **kw):
            root = ((c.config.get("goswarm") or {}).get("root")) if hasattr(c, "config") else None
            if root:
                os.environ.setdefault("GOSWARM_ROOT", str(root))
            try:
                return body(c, *a, **kw)
            except Interrupted as e:
                raise Exit(f"interrupted: {e}", max(e.exit_code, stop_code())) from None
            except KeyboardInterrupt:  # cleanup (trial containers, the deploy lock) ran on the way out
                raise Exit("interrupted", stop_code()) from None
            except PipelineError as e:
                raise Exit(f"error: {e}", 1) from None

        return invoke_task(wrapper, **kwargs)

    if len(args) == 1 and callable(args[0]) and not kwargs:
        return decorate(args[0])
    return decorate


def load(c, manager=None, adopt=False):
    """(the Shell, the Settings) of this command: the config is read once, here."""
    return Shell.of(c), settings.load(settings.plain(c.config), manager, adopt)


def seconds_flag(name: str, value):
    return settings.seconds(name, value) if value is not None else None
