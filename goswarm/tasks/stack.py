"""stack: interoperate with `docker stack`."""
from pathlib import Path

from invoke import Collection

from goswarm.ops import stack
from goswarm.plan import config, output
from goswarm.tasks.base import MANAGER_HELP, load, task


@task(name="export", help={"service": "Only these services (comma-separated; default: all); an app's edge comes "
                                      "with it.",
                           "output_": "Write the compose file here (default: print it).", "manager": MANAGER_HELP})
def export_(c, service=None, output_=None, manager=None):
    """Write a compose file (version 3.8) of what deploy would create, for `docker stack deploy -c`."""
    _, cfg = load(c, manager)
    path = Path(output_) if output_ else None
    text = stack.export(cfg, config.select(cfg.services, service), path)
    print(f"wrote {output.shown(path)}" if path else text, end="\n" if path else "")


ns = Collection("stack")
ns.add_task(export_)
