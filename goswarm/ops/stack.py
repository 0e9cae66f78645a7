"""`stack.export`: the services as `goswarm deploy` would create them, written as a compose file."""
from pathlib import Path
from typing import Optional

from goswarm.errors import PipelineError
from goswarm.io import engine, environment
from goswarm.ops import image, secrets
from goswarm.ops import release as releases
from goswarm.plan import config, servicespec, stack


def specs(services: list, images: dict, network: str, start_interval: bool, project: str = "",
          files: dict = None) -> list:
    """The ServiceSpecs a deploy of `services` sends (an app's edge right after it), for images
    {service name: image.Image}. The network is named, where a deploy gives its id; files: each service's
    secrets and configs (secrets.named), by its name. Pure."""
    out = []
    for service in services:
        pairs = [(service, images[service.name])]
        if service.publish_mode == "edge":
            pairs.append((config.edge_of(service, environment.GO_SOURCES), images[config.edge_image(service)]))
        for svc, release in pairs:
            out.append(servicespec.desired(svc, release.deploy_ref, release.ref, network, 0, release.healthcheck,
                                           start_interval, project, files=(files or {}).get(svc.name)))
    return out


def export(sh, cfg, wanted=None, path: Optional[Path] = None, release: Optional[Path] = None) -> str:
    """The compose file text; written to `path` when given. The images are the ones `deploy` would run:
    a release file's digests (`deploy --release`), else the latest images."""
    if release is not None:
        entries = releases.read(release)
        services = releases.services_of(cfg, entries, wanted)
        images = releases.images_of(cfg, entries)
    else:
        services = config.select(cfg.services, wanted)
        images = {svc.name: image.latest(cfg, svc) for svc in config.with_edge(services, environment.GO_SOURCES)}
    client = engine.client(cfg.target_url)
    start_interval = engine.api_version(client) >= servicespec.START_INTERVAL_API
    made = specs(services, images, cfg.network, start_interval, cfg.project,
                 {svc.name: secrets.named(svc) for svc in services})
    header = ["What `goswarm deploy` creates, for `docker stack deploy -c FILE STACK` (written by goswarm "
              "stack.export).", f"The network {cfg.network} must exist (goswarm swarm.init makes it). "
              "The stack prefixes each service's name with STACK_ and adds its own labels."]
    header += [f"Not expressible in compose {stack.VERSION}: {name}: {what} ({why})."
               for spec in made for name, what, why in stack.dropped(spec)]
    text = stack.render(stack.compose(made, cfg.network), tuple(header))
    if path is not None and sh.dry:
        print(f"[dry] would write {path}")
    elif path is not None:
        try:
            path.write_text(text)
        except OSError as e:
            raise PipelineError(f"cannot write {path}: {e.strerror or e}") from None
    return text
