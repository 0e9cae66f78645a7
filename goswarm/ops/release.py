"""Write the release file a push made (plan/release.py says what is in it), read it back for a deploy, and
make sure the swarm can pull every digest in it before anything changes."""
import os
from pathlib import Path

from goswarm.errors import PipelineError
from goswarm.io import engine, engineapi, environment
from goswarm.ops import image
from goswarm.ops.proof import untagged
from goswarm.plan import config, output
from goswarm.plan import release as releases


def path_of(cfg, given=None) -> Path:
    """--release-file, relative to the project; else dist/release.json (dist/release.<destination>.json)."""
    if given:
        return (cfg.root / given).resolve()
    return cfg.dist / (releases.FILE.replace(".json", f".{cfg.destination}.json") if cfg.destination
                       else releases.FILE)


def entry(img: image.Image) -> releases.Entry:
    if not img.sha:
        raise PipelineError(f"{img.ref} was not pushed, so it cannot go into a release file")
    return releases.Entry(img.repository, f"{img.repository}@{img.sha}", dict(img.platforms), img.tag,
                          img.source_hash, img.revision or None, img.healthcheck)


def write(sh, images: list, path: Path) -> None:
    """Write the release file for pushed `images` (atomically: a deploy never reads half a file)."""
    if sh.dry:  # nothing was pushed, so there are no digests yet
        print(f"[dry] would write {output.shown(path)}: {', '.join(img.service for img in images)}")
        return
    text = releases.dumps({img.service: entry(img) for img in images})
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        partial.write_text(text)
        partial.replace(path)
    except OSError as e:
        raise PipelineError(f"cannot write the release file {output.shown(path)}: {e.strerror or e}") from None
    print(f"wrote {output.shown(path)}: {', '.join(img.service for img in images)}")


def read(path: Path) -> dict:
    """{service name: Entry} of a release file, or one line saying why it cannot be used."""
    try:
        text = environment.read_text(path)
    except FileNotFoundError:
        raise PipelineError(f"release file {output.shown(path)} does not exist: image.push writes it") from None
    except OSError as e:
        raise PipelineError(f"cannot read release file {output.shown(path)}: {e.strerror or e}") from None
    return releases.parse(text, output.shown(path))


def images_of(cfg, entries: dict) -> dict:
    """The release's entries as the images deploy takes: no local image id, the digest as the nodes name it."""
    return {name: image.Image(name, e.image, e.tag or e.sha[7:19], "", cfg.pull_ref(e.ref), e.healthcheck, e.sha,
                              tuple(e.platforms.items()), source_hash=e.source_hash, revision=e.revision or "")
            for name, e in entries.items()}


def services_of(cfg, entries: dict, wanted=None) -> list:
    """The configured services the release deploys (--service narrows them)."""
    names = [s.name for s in config.select(cfg.services, wanted)] if wanted is not None else None
    chosen = releases.to_deploy(entries, list(cfg.services), names,
                                lambda n: cfg.services[n].publish_mode == "edge", config.EDGE)
    edge = [config.EDGE] if any(cfg.services[n].publish_mode == "edge" for n in chosen) else []
    releases.check_repositories(entries, [*chosen, *edge], cfg.repository)
    return [cfg.services[n] for n in chosen]


def check_pullable(client, refs: list) -> None:
    """Ask the registry, through the engine that deploys (with the credentials the nodes get), for every
    (service, image reference) that names a digest; one it lacks or will not give is refused before any
    service changes. A local image (no registry) is not asked for."""
    docker = engine.sdk()
    for service, ref in refs:
        if "@sha256:" not in ref:
            continue
        ref = untagged(ref)
        try:
            with engine.errors(f"asking the registry for {ref}"):
                try:
                    engineapi.registry_descriptor(client, ref)
                except docker.errors.APIError as e:
                    reason = environment.redact(" ".join(str(e.explanation or e).split()))[:300]
                    raise PipelineError(f"the swarm's nodes cannot pull {ref} ({service}): {reason}") from None
        except PipelineError as e:
            raise PipelineError(f"{e}; nothing was changed") from None
