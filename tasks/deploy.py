"""deploy: create, update, roll back, scale and remove the services, and see their tasks and logs."""
from invoke import Collection

from goswarm import settings
from goswarm.errors import PipelineError
from goswarm.tasks.base import (
    ADOPT_HELP,
    JSON_HELP,
    MANAGER_HELP,
    PROGRESS_JSON_HELP,
    SERVICE_HELP,
    seconds_flag,
    settings_of,
    task,
)


@task(default=True, help={**SERVICE_HELP, "timeout": "Seconds to wait for convergence (default: deploy.timeout).",
                          "force": "Replace every task even when the spec is unchanged.",
                          "release": "A release file (image.push wrote it): deploy exactly its digests, "
                                     "its services unless --service narrows them.", "adopt": ADOPT_HELP,
                          "json": PROGRESS_JSON_HELP})
def deploy(c, service=None, timeout=None, manager=None, force=False, release=None, adopt=False, json=False):
    """Create or rolling-update the services from their latest images (or a release file's digests), and wait."""
    from goswarm.ops import deploy as deploys
    from goswarm.ops import release as releases
    from goswarm.plan import config

    sh, cfg = settings_of(c, manager, adopt)
    timeout = seconds_flag("--timeout", timeout)
    if release:
        deploys.deploy_release(sh, cfg, releases.path_of(cfg, release), service, timeout, force, json)
    else:
        deploys.deploy(sh, cfg, config.select(cfg.services, service), timeout, force, json)


@task(name="rollback", help={**SERVICE_HELP, "timeout": "Seconds to wait (default: deploy.timeout).",
                             "to": "N: go back N releases of each service in the project's release history (kept "
                                   "on the swarm); FILE: deploy that release file's digests."})
def rollback_(c, service=None, timeout=None, manager=None, to=None):
    """Put the services' previous release back (as `docker service rollback`), or --to N releases back, and wait."""
    from goswarm.ops import deploy as deploys
    from goswarm.ops import release as releases
    from goswarm.plan import config

    sh, cfg = settings_of(c, manager)
    timeout = seconds_flag("--timeout", timeout)
    if to is not None and not str(to).isdigit():
        deploys.deploy_release(sh, cfg, releases.path_of(cfg, to), service, timeout)
        return
    steps = settings.whole_number("--to", to) if to is not None else None
    if steps == 0:
        raise PipelineError("--to 0 is the release that runs now: give 1 or more")
    deploys.rollback(sh, cfg, config.select(cfg.services, service), timeout, steps)


@task(help={"manager": MANAGER_HELP})
def unlock(c, manager=None):
    """Release the deploy lock, whoever holds it (e.g. a killed `redeploy`)."""
    from goswarm.ops import deploy as deploys

    sh, cfg = settings_of(c, manager)
    deploys.unlock(sh, cfg)


@task(help=SERVICE_HELP)
def rm(c, service=None, manager=None):
    """Remove the services and wait until their tasks are gone."""
    from goswarm.ops import deploy as deploys
    from goswarm.plan import config

    sh, cfg = settings_of(c, manager)
    deploys.remove(sh, cfg, config.select(cfg.services, service))


@task(help={"service": "The service to scale (required).", "replicas": "How many tasks to run.",
            "manager": MANAGER_HELP})
def scale(c, service, replicas, manager=None):
    """Set a service's replica count and wait until it converges."""
    from goswarm.ops import deploy as deploys
    from goswarm.plan import config

    replicas = settings.whole_number("--replicas", replicas)
    sh, cfg = settings_of(c, manager)
    deploys.scale(sh, cfg, config.select(cfg.services, service)[0].name, replicas)


@task(help={**SERVICE_HELP, "json": JSON_HELP})
def ps(c, service=None, manager=None, json=False):
    """List the services' tasks: node, state, error."""
    from goswarm.ops import deploy as deploys
    from goswarm.plan import config

    _, cfg = settings_of(c, manager)
    print(deploys.tasks_table(cfg, config.select(cfg.services, service), json))


@task(help={"service": "The service (required).", "follow": "Keep streaming new lines.",
            "tail": "Only the last N lines of each task (default: all).", "manager": MANAGER_HELP})
def logs(c, service, follow=False, tail=None, manager=None):
    """Print a service's logs from all of its tasks."""
    from goswarm.ops import deploy as deploys
    from goswarm.plan import config

    tail = settings.whole_number("--tail", tail) if tail is not None else None
    _, cfg = settings_of(c, manager)
    deploys.logs(cfg, config.select(cfg.services, service)[0].name, follow, tail)


@task(help={**SERVICE_HELP, "json": "Progress on stderr, and on stdout JSON: the result, the error, and each "
                                     "URL that answered."})
def smoke(c, service=None, manager=None, json=False):
    """GET each service's smoke path where it is published until it answers 2xx (redeploy's last stage)."""
    from goswarm.ops import pipeline
    from goswarm.plan import config

    sh, cfg = settings_of(c, manager)
    pipeline.smoke_all(sh, cfg, config.select(cfg.services, service), json)


ns = Collection("deploy")
for t in (deploy, rollback_, unlock, rm, scale, ps, logs, smoke):
    ns.add_task(t)
