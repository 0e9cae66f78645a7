"""What every task shares: the decorator that turns a PipelineError into one line and an exit code, the
per-command start (signal handling, the project root), and reading the config once."""
import functools
import inspect
import os

from invoke import Argument, Exit, Task
from invoke import task as invoke_task
from invoke.exceptions import ParseError

from goswarm import settings
from goswarm.errors import Interrupted, PipelineError, stop_code
from goswarm.io.shell import Shell

MANAGER_HELP = "The swarm manager machine (default: swarm.manager, else the engine at DOCKER_HOST)."
JSON_HELP = "Print JSON (for CI) instead of tables."
PROGRESS_JSON_HELP = ("Progress on stderr, and on stdout a JSON summary: the result, the error, and each service's "
                      "result and digest.")
ADOPT_HELP = ("Take over services of another project, or made by hand (no io.goswarm.project label); "
              "it says what it takes.")
SERVICE_HELP = {"service": "Only these services (comma-separated names from the config; default: all).",
                "manager": MANAGER_HELP}


# One meaning per short flag across every task (Invoke gives each option the first free letter of its name, so -r
# was --root, --ramp or --replicas); an option not named here has none, and -h only ever means help.
SHORT_FLAGS = {"service": "s", "manager": "m", "force": "f", "json": "j", "timeout": "t", "adopt": "a", "name": "n",
               "port": "p", "output": "o", "release": "r", "release_file": "r", "users": "u", "duration": "d",
               "watch": "w", "live": "l"}
# Options that take a number: their help says INT or FLOAT, and a word given there is a usage error (exit 2).
NUMBERS = {"users": int, "replicas": int, "nodes": int, "tail": int, "port": int, "keep": int, "timeout": float,
           "duration": float, "ramp": float, "rate": float, "debounce": float}


class NumberArgument(Argument):
    """An option that takes a number: a word given there is a usage error that names the option."""

    def set_value(self, value, cast=True):
        try:
            super().set_value(value, cast)
        except ValueError:
            what = "a whole number" if self.kind is int else "a number"
            # "error: " for `inv`, which prints the message as it is; goswarm's own line drops it
            raise ParseError(f"error: --{self.name} takes {what}, got {value!r}") from None


class GoswarmTask(Task):
    """A task whose options take their short flag from SHORT_FLAGS and their type from NUMBERS."""

    def get_arguments(self, ignore_unknown_help=None):
        kept = dict(self.help)  # Invoke pops each option's help as it goes: a second reader would get none
        try:
            arguments = super().get_arguments(ignore_unknown_help)
        finally:
            self.help = kept
        for argument in arguments:
            if argument.kind in (int, float):
                argument.__class__ = NumberArgument
        return arguments

    def arg_opts(self, name, default, taken_names):
        opts = super().arg_opts(name, default, taken_names)
        key = name.strip("_")
        if key in SHORT_FLAGS:
            opts["names"].append(SHORT_FLAGS[key])
        if key in NUMBERS and name not in self.iterable and default in (None, inspect.Signature.empty):
            opts["kind"] = NUMBERS[key]
        return opts


def showing_float(help_for):
    """Invoke's ParserContext.help_for, for a task's help: Invoke names STRING and INT values and shows an option
    that takes a float (seconds) as a switch; this one says FLOAT. Wrapping it twice changes nothing."""
    if getattr(help_for, "shows_float", False):
        return help_for

    @functools.wraps(help_for)
    def wrapped(self, flag: str) -> tuple:
        names, text = help_for(self, flag)
        if self.flags[flag].kind is float:
            names = ", ".join(n + (" FLOAT" if len(n.strip("-")) == 1 else "=FLOAT") for n in names.split(", "))
        return names, text

    wrapped.shows_float = True
    return wrapped


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

        return invoke_task(wrapper, klass=GoswarmTask, auto_shortflags=False, **kwargs)

    if len(args) == 1 and callable(args[0]) and not kwargs:
        return decorate(args[0])
    return decorate


def settings_of(c, manager=None, adopt=False):
    """(the Shell, the Settings) of this command: the config is read once, here."""
    return Shell.of(c), settings.read(settings.plain(c.config), manager, adopt)


def seconds_flag(name: str, value):
    return settings.seconds(name, value) if value is not None else None
