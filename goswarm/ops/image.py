"""Package each built binary into an image (with the probe), push it, or run it locally."""
import dataclasses
import functools
import hashlib
import io
import json
import posixpath
import shlex
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from goswarm import parallel, program
from goswarm.errors import PipelineError
from goswarm.io import engine, engineapi, environment, terminal
from goswarm.ops import build, registry
from goswarm.plan import config, dockerbuild, edgeproxy, output, platforms
from goswarm.plan import dockerfile as dockerfiles
from goswarm.plan.servicespec import LABEL


@dataclass(frozen=True)
class Image:
    service: str
    repository: str
    tag: str
    id: str = ""
    digest: str = ""  # what services reference once pushed: repo:tag@sha256:... as the nodes name it
    healthcheck: Optional[dict] = None  # the image's own HEALTHCHECK (its config's Healthcheck), if it has one
    sha: str = ""  # the pushed manifest's digest, sha256:... (a manifest list's when multi-arch)
    platforms: tuple = ()  # ((os/arch, sha256:... of that platform's image), ...) once pushed
    platform: str = ""  # the platform this image was built for (one of build.platforms)
    source_hash: str = ""  # the service's sources (the image's io.goswarm.source-hash label)
    revision: str = ""  # the git revision it was built from, "" when unknown
    variants: tuple = ()  # multi-arch: one Image per platform; this one stands for their manifest list

    @property
    def ref(self) -> str:
        return f"{self.repository}:{self.tag}"

    @property
    def deploy_ref(self) -> str:
        """What a service runs: the pushed digest when there is one, else the local image id.

        A local image id lets swarm skip its pull attempt, which would fail
        (the image is in no registry) and cost a DNS time-out per task.
        """
        return self.digest or self.id or self.ref


# --- pure -----------------------------------------------------------------

def content_key(binary_digest: str, dockerfile: bytes, probe_digest: str = "", others: dict = None) -> str:
    """An image is fully determined by its binary, its Dockerfile, the probe added to it and the other files of
    its context (`with:` binaries, files the Dockerfile names: name -> digest); the tag is this key."""
    data = binary_digest.encode() + b"\0" + dockerfile + b"\0" + probe_digest.encode()
    for name, digest in sorted((others or {}).items()):
        data += f"\0{name}\0{digest}".encode()
    return hashlib.sha256(data).hexdigest()


def with_probe(dockerfile: bytes, probe_name: str) -> bytes:
    """The Dockerfile the builder gets: the user's own, plus the probe copied into its last stage. Pure."""
    return dockerfile.rstrip(b"\n") + f"\n# added by goswarm: health checks and trial runs use it\n" \
        f"COPY {probe_name} {config.PROBE_PATH}\n".encode()


# Config-only instructions, which `docker import --change` applies as the builder would.
IMPORT_CHANGES = ("USER", "ENTRYPOINT", "CMD", "ENV", "EXPOSE", "WORKDIR", "LABEL")


def scratch_plan(dockerfile: bytes, binary: str):
    """(dest, changes) when the Dockerfile is FROM scratch plus one plain COPY of the binary and config
    instructions, so the image can be imported instead of built; None for anything else. Pure."""
    lines = dockerfiles.lines(dockerfile.decode(errors="replace"))
    if not lines or lines[0].lower() != "from scratch" or any(line.endswith("\\") for line in lines):
        return None
    dest, changes = None, []
    for line in lines[1:]:
        word, _, rest = line.partition(" ")
        word = word.upper()
        if word == "ARG" and rest.strip() == "BINARY":
            continue
        if word == "COPY" and dest is None:
            parts = rest.split()
            if len(parts) == 2 and parts[0] in ("${BINARY}", "$BINARY", binary) and parts[1].startswith("/"):
                dest = parts[1]
                continue
            return None
        if word in IMPORT_CHANGES:
            changes.append(f"{word} {rest.strip()}")
            continue
        return None  # RUN, ADD, a second COPY, COPY --from/--chown, ...: the builder's job
    return (dest, changes) if dest and not dest.endswith("/") else None


def scratch_dockerfile(plan: tuple, binary: str, probe: str) -> bytes:
    """What scratch_plan found (the binary's destination, the config instructions), as a Dockerfile whose
    COPY lines come first: Engine 20.10's classic builder, building for another platform, fails on a
    config-only step (ARG BINARY) before a FROM scratch stage's first COPY. Pure."""
    dest, changes = plan
    return "".join(f"{line}\n" for line in ["FROM scratch", f"COPY {binary} {dest}",
                                            f"COPY {probe} {config.PROBE_PATH}", *changes]).encode()


def context_tar(dockerfile: bytes, files: dict, named: dict = None) -> io.BytesIO:
    """A build context of the Dockerfile, `files` (name in the tar -> path; executables all: the binaries) and
    `named` (the service's own files its Dockerfile names, with their own modes)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile))
        for name, path in [*files.items(), *(named or {}).items()]:
            with open(path, "rb") as f:
                stat = path.stat()
                info = tarfile.TarInfo(name)
                info.size = stat.st_size
                info.mode = 0o755 if name in files else stat.st_mode & 0o777
                tar.addfile(info, f)
    buf.seek(0)
    return buf


def push_result(events, say=print, progress=None) -> str:
    """The pushed digest from a push stream; any error in the stream raises (the SDK does not).
    The engine retries a failed layer upload a few times, waiting longer each time: `say` tells of it.
    progress(bytes sent, bytes to send) is called as the layers go up."""
    digest = ""
    layers = {}
    for event in events:
        detail = event.get("progressDetail") or {}
        if progress and event.get("id") and detail.get("total"):
            layers[event["id"]] = (detail.get("current", 0), detail["total"])
            progress(sum(done for done, _ in layers.values()), sum(total for _, total in layers.values()))
        if "error" in event or "errorDetail" in event:
            detail = event.get("errorDetail", {}).get("message") or event.get("error")
            raise PipelineError(f"push failed: {environment.redact(str(detail))}")
        if str(event.get("status", "")).startswith("Retrying in"):
            say(f"push: a layer upload failed; the engine is {event['status'][0].lower()}{event['status'][1:]}")
        digest = event.get("aux", {}).get("Digest", digest)
    if not digest:
        raise PipelineError("push finished without a digest; the registry did not accept the image")
    return digest


def own_check(inspect: dict) -> Optional[dict]:
    """The HEALTHCHECK an image declares, from its inspect. Pure."""
    return ((inspect or {}).get("Config") or {}).get("Healthcheck") or None


# --- engine ---------------------------------------------------------------

def dockerfile_for(cfg, service: config.Service) -> Path:
    """The service's own Dockerfile, else the shared one. goswarm's own images (the edge) always take the one
    that ships with goswarm: a user's Dockerfile is never theirs."""
    if service.name in config.HELPERS:
        return environment.DOCKERFILE
    own = service.dockerfile or (service.path / "Dockerfile")
    path = own if own.is_file() else cfg.dockerfile
    if not path.is_file():
        raise PipelineError(f"no Dockerfile for {service.name}: looked for {own} and {path}")
    return path


def build_args(service: config.Service, binary: str, target: platforms.Platform) -> dict:
    """The build args a Dockerfile gets: BINARY (the binary's name in the context), the platform's TARGET*
    (BuildKit sets them; the classic builder does not) and the service's `build_args:`."""
    return {"BINARY": binary, "TARGETPLATFORM": str(target), "TARGETOS": target.os, "TARGETARCH": target.arch,
            **({"TARGETVARIANT": target.variant} if target.variant else {}), **service.build_args}


def build_plan(service: config.Service, dockerfile: Path, binary: str, target: platforms.Platform,
               others: tuple = ()):
    """How to build the service's Dockerfile (plan/dockerfile.plan): goswarm's own as it is; a user's final
    stage with goswarm's binary where it copies only the binary, else as written."""
    text = environment.read_text(dockerfile)
    if dockerfile == environment.DOCKERFILE:
        return dockerbuild.Plan("binary", text, "")
    names = {service.name, service.path.name, posixpath.basename(service.main), binary,
             dockerfiles.entrypoint_binary(text)} - {".", "", None}
    return dockerbuild.plan(text, names, binary, build_args(service, binary, target), service.build == "docker",
                            others)


def missing_bases(client, service: config.Service, dockerfile: Path, planned) -> Optional[str]:
    """One line naming the base images this engine lacks, which the build would try to pull; None when it has
    them all."""
    missing = [b for b in planned.bases if engine.find_image(client, b) is None]
    if not missing:
        return None
    line = (f"{service.name}: {output.shown(dockerfile)} needs {', '.join(missing)}, which this engine does not "
            f"have; pull {'them' if len(missing) > 1 else 'it'}, or without registry access provide "
            f"{'them' if len(missing) > 1 else 'it'} under {'these names' if len(missing) > 1 else 'this name'}")
    if planned.borrowed:
        files = ", ".join(path for image, path in planned.borrowed if image in missing)
        return line + (f" ({files} included: its final stage takes them from its build stage, whose base it "
                       f"is, while goswarm compiles {service.name} on this host); nothing was deployed")
    return line + " (`docker load`, or `docker import` of an empty tar when the image needs no file of it at " \
                  "run time); nothing was deployed"


def named_files(cfg, service: config.Service, dockerfile: Path, binaries: dict, planned=None) -> dict:
    """What else goes into the build context: the files a Dockerfile of the user's own names (the shared one
    names only the binary). binaries: the service's own first, then its `with:` mains'."""
    if len(binaries) > 1 and dockerfile == environment.DOCKERFILE:
        raise PipelineError(f"services.{service.name}.with: goswarm's shared Dockerfile takes only the service's "
                            f"binary; give {service.name} a Dockerfile of its own that ADDs "
                            f"{', '.join(list(binaries)[1:])}")
    if dockerfile == environment.DOCKERFILE and len(binaries) == 1:
        return {}
    if planned is not None and planned.how == "as written":
        return whole_context(cfg, dockerfile, binaries)
    text = planned.dockerfile if planned is not None else environment.read_text(dockerfile)
    return context_files(service, dockerfile, binaries, text)


def _dockerignore(here: Path) -> list:
    path = here / ".dockerignore"
    return dockerfiles.ignore_rules(environment.read_text(path)) if path.is_file() else []


def whole_context(cfg, dockerfile: Path, binaries: dict) -> dict:
    """A Dockerfile built as written: its directory, as the builder's context, less what .dockerignore and
    dot names leave out and goswarm's build output."""
    here, rules, dist = dockerfile.parent.resolve(), _dockerignore(dockerfile.parent.resolve()), cfg.dist.resolve()
    found = {}
    for path in sorted(here.rglob("*")):
        name = path.relative_to(here).as_posix()
        if (path.is_file() and name not in binaries and name != "Dockerfile" and path != dockerfile.resolve()
                and not any(p.startswith(".") for p in name.split("/")) and dist not in path.parents
                and not dockerfiles.ignored(name, rules)):  # the Dockerfile goes in as goswarm adds to it
            found[name] = path
    return found


def context_files(service: config.Service, dockerfile: Path, binaries: dict, text: str = None) -> dict:
    """The files of the Dockerfile's directory that its ADD and COPY lines take (name in the context -> path),
    besides `binaries` (context name -> path: the service's own first, then its `with:` mains'), which goswarm
    provides, less what .dockerignore leaves out. A name that is neither is one error line now, rather than a
    builder failure later. text: the Dockerfile goswarm builds (default: the file's own)."""
    here = dockerfile.parent.resolve()
    rules = _dockerignore(here)
    text = environment.read_text(dockerfile) if text is None else text
    values = {"BINARY": next(iter(binaries)), **service.build_args}
    sources = dockerfiles.sources(text, values)
    for name in list(binaries)[1:]:
        if not any(dockerfiles.names(source, name) for source in sources):
            raise PipelineError(f"services.{service.name}.with: {output.shown(dockerfile)} does not ADD or COPY "
                                f"{name}; add `ADD {name} /` to it, or leave that main out of `with:`")
    found = {}
    for source in sources:
        if source in binaries:
            continue
        pattern = posixpath.normpath(source.lstrip("/"))
        matches = [here] if pattern == "." else [m.resolve() for m in here.glob(pattern)]
        matches = [m for m in matches if m == here or here in m.parents]
        if not matches and not any(dockerfiles.names(source, name) for name in binaries):
            raise PipelineError(_not_in_context(service, dockerfile, source, binaries))
        for match in matches:
            for path in (match.rglob("*") if match.is_dir() else [match]):
                name = path.relative_to(here).as_posix()
                if (path.is_file() and name not in binaries and not any(p.startswith(".") for p in name.split("/"))
                        and not dockerfiles.ignored(name, rules)):
                    found[name] = path
    return found


def _not_in_context(service: config.Service, dockerfile: Path, source: str, binaries: dict) -> str:
    problem = (f"{output.shown(dockerfile)} takes {source} from the build context, which is neither a file in "
               f"{output.shown(dockerfile.parent)} nor a binary goswarm builds for {service.name} "
               f"({', '.join(binaries)})")
    if dockerfiles.binary(source):
        return f"{problem}; if it is another Go main's binary, name its directory in services.{service.name}.with"
    return problem


def git_revision(sh, root) -> str:
    result = sh.read(f"cd {shlex.quote(str(root))} && git rev-parse --short HEAD && git status --porcelain")
    if not result.ok:
        return "unknown"
    rev, *changes = result.stdout.split("\n", 1)
    return rev.strip() + ("-dirty" if "".join(changes).strip() else "")


def known_revision(revision: str) -> str:
    """A git revision, or "" when git_revision could not tell. Pure."""
    return "" if revision in ("", "unknown") else revision


def native(cfg, client) -> platforms.Platform:
    """The one of build.platforms that the engine which builds the images runs."""
    return platforms.for_engine(cfg.platforms, engine_platform(client))


def engine_platform(client) -> platforms.Platform:
    """The platform of the engine behind `client` (its /version is asked once per client)."""
    return platforms.engine_platform(engine.version(client))


def binary_for(cfg, name: str, target: platforms.Platform) -> Path:
    return cfg.dist / platforms.artifact_name(name, target)


def build_one(sh, cfg, service: config.Service, revision, quiet: bool = False, force: bool = False,
              compiling: bool = False, target: platforms.Platform = None) -> Image:
    """compiling: under --dry, the build stage would have compiled a new binary for this service.
    target: the platform to build for (default: the engine's own; only its image is tagged latest here).
    revision: the git revision, or a function that tells it (called only when an image is built)."""
    client = engine.client()
    own = native(cfg, client)
    target = target or own
    if service.name == config.EDGE:
        return build_edge(sh, cfg, client, target, own)
    binary, probe = binary_for(cfg, service.name, target), binary_for(cfg, config.PROBE, target)
    helpers = {p.name: p for p in (binary_for(cfg, config.binary_name(d), target) for d in service.with_mains)}
    dockerfile_path = dockerfile_for(cfg, service)
    planned = build_plan(service, dockerfile_path, binary.name, target, tuple(helpers))
    dockerfile = planned.dockerfile.encode()
    missing = [p for p in (binary, probe, *helpers.values()) if not p.is_file()]
    if missing or compiling and sh.dry:
        if sh.dry:  # a dry build made no binary; the plan goes on with a placeholder tag
            print(f"[dry] would build {cfg.repository(service.name)}:<new> from {binary.name}")
            return Image(service.name, cfg.repository(service.name), "new")
        raise PipelineError(f"{missing[0]} is missing: run {program.run(f'build --service {service.name}')} first")
    named = named_files(cfg, service, dockerfile_path, {binary.name: binary, **helpers}, planned)
    others = {name: build.file_digest(path) for name, path in {**helpers, **named}.items()}
    others.update({f"--build-arg {k}": v for k, v in service.build_args.items()})
    key = content_key(build.file_digest(binary), dockerfile, build.file_digest(probe), others)
    image = Image(service.name, cfg.repository(service.name), key[:12])
    with engine.errors(f"inspecting image {image.ref}"):
        existing = engine.find_image(client, image.ref)
    platform = str(target)
    if existing and not force:
        print(f"{image.ref}: up to date (same binary and Dockerfile)")
        # e.g. back to an earlier version of the code
        if target == own and f"{image.repository}:latest" not in existing.tags:
            with engine.errors(f"tagging {image.repository}:latest"):
                sh.act(f"tag {image.ref} as latest", engineapi.tag, client, existing.id, image.repository, "latest")
        labels = (existing.attrs.get("Config") or {}).get("Labels") or {}
        return Image(image.service, image.repository, image.tag, existing.id, healthcheck=own_check(existing.attrs),
                     platform=platform, source_hash=labels.get(f"{LABEL}.source-hash", ""),
                     revision=known_revision(labels.get("org.opencontainers.image.revision", "")))
    if sh.dry:
        print(f"[dry] would build {image.ref} from {binary.name} ({binary.stat().st_size // 1024} KiB context)")
        return image
    with engine.errors(f"looking for the base images of {image.ref}"):
        missing = missing_bases(client, service, dockerfile_path, planned)
    if missing:
        raise PipelineError(missing)
    revision = revision() if callable(revision) else revision  # asked of git only when an image is built
    labels = {f"{LABEL}.service": service.name, f"{LABEL}.source-hash": build.source_hash(service.path, cfg.dist),
              f"{LABEL}.content-key": key, "org.opencontainers.image.revision": revision}
    plan = None if others or planned.how != "binary" else scratch_plan(dockerfile, binary.name)
    with engine.errors(f"building {image.ref}"):
        if plan and target == own:
            image_id = import_scratch(client, image, {plan[0]: binary, config.PROBE_PATH: probe}, labels, plan[1])
        else:  # `docker import` makes images of the engine's own platform only; the builder honours --platform
            given = scratch_dockerfile(plan, binary.name, probe.name) if plan else with_probe(dockerfile, probe.name)
            image_id = docker_build(client, image, given, {binary.name: binary, probe.name: probe, **helpers},
                                    labels, quiet, force, named, None if target == own else platform,
                                    build_args(service, binary.name, target))
        if target == own:
            engineapi.tag(client, image_id, image.repository, "latest")
        built = engineapi.image(client, image_id)
    how = ", imported: the Dockerfile only copies the binary" if plan else ""
    if planned.why:
        how += f"; {planned.why}" if planned.how == "binary" else f"; built as written: {planned.why}"
    print(f"built {image.ref} ({image_id[7:19]}{how}{'' if target == own else ', for ' + platform})")
    return Image(image.service, image.repository, image.tag, image_id, healthcheck=own_check(built),
                 platform=platform, source_hash=labels[f"{LABEL}.source-hash"], revision=known_revision(revision))


@dataclass(frozen=True)
class EdgeRecipe:
    """How goswarm's HTTP edge image is made for one platform: from this machine's HAProxy (files), or FROM an
    HAProxy image (base)."""
    base: str  # the image to build FROM; "" for this machine's HAProxy
    why: str  # why this machine's HAProxy cannot serve ("" when it can, or image.edge_base names the base)
    dockerfile: bytes
    files: dict  # path in the image -> file here: HAProxy, its libraries, the probe ({} with a base)
    changes: list  # the image's config, for an import
    covered: dict  # what the image's key covers besides the probe: digests of the files, the base, the config

    @property
    def source(self) -> str:
        if self.base:
            return f"FROM {self.base}" + (f" ({self.why})" if self.why else "")
        return f"HAProxy from {self.files[edgeproxy.BINARY_PATH]}"


def edge_recipe(cfg, target: platforms.Platform, own: platforms.Platform, probe: Path) -> EdgeRecipe:
    from goswarm.io import haproxy

    why = "" if cfg.edge_base else haproxy.unusable_for(target) or (f"the engine is {own}" if target != own else "")
    base = cfg.edge_base or (edgeproxy.EDGE_BASE if why else "")
    config_digest = {edgeproxy.HAPROXY_CFG_PATH: hashlib.sha256(edgeproxy.HAPROXY_CFG.encode()).hexdigest()}
    if base:
        dockerfile = edgeproxy.base_dockerfile(base, probe.name, config.PROBE_PATH).encode()
        return EdgeRecipe(base, why, dockerfile, {}, [], {"FROM": base, **config_digest})
    files, changes = haproxy.image_files(), edgeproxy.image_changes()
    covered = {dest: build.file_digest(path) for dest, path in files.items()}
    return EdgeRecipe("", "", b"haproxy", {**files, config.PROBE_PATH: probe}, changes,
                      {**covered, "changes": "\n".join(changes), **config_digest})


def build_edge(sh, cfg, client, target: platforms.Platform, own: platforms.Platform) -> Image:
    """goswarm's HTTP edge: HAProxy with plan/edgeproxy's config and the probe. Made of this machine's HAProxy
    and its libraries, imported FROM scratch as one layer; or, with image.edge_base or where this machine's
    HAProxy cannot run on `target` (not Linux, none installed, another platform), built FROM an HAProxy image that
    the engine pulls. Its tag is a key of all of these, so a goswarm or HAProxy upgrade makes a new edge, and
    nothing of the user's build settings does."""
    probe = binary_for(cfg, config.PROBE, target)
    if not probe.is_file():
        if sh.dry:
            print(f"[dry] would build {cfg.repository(config.EDGE)}:<new> from HAProxy")
            return Image(config.EDGE, cfg.repository(config.EDGE), "new")
        raise PipelineError(f"{probe} is missing: run {program.run('build')} first")
    recipe, key = _edge_key(cfg, target, own, probe)
    image = Image(config.EDGE, cfg.repository(config.EDGE), key[:12])
    with engine.errors(f"inspecting image {image.ref}"):
        existing = engine.find_image(client, image.ref)
    if existing:
        print(f"{image.ref}: up to date (same HAProxy and config)")
        if target == own and f"{image.repository}:latest" not in existing.tags:
            with engine.errors(f"tagging {image.repository}:latest"):
                sh.act(f"tag {image.ref} as latest", engineapi.tag, client, existing.id, image.repository, "latest")
        return Image(image.service, image.repository, image.tag, existing.id, platform=str(target), source_hash=key)
    if sh.dry:
        print(f"[dry] would build {image.ref}: {recipe.source}")
        return image
    # Its sources are HAProxy and the config: the key stands for them in the release file's source_hash.
    labels = {f"{LABEL}.service": config.EDGE, f"{LABEL}.content-key": key, f"{LABEL}.source-hash": key}
    with engine.errors(f"building {image.ref}"):
        if recipe.base:
            image_id = _build_edge_from(client, cfg, image, recipe, probe, labels, None if target == own else target)
        else:
            image_id = import_scratch(client, image, _edge_files(recipe), labels, recipe.changes)
        if target == own:
            engineapi.tag(client, image_id, image.repository, "latest")
    print(f"built {image.ref} ({image_id[7:19]}, {recipe.source})")
    return Image(image.service, image.repository, image.tag, image_id, platform=str(target), source_hash=key)


def _edge_key(cfg, target: platforms.Platform, own: platforms.Platform, probe: Path) -> tuple:
    """(the edge's recipe for `target`, its content key: the image's tag is its first 12 characters)."""
    recipe = edge_recipe(cfg, target, own, probe)
    return recipe, content_key(build.file_digest(probe), recipe.dockerfile, "", recipe.covered)


def _edge_files(recipe: EdgeRecipe) -> dict:
    """What an edge imported FROM scratch is made of: HAProxy, its libraries, the probe and the config."""
    return {**recipe.files, edgeproxy.HAPROXY_CFG_PATH: edgeproxy.HAPROXY_CFG.encode()}


def edge_layer(cfg, edge: Image) -> Optional[bytes]:
    """The files of the edge image `edge` as a tar for a running edge task to take in place, when this machine
    made it of its own HAProxy (FROM scratch) and still has what it was made of; None otherwise (an edge FROM an
    HAProxy image, or one built elsewhere: its tasks are replaced instead)."""
    try:
        own = native(cfg, engine.client())
        target = platforms.parse(edge.platform) if edge.platform else own
        probe = binary_for(cfg, config.PROBE, target)
        recipe, key = _edge_key(cfg, target, own, probe)
    except (PipelineError, OSError, ValueError):
        return None
    if recipe.base or key[:12] != edge.tag:
        return None
    return layer_of(_edge_files(recipe))


def _build_edge_from(client, cfg, image: Image, recipe: EdgeRecipe, probe: Path, labels: dict, platform) -> str:
    context = cfg.dist / ".edge"
    context.mkdir(parents=True, exist_ok=True)
    (context / "haproxy.cfg").write_text(edgeproxy.HAPROXY_CFG)
    try:
        return docker_build(client, image, recipe.dockerfile, {probe.name: probe}, labels, True, False,
                            {"haproxy.cfg": context / "haproxy.cfg"}, str(platform) if platform else None)
    except PipelineError as e:
        because = recipe.why or "image.edge_base says so"
        raise PipelineError(f"{e}; the HTTP edge is built FROM {recipe.base} because {because}: let the engine "
                            f"pull it, set image.edge_base to an HAProxy image it has, or install HAProxy "
                            f"here") from None


def docker_build(client, image: Image, dockerfile: bytes, files: dict, labels: dict, quiet: bool, force: bool,
                 named: dict = None, platform: str = None, args: dict = None):
    """The builder, with a context of just `files` (the first is the service's binary, passed as BINARY; the
    binaries are all named <name>-<os>-<arch>, as a Dockerfile of the blog's expects) and `named`.
    platform: another platform than the engine's (the classic builder honours it for FROM scratch). Such a
    build takes no cache: Engine 20.10's classic builder may match a cached step of another platform and then
    fails ("was found but does not match the specified platform")."""
    events = engineapi.build(client, fileobj=context_tar(dockerfile, files, named), custom_context=True,
                             tag=image.ref, buildargs=args or {"BINARY": next(iter(files))}, labels=labels, rm=True,
                             forcerm=True, nocache=force or bool(platform), platform=platform)
    image_id = ""
    for event in events:
        if "error" in event:
            said = event["error"].strip()
            if "does not match the specified platform" in said:
                said += ("; Engine 20.10's classic builder cannot build a config-only step (ARG, ENV, LABEL, "
                         "USER...) before the first COPY or ADD of a FROM scratch stage for another platform: "
                         "move it after that COPY")
            raise PipelineError(f"docker build of {image.ref} failed: {said}")
        if not quiet and event.get("stream", "").strip():
            print(f"  {event['stream'].rstrip()}")
        image_id = event.get("aux", {}).get("ID", image_id)
    return image_id


def layer_of(files: dict) -> bytes:
    """A tar of `files` (path in the image -> a file here, executable, or bytes made here, readable) with the
    folders they sit in: an image's layer, or what put_archive puts into a running container."""
    layer = io.BytesIO()
    folders = set()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        for dest, path in files.items():
            parent = str(Path(dest).parent).lstrip("/")
            if parent and parent not in folders:
                folders.add(parent)
                folder = tarfile.TarInfo(parent)
                folder.type, folder.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(folder)
            info = tarfile.TarInfo(dest.lstrip("/"))
            if isinstance(path, bytes):  # a file made here, e.g. a config
                info.size, info.mode = len(path), 0o644
                tar.addfile(info, io.BytesIO(path))
                continue
            with open(path, "rb") as f:
                info.size, info.mode = path.stat().st_size, 0o755
                tar.addfile(info, f)
    return layer.getvalue()


def import_scratch(client, image: Image, files: dict, labels: dict, changes: list) -> str:
    """The image a FROM scratch Dockerfile that only copies the binary would build, made in one API call:
    a layer of `files` (path in the image -> file: the binary and the probe) plus the Dockerfile's config
    instructions. The builder commits a layer per instruction, which costs about half a second for these lines."""
    changes = changes + [f"LABEL {k}={json.dumps(v)}" for k, v in labels.items()]
    answer = engineapi.import_image(client, layer_of(files), image.repository, image.tag, changes)
    status = json.loads(answer.strip().splitlines()[-1]) if isinstance(answer, str) else answer
    if "error" in status or not str(status.get("status", "")).startswith("sha256:"):
        raise PipelineError(f"importing {image.ref} failed: {status.get('error') or status}")
    return status["status"]


def latest(cfg, service: config.Service) -> Image:
    """What `deploy` runs: the image `image.build` (and `image.push`) made last.

    With a registry it is the pushed digest. When this engine does not have the
    image (a CI deploy job talking to a remote manager), the engine asks the registry; so it does for
    several platforms, where :latest in the registry is the manifest list (here, this engine's platform's image).
    """
    docker = engine.sdk()

    client = registry.push_client(cfg)
    repo = cfg.repository(service.name)
    with engine.errors(f"inspecting image {repo}:latest"):
        found = engine.find_image(client, f"{repo}:latest")
        if cfg.registry and (found is None or len(cfg.platforms) > 1):
            try:
                digest = engineapi.registry_digest(client, f"{repo}:latest")
            except docker.errors.APIError:
                raise PipelineError(f"no image {repo}:latest here or in {cfg.registry}: "
                                    f"run {program.run('image.push')}") from None
            return Image(service.name, repo, "latest", "", cfg.pull_ref(f"{repo}:latest@{digest}"),
                         own_check(found.attrs) if found else None)
    if found is None:
        raise PipelineError(f"no image {repo}:latest: run {program.run('build image.build')} first")
    tag = next((t.rsplit(":", 1)[1] for t in found.tags if t.startswith(repo + ":") and not t.endswith(":latest")),
               "latest")
    digest = next((d for d in found.attrs.get("RepoDigests", []) if d.startswith(repo + "@")), "")
    if cfg.registry and not digest:
        raise PipelineError(f"{repo} is not in registry {cfg.registry}: run {program.run('image.push')} first")
    return Image(service.name, repo, tag, found.id, cfg.pull_ref(digest.replace("@", f":{tag}@", 1)),
                 own_check(found.attrs))


def push_one(sh, cfg, image: Image) -> Image:
    """Push :<tag> and :latest; a multi-platform image pushes each platform's image, then its manifest list."""
    if image.variants:
        return push_index(sh, cfg, image)
    if sh.dry:
        print(f"[dry] would push {image.ref}")
        return image
    started = time.monotonic()
    digest = push_tags(registry.push_client(cfg), image, (image.tag, "latest"))  # latest: see `latest`
    print(f"pushed {image.ref} ({digest}, {time.monotonic() - started:.1f} s)")
    return dataclasses.replace(image, digest=cfg.pull_ref(f"{image.ref}@{digest}"), sha=digest,
                               platforms=((image.platform, digest),) if image.platform else ())


def push_tags(client, image: Image, tags) -> str:
    """Push the image under each of `tags`, with a progress line; the pushed digest."""
    status, started = terminal.Status(), time.monotonic()

    def progress(sent, total):
        rate = sent / max(time.monotonic() - started, 0.001)
        status.update(f"push {image.ref}: {output.size(sent)} of {output.size(total)} ({output.size(rate)}/s)",
                      key=f"push {image.ref}")

    with engine.errors(f"pushing {image.ref}"):
        for tag in tags:
            events = engineapi.push(client, image.repository, tag)
            try:
                digest = push_result(events, status.done, progress)
            except PipelineError as e:
                raise PipelineError(f"pushing {image.repository}:{tag}: {e}; nothing was deployed") from None
            finally:
                status.done()
    return digest


def pushed_digests(client, image: Image) -> list:
    """The digests under which this engine pushed this very image to its repository (its RepoDigests)."""
    found = engine.find_image(client, image.id or image.ref)
    return [d.partition("@")[2] for d in ((found.attrs.get("RepoDigests") or []) if found else [])
            if d.startswith(image.repository + "@")]


def in_registry(client, image: Image) -> str:
    """The digest under which the registry already has this very image (one this engine pushed, under its
    tag), else "": then there is nothing to send."""
    docker = engine.sdk()
    pushed = pushed_digests(client, image)
    if not pushed:
        return ""
    try:
        there = engineapi.registry_digest(client, image.ref)
    except docker.errors.APIError:  # not there (or not readable): push it
        return ""
    return there if there in pushed else ""


def push_index(sh, cfg, image: Image) -> Image:
    """Each platform's image under its own tag (unless the registry has it already), then the manifest list of
    them under the image's tag and latest; services reference the list's digest."""
    from goswarm.ops import manifest

    if sh.dry:
        for variant in image.variants:
            print(f"[dry] would push {variant.ref} ({variant.platform})")
        print(f"[dry] would push the manifest list {image.ref} and {image.repository}:latest")
        return image
    client, started, pushed = registry.push_client(cfg), time.monotonic(), []
    listed = manifest.listed(client, image.ref)
    if listed and listed == manifest.listed(client, f"{image.repository}:latest"):
        # The list's tag is a key of its platforms' images: the registry has them all. What each platform's
        # image was pushed as, this engine remembers (asked of the registry only when it does not).
        known = [(v.platform, (pushed_digests(client, v) or [""])[0]) for v in image.variants]
        if all(digest for _, digest in known):
            print(f"{image.ref} ({', '.join(p for p, _ in known)}): already in the registry ({listed[:19]})")
            return dataclasses.replace(image, digest=cfg.pull_ref(f"{image.ref}@{listed}"), sha=listed,
                                       platforms=tuple(known))
    for variant in image.variants:
        with engine.errors(f"asking the registry for {variant.ref}"):
            digest = in_registry(client, variant)
        if digest:
            print(f"{variant.ref} ({variant.platform}): already in the registry ({digest[:19]})")
        else:
            digest = push_tags(client, variant, (variant.tag,))
            print(f"pushed {variant.ref} ({variant.platform}: {digest})")
        pushed.append((variant.platform, digest))
    index = manifest.push_list(sh, cfg, client, image, pushed)
    print(f"pushed {image.ref}: a manifest list of {', '.join(p for p, _ in pushed)} ({index}, "
          f"{time.monotonic() - started:.1f} s)")
    return dataclasses.replace(image, digest=cfg.pull_ref(f"{image.ref}@{index}"), sha=index, platforms=tuple(pushed))


def build_all(sh, cfg, services: list, quiet=False, force=False, compiled=()) -> list:
    """Images of `services`, and of the edge when one of them needs it. force: rebuild the user's services
    without the layer cache (never goswarm's own edge). compiled: the services the build stage compiled
    (under --dry: would have)."""
    revision = functools.cache(lambda: git_revision(sh, cfg.root))  # a no-op builds nothing: no git at all
    built = config.with_edge(services, environment.GO_SOURCES)
    if len(cfg.platforms) > 1 and not cfg.registry:
        print(f"build.platforms has {len(cfg.platforms)} platforms: dist/ holds the binaries of each, but a "
              f"multi-platform image (a manifest list) needs a registry: set image.registry; building the "
              f"images for this engine's platform only")
    if len(cfg.platforms) == 1 or not cfg.registry:
        return parallel.each(lambda s: build_one(sh, cfg, s, revision, quiet, force and s.name not in config.HELPERS,
                                                 s.name in compiled), built, parallel.CORES)
    return [multi_platform([build_one(sh, cfg, s, revision, quiet, force and s.name not in config.HELPERS,
                                      s.name in compiled, p) for p in cfg.platforms], native(cfg, engine.client()))
            for s in built]


def index_tag(variants: list) -> str:
    """The tag of a manifest list: a key of its platforms' images (each tagged with its own content key). Pure."""
    parts = sorted(f"{v.platform}={v.tag}" for v in variants)
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:12]


def multi_platform(variants: list, own: platforms.Platform) -> Image:
    """The one image that stands for a service's images of several platforms: its manifest list's tag, and
    the engine's own platform's image (its id, its HEALTHCHECK) for what needs one here. Pure."""
    mine = next((v for v in variants if v.platform == str(own)), variants[0])
    return Image(mine.service, mine.repository, index_tag(variants), mine.id, healthcheck=mine.healthcheck,
                 source_hash=mine.source_hash, revision=mine.revision, variants=tuple(variants))


def push_all(sh, cfg, services: list) -> list:
    """Build (when needed) and push the images of `services` and of the edge they need."""
    if not cfg.registry:
        raise PipelineError("no registry is configured: set image.registry in the config (or INVOKE_IMAGE_REGISTRY)")
    return [push_one(sh, cfg, image) for image in build_all(sh, cfg, services, quiet=True)]


def run_locally(sh, cfg, service: config.Service, host_port: int) -> None:
    """Run one service's image, like `docker run --rm -p`, streaming its output until Ctrl-C."""
    image = build_one(sh, cfg, service, git_revision(sh, cfg.root), quiet=True)
    if sh.dry:
        print(f"[dry] would run {image.ref} with port {host_port}->{service.port}")
        return
    with engine.errors(f"running {image.ref}"):
        container = engine.client().containers.run(image.ref, detach=True, remove=True, environment=service.env,
                                                   ports={f"{service.port}/tcp": host_port})
    print(f"{service.name} is answering on http://127.0.0.1:{host_port} (Ctrl-C stops it)")
    try:
        for line in container.logs(stream=True, follow=True):
            print(line.decode(errors="replace"), end="")
    except KeyboardInterrupt:
        pass
    finally:
        with engine.errors(f"stopping {image.ref}"):
            container.stop(timeout=10)
            engine.wait_removed(container)
