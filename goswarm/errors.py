"""The errors a user can act on. One root, PipelineError, whose message is one line without secrets;
code that must tell errors apart catches a subtype, never matches message text."""


class PipelineError(Exception):
    """A failure the user can act on; its message is one line, without secrets."""


class ConfigError(PipelineError):
    """invoke.yaml, goswarm.yaml, a runtime config file or .env is wrong."""


class Interrupted(PipelineError):
    """Ctrl-C, once the state it left is known; the message says what it is and how to go on."""

    exit_code = 130


class Terminated(Interrupted):
    """SIGTERM, once the state it left is known: the exit code says which signal it was."""

    exit_code = 143
