"""stack: interoperate with `docker stack`."""
from pathlib import Path

from invoke import Collection

from goswarm.tasks.base import MANAGER_HELP, settings_of, task


@task(name="export", help={"service": "Only these services (comma-separated; default: all); an app's edge comes "
                                      "with it.",
                           "output_": "Write the compose file here (default: print it).", "manager": MANAGER_HELP,
                           "release": "A release file: its digests, as `deploy --release FILE` would run them."})
def export_(c, service=None, output_=None, manager=None, release=None):
    """Write a compose file (version 3.8) of what deploy would create, for `docker stack deploy -c`."""
    from goswarm.ops import release as releases
    from goswarm.ops import stack
    from goswarm.plan import output

    sh, cfg = settings_of(c, manager)
    path = Path(output_) if output_ else None
    text = stack.export(sh, cfg, service, path, releases.path_of(cfg, release) if release else None)
    if path is None:
        print(text, end="")
    elif not sh.dry:
        print(f"wrote {output.shown(path)}")


ns = Collection("stack")
ns.add_task(export_)
