"""The errors a user can act on. One root, PipelineError, whose message is one line without secrets;
code that must tell errors apart catches a subtype, never matches message text."""


class PipelineError(Exception):
    """A failure the user can act on; its message is one line, without secrets."""


class ConfigError(PipelineError):
    """invoke.yaml, goswarm.yaml, a runtime config file or .env is wrong."""


class SwapFailed(PipelineError):
    """A dev swap whose new program did not come up in a task. serving: what that task serves now, in words."""

    def __init__(self, message: str, serving: str):
        super().__init__(message)
        self.serving = serving


class Interrupted(PipelineError):
    """Ctrl-C, once the state it left is known; the message says what it is and how to go on."""

    exit_code = 130


class Terminated(Interrupted):
    """SIGTERM, once the state it left is known: the exit code says which signal it was."""

    exit_code = 143


TERMINATED = []  # the SIGTERMs this process got (cli's handler): an interrupted run then exits 143, not 130


def stop_code() -> int:
    """The exit code of a run stopped by a signal: 143 after SIGTERM, 130 after Ctrl-C."""
    return Terminated.exit_code if TERMINATED else Interrupted.exit_code
