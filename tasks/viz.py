"""viz: the swarm as a live page in the browser, read from the operator's side (no socket mounted anywhere)."""
from pathlib import Path

from goswarm import settings
from goswarm.tasks.base import MANAGER_HELP, settings_of, task

DEFAULT_PORT = 8642


@task(help={"port": f"Port of the page (default {DEFAULT_PORT}; 0 for any free one).",
            "host": "Address to listen on (default 127.0.0.1: this machine only).",
            "snapshot": "Write the picture once to FILE.svg (or FILE.png, through Chromium) and exit.",
            "manager": MANAGER_HELP})
def viz(c, port=None, host="127.0.0.1", snapshot=None, manager=None):
    """Serve a live page of the swarm: nodes, tasks, their state, errors and ports, until Ctrl-C."""
    from goswarm.ops import viz as views

    _, cfg = settings_of(c, manager)
    if snapshot:
        print(views.snapshot(cfg, Path(snapshot)))
        return
    views.serve(cfg, host, settings.whole_number("--port", port) if port is not None else DEFAULT_PORT)
