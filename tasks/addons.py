"""addons: the blog's visualizer and dvizz, images deployed as they are, behind an explicit opt-in."""
from dataclasses import replace

from invoke import Collection

from goswarm.tasks.base import ADOPT_HELP, JSON_HELP, MANAGER_HELP, settings_of, task


@task(name="deploy", help={"name": "The add-on: visualizer or dvizz (or another under addons: in the config).",
                           "allow_docker_socket": "Deploy it although it mounts the Docker socket (root on its node).",
                           "dry": "Show the service spec and what would change; change nothing.",
                           "manager": MANAGER_HELP, "adopt": ADOPT_HELP})
def deploy_(c, name, allow_docker_socket=False, dry=False, manager=None, adopt=False):
    """Create or update an add-on's service from its image, as the blog deploys it."""
    from goswarm.ops import addons as ops

    sh, cfg = settings_of(c, manager, adopt)
    ops.deploy_addon(replace(sh, dry=sh.dry or dry), cfg, name, allow_docker_socket)


@task(help={"name": "The add-on to remove.", "manager": MANAGER_HELP})
def rm(c, name, manager=None):
    """Remove an add-on's service and wait until its task is gone."""
    from goswarm.ops import addons as ops

    sh, cfg = settings_of(c, manager)
    ops.remove(sh, cfg, name)


@task(help={"manager": MANAGER_HELP, "json": JSON_HELP})
def ls(c, manager=None, json=False):
    """List the add-ons: image, port, whether they mount the Docker socket, and what runs."""
    from goswarm.ops import addons as ops

    _, cfg = settings_of(c, manager)
    print(ops.listing(cfg, json))


ns = Collection("addons")
for t in (deploy_, rm, ls):
    ns.add_task(t)
