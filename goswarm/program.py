"""The command a user runs goswarm's tasks with, for messages that say what to run next: `goswarm`, or
`inv` inside a checkout that has a tasks.py (this repository)."""
import os
import sys


def name() -> str:
    argv0 = sys.argv[0] if sys.argv else ""
    invoked = os.path.basename(argv0) in ("inv", "invoke") or os.sep + "invoke" + os.sep in argv0
    return "inv" if invoked else "goswarm"


def run(task: str) -> str:
    """`goswarm TASK`, as the user would type it."""
    return f"`{name()} {task}`"
