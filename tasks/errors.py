"""One error type for everything a user can fix, and the edge that turns it into an exit."""
import functools
import signal
import sys
import threading

from invoke import Exit
from invoke import task as invoke_task


class PipelineError(Exception):
    """A failure the user can act on; its message is one line, without secrets."""


class ConfigError(PipelineError):
    """invoke.yaml, a runtime config file or .env is wrong."""


class Interrupted(PipelineError):
    """Ctrl-C, once the state it left is known; the message says what it is and how to go on."""

    exit_code = 130


def task(*args, **kwargs):
    """`invoke.task` that turns a PipelineError into a one-line message and exit code 1."""

    def decorate(body):
        @functools.wraps(body)
        def wrapper(*a, **kw):
            try:
                return body(*a, **kw)
            except Interrupted as e:
                raise Exit(f"interrupted: {e}", e.exit_code) from None
            except KeyboardInterrupt:  # cleanup (trial containers, the deploy lock) ran on the way out
                raise Exit("interrupted", Interrupted.exit_code) from None
            except PipelineError as e:
                raise Exit(f"error: {e}", 1) from None

        return invoke_task(wrapper, **kwargs)

    if len(args) == 1 and callable(args[0]) and not kwargs:
        return decorate(args[0])
    return decorate


def _config_error(kind, value, tb):
    """One line for config that Invoke itself fails to load, or None for any other error."""
    name = f"{kind.__module__}.{kind.__name__}"
    if issubclass(kind, BrokenPipeError):  # `inv swarm.status | head`: the reader left, nothing to report
        return ""
    if "yaml" in name or kind.__name__ == "JSONDecodeError":
        where = getattr(value, "problem_mark", None)
        place = f"{where.name}, line {where.line + 1}" if where else "config file"
        problem = getattr(value, "problem", None) or str(value).splitlines()[0]
        return f"error: malformed config ({place}): {problem}"
    while tb.tb_next:
        tb = tb.tb_next
    if kind.__module__ == "invoke.exceptions" or tb.tb_frame.f_code.co_filename.endswith("invoke/env.py"):
        # INVOKE_* values are cast to the type of the key's default (e.g. INVOKE_DEPLOY_TIMEOUT=abc)
        return f"error: an INVOKE_* environment variable does not fit its config key: {value}"
    return None


def _config_file_hook(default_hook):
    """Invoke loads invoke.yaml, `-f FILE` and INVOKE_* before any task runs; report their errors in one line."""

    def hook(kind, value, tb):
        message = _config_error(kind, value, tb)
        if message is None:
            default_hook(kind, value, tb)
        elif message:
            print(message, file=sys.stderr)

    return hook


def install_signal_handlers():
    """SIGTERM (a cancelled CI job, `kill`) unwinds like Ctrl-C, so the same cleanup runs."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupt)


def install_config_error_hook():
    if not getattr(sys.excepthook, "_goswarm", False):
        sys.excepthook = _config_file_hook(sys.excepthook)
        sys.excepthook._goswarm = True
