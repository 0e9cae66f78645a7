"""The tasks at the top: a project's first config, the one-shot pipeline, the dev loop and a fresh machine's setup."""
import sys

from invoke import Exit

from goswarm import settings
from goswarm.errors import PipelineError
from goswarm.io.shell import Shell
from goswarm.tasks.base import ADOPT_HELP, MANAGER_HELP, SERVICE_HELP, seconds_flag, settings_of, task


@task(iterable=["port", "publish", "name"], help={
    "port": "NAME=PORT: the port a service listens on, where init cannot read it from the code (repeatable, or "
            "comma-separated).",
    "skip": "Go mains that are no services, to leave out (comma-separated names).",
    "publish": "NAME=PORT: publish a service on this port rather than on its own number (repeatable).",
    "name": "NAME=NEW: call the service init names NAME by another name (repeatable).",
    "ci": "github or gitlab: also write a CI pipeline (test, build, push, deploy through the release file)."})
def init(c, port=None, skip=None, publish=None, name=None, ci=None):
    """Write a commented goswarm.yaml for the Go main packages here, .env.example lines and a .gitignore stanza."""
    from goswarm.io import environment
    from goswarm.ops import cipipeline as pipelines
    from goswarm.ops import init as initial

    sh = Shell.of(c)
    which = pipelines.kind(ci) if ci is not None else None
    ask = input if sys.stdin.isatty() and sys.stdout.isatty() else None  # no terminal: stop and name the flag
    initial.init(sh, environment.project_root(), port, skip, ask, publish, name, trial=True)
    if which:
        c.config.load_project()  # the goswarm.yaml init may just have written
        pipelines.write(*settings_of(c), which)


@task(help={"json": "Print JSON instead of YAML."})
def config(c, json=False):
    """Print the config as goswarm reads it, checked, with env values that look secret masked.

    That is goswarm.yaml, a destination's goswarm.DEST.yaml (-d), GOSWARM_* variables and -f, merged."""
    import json as as_json

    from invoke.util import yaml

    from goswarm.plan import merged

    _, cfg = settings_of(c)  # a config goswarm cannot use is one error line, as in any task
    sections = ["project", "image", "build", "swarm", "deploy", "lab", "services", "addons"]
    shown = merged.view(settings.plain(c.config), sections, cfg.project, cfg.destination)
    print(as_json.dumps(shown, indent=2) if json else yaml.safe_dump(shown, sort_keys=False), end="\n" if json else "")


@task(help=SERVICE_HELP)
def check(c, service=None, manager=None):
    """Find what a redeploy would trip over, a line per check, changing nothing; exit 1 on any problem.

    It checks the config, Go and the platforms, each Dockerfile and its base images, secrets and configs, the
    engine, the networks, ownership, published ports and placement."""
    from goswarm.ops import check as checks
    from goswarm.plan import config

    sh, cfg = settings_of(c, manager)
    checks.check(sh, cfg, config.select(cfg.services, service))


@task(help={**SERVICE_HELP, "keep": "How many of the newest images of each repository to keep (default 3); an "
                                     "image a spec or its previous spec runs is always kept."})
def prune(c, service=None, keep=3, manager=None):
    """Remove this project's old images and dead task containers, here and on every node images were shipped to."""
    from goswarm.ops import prune as pruning
    from goswarm.plan import config

    sh, cfg = settings_of(c, manager)
    pruning.prune(sh, cfg, config.select(cfg.services, service), settings.whole_number("--keep", keep))


@task
def schema(c):
    """Print the JSON Schema of goswarm.yaml (init writes it as goswarm.schema.json, for editors)."""
    from goswarm.plan import schema as schemas

    print(schemas.text(settings.DEFAULTS, settings.top_level_keys()), end="")


@task(help={**SERVICE_HELP,
            "timeout": "Seconds to wait for each service to converge (default: deploy.timeout).",
            "force": "Redo every stage: compile, rebuild the image without cache, replace every task.",
            "release_file": "With a registry: where to write the release file of the pushed digests "
                            "(default: <build.dist>/release.json).",
            "json": "Progress on stderr, and on stdout a JSON summary: stage timings, each service's result "
                    "and digest.",
            "adopt": ADOPT_HELP})
def redeploy(c, service=None, timeout=None, manager=None, force=False, release_file=None, json=False, adopt=False):
    """build -> image -> push or ship -> deploy -> smoke test, skipping what did not change; timed summary."""
    from goswarm.ops import pipeline, release
    from goswarm.plan import config

    timeout = seconds_flag("--timeout", timeout)
    sh, cfg = settings_of(c, manager, adopt)
    pipeline.redeploy(sh, cfg, config.select(cfg.services, service), timeout, force,
                      release.path_of(cfg, release_file), json)


@task(help={**SERVICE_HELP, "manager": MANAGER_HELP,
            "debounce": f"Milliseconds to gather a burst of saves into one redeploy (default {settings.DEBOUNCE_MS}).",
            "adopt": ADOPT_HELP,
            "live": "Swap a Go change into the running tasks (about a second, no new task) instead of redeploying; "
                    "a Dockerfile change still redeploys. What runs is no release until the next redeploy."})
def dev(c, service=None, manager=None, debounce=None, adopt=False, live=False):
    """Redeploy each service whose sources change, with timings, until Ctrl-C (--live: swap the binary in)."""
    from goswarm.ops import dev as devloop
    from goswarm.plan import config

    debounce_ms = settings.whole_number("--debounce", debounce) if debounce is not None else settings.DEBOUNCE_MS
    sh, cfg = settings_of(c, manager, adopt)
    services = config.select(cfg.services, service)
    services = [s for s in services if s.built]  # an `image:` service has no sources to watch
    missing = [s for s in services if not s.path.is_dir()]
    if missing:
        raise PipelineError(f"services.{missing[0].name}.path: {missing[0].path} is not a directory")
    code = devloop.dev(sh, cfg, services, debounce_ms, live)
    if code:
        raise Exit(code=code)


@task(help={"advertise_addr": "Swarm advertise address (default: MANAGER_IP or the engine's choice)."})
def setup(c, advertise_addr=None):
    """Install Go and Docker when missing (Debian/Ubuntu), start the engine, and run swarm.init."""
    from goswarm.ops import hostsetup

    sh, cfg = settings_of(c)
    hostsetup.setup(sh, cfg, advertise_addr)
