"""image: build, push, ship and run the services' images."""
from invoke import Collection

from goswarm import settings
from goswarm.errors import PipelineError
from goswarm.plan import release as releases
from goswarm.tasks.base import MANAGER_HELP, settings_of, task

SERVICES = "Only these services (comma-separated; default: all)."


@task(name="build", default=True, help={"service": SERVICES,
                                        "force": "Rebuild, without the layer cache, even when the image exists."})
def build_(c, service=None, force=False):
    """Build prefix/<service>:<content-key> and :latest from dist/ (context: the binaries and the Dockerfile)."""
    from goswarm.ops import image as images
    from goswarm.plan import config

    sh, cfg = settings_of(c)
    images.build_all(sh, cfg, config.select(cfg.services, service), force=force)


@task(help={"service": SERVICES,
            "release_file": f"Where to write the release file (default: <build.dist>/{releases.FILE})."})
def push(c, service=None, release_file=None):
    """Push the services' images (and the edge's) to image.registry, and write the release file of their digests."""
    from goswarm.ops import image as images
    from goswarm.ops import release
    from goswarm.plan import config

    sh, cfg = settings_of(c)
    pushed = images.push_all(sh, cfg, config.select(cfg.services, service))
    release.write(sh, pushed, release.path_of(cfg, release_file))


@task(name="ship", help={"service": SERVICES, "manager": MANAGER_HELP})
def ship_(c, service=None, manager=None):
    """Without a registry: copy the latest images from this engine into every swarm node that lacks them."""
    from goswarm.ops import image as images
    from goswarm.ops import ship as shipping
    from goswarm.plan import config

    sh, cfg = settings_of(c, manager)
    shipping.ship(sh, cfg, [images.latest(cfg, s) for s in config.select(cfg.services, service) if s.built])


@task(help={"service": "The service to run (required).", "port": "Host port (default: the service's publish or port)."})
def run(c, service, port=None):
    """Run one service's image locally, like `docker run --rm -p`, until Ctrl-C."""
    from goswarm.ops import image as images
    from goswarm.plan import config

    sh, cfg = settings_of(c)
    svc = config.select(cfg.services, service)[0]
    if not svc.built:
        raise PipelineError(f"services.{svc.name} names the image {svc.image}, which goswarm does not build: run it "
                            f"with `docker run -p PORT:{svc.port} {svc.image}`")
    images.run_locally(sh, cfg, svc, settings.whole_number("--port", port) if port else svc.publish or svc.port)


ns = Collection("image")
for t in (build_, push, run, ship_):
    ns.add_task(t)
