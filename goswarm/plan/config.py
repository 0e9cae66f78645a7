"""Service definitions from the `services:` config key, checked field by field.

Pure: takes the plain dict Invoke merged (invoke.yaml, `-f FILE`, INVOKE_*)
and returns frozen Service objects, or raises ConfigError naming the field.
"""
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from goswarm.errors import ConfigError, PipelineError
from goswarm.plan import edgeproxy, placement, secrets, strict, tuning
from goswarm.plan.tuning import Tuning

PUBLISH_MODES = ("edge", "host", "ingress")
EDGE = "goswarm-edge"  # the HTTP proxy of `publish_mode: edge`: HAProxy (plan/edgeproxy.py), not compiled
TCP_EDGE = "goswarm-tcpedge"  # the L4 forwarder for `protocol: tcp` services: no retries, resets on task stop
TCP_EDGE_SOURCE = "tcpedge"
PROTOCOLS = ("http", "tcp")
PROBE = "goswarm-probe"  # checks a service from inside its container: added to every image we build
PROBE_SOURCE = "probe"
PROBE_PATH = "/.goswarm/probe"
HELPERS = (EDGE, TCP_EDGE, PROBE)  # ours, not the user's: `--force` never rebuilds them (their keys cover what matters)
MACHINE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,20}$")  # also the name of its network namespace, veth and paths
_FIELDS = {"path", "image", "main", "port", "publish", "publish_mode", "replicas", "smoke", "env", "constraints",
           "dockerfile", "healthcheck", "with", "mounts", "load", "build_args", "build", "protocol", "gopath",
           "response_timeout", "secrets", "configs", *tuning.KEYS}
# About building: an `image:` service is deployed as it is.
_BUILT_ONLY = ("main", "with", "dockerfile", "build_args", "build", "gopath")
_IMAGE_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:@+-]*$")
DOCKER_SOCKET = "/var/run/docker.sock"
_IMPORT_PATH = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.~-]*(/[A-Za-z0-9_.~-]+)*$")
_BINARY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_IDS = re.compile(r"^\s*\w+(-\w+)?(\s*,\s*\w+(-\w+)?)*\s*$")


@dataclass(frozen=True)
class Load:
    """The default scenario of `goswarm load`: GET `path`, with each {id} in it one of `ids` picked at random
    (a comma list of ids and ranges lo-hi, e.g. "10000-10099")."""

    path: str = "/"
    ids: str = ""


@dataclass(frozen=True)
class Check:
    """A service's health check. kind: "http" (GET a path), "tcp" (the port accepts connections), "command"
    (run in the container), "none", or "image": not configured, so the image's own HEALTHCHECK, else tcp.
    http and tcp run goswarm's probe inside the container, so they work in any image."""

    kind: str = "image"
    value: tuple = ()  # http: (path,); command: the argv
    port: Optional[int] = None  # http: a listener of its own for health checks (`port: 81`), else the service's
    timing: tuple = ()  # (("Interval", ns), ("Retries", n)...): the configured ones, over goswarm's defaults

    def describe(self, port: int) -> str:
        """The check in words, for messages that say what failed."""
        if self.kind == "http":
            return f"GET http://127.0.0.1:{self.port or port}{self.value[0]} inside the container"
        if self.kind == "tcp":
            return f"a connection to port {port} inside the container"
        if self.kind == "command":
            return f"`{shlex.join(self.value)}` inside the container"
        return "the image's own HEALTHCHECK" if self.kind == "image" else "none"


@dataclass(frozen=True)
class Mount:
    """A bind mount: a path of the node into the container."""

    source: str
    target: str
    read_only: bool = False

    def __str__(self) -> str:
        return f"{self.source}:{self.target}{':ro' if self.read_only else ''}"


@dataclass(frozen=True)
class Service:
    name: str
    path: Optional[Path]  # the Go module goswarm builds; None for an `image:` service
    port: int
    main: str = "."
    publish: Optional[int] = None
    publish_mode: str = "host"
    replicas: int = 1
    smoke: Optional[str] = None
    env: dict = field(default_factory=dict)
    constraints: tuple = ()
    dockerfile: Optional[Path] = None
    healthcheck: Check = Check()
    global_mode: bool = False  # one task per node (only the edge services run so)
    with_mains: tuple = ()  # `with:` other Go main packages (directories) whose binaries go into this image's context
    load: Optional[Load] = None  # `load: {path, ids}`, the scenario of `goswarm load`
    image: Optional[str] = None  # an image deployed as it is, never built (the blog's add-ons)
    mounts: tuple = ()  # Mount: bind mounts of node paths
    build_args: dict = field(default_factory=dict)  # `build_args:` for its Dockerfile's ARGs
    build: str = "go"  # "docker": its Dockerfile is built as written, every stage; "go": goswarm compiles
    protocol: str = "http"  # what its port speaks: the edge of an http service retries, a tcp one forwards bytes
    response_timeout: float = edgeproxy.RESPONSE_TIMEOUT  # seconds its HTTP edge waits for a task's answer
    tuning: Tuning = Tuning()  # resources, command, labels, volumes... (plan/tuning.py)
    secrets: tuple = ()  # plan/secrets.Item: Docker secrets, from the environment or files
    configs: tuple = ()  # plan/secrets.Item: Docker configs, from files
    gopath: str = ""  # `gopath:` the import path of `path`, for code with no go.mod: built in GOPATH mode
    stop_signal: str = ""  # the signal a task is stopped with ("": the image's, else SIGTERM); the HTTP edge's

    @property
    def built(self) -> bool:
        """Does goswarm build this service's image (from `path`), or deploy an `image:` as it is?"""
        return self.image is None

    @property
    def mounts_docker_socket(self) -> bool:
        """A container with the engine's socket is root on its node."""
        return any(m.source == DOCKER_SOCKET or m.source.endswith("/docker.sock") for m in self.mounts)

    @property
    def publishes(self) -> Optional[int]:
        """The port this service's own tasks publish; in edge mode its edge publishes it instead."""
        return None if self.publish_mode == "edge" else self.publish


def edge_of(app: Service, sources: Path) -> Service:
    """`publish_mode: edge`: a service `<app>-edge`, one task per node, that holds the published port in
    host mode and passes requests to the app's healthy tasks over the overlay network. The app publishes
    nothing, so its updates can be start-first: zero downtime even on one node. An http app's edge is HAProxy
    (see plan/edgeproxy.py); a `protocol: tcp` app's is goswarm's L4 forwarder."""
    if app.protocol == "tcp":
        env = {"LISTEN": f":{app.publish}", "TARGET": f"{app.name}:{app.port}"}
    else:
        env = edgeproxy.env(app.publish, app.name, app.port, app.replicas, app.response_timeout)
    # an HTTP edge's tasks run HAProxy as a master, which reloads in place (ops/edge.py)
    labels = () if app.protocol == "tcp" else ((edgeproxy.RELOAD_LABEL, edgeproxy.RELOAD_SIGNAL),)
    return Service(name=f"{app.name}-edge", path=edge_path(app, sources), port=app.publish, publish=app.publish,
                   publish_mode="host", env=env, healthcheck=Check("tcp"), global_mode=True,
                   stop_signal="" if app.protocol == "tcp" else edgeproxy.STOP_SIGNAL, tuning=Tuning(labels=labels))


def edge_image(app: Service) -> str:
    """The image an app's edge runs: goswarm's HTTP edge, or its TCP one for a `protocol: tcp` app."""
    return TCP_EDGE if app.protocol == "tcp" else EDGE


def edge_path(app: Service, sources: Path) -> Optional[Path]:
    """The Go module of an app's edge: the TCP edge's; the HTTP edge (HAProxy) is not compiled."""
    return sources / TCP_EDGE_SOURCE if app.protocol == "tcp" else None


def _port(where: str, value, allow_none: bool = False) -> Optional[int]:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise ConfigError(f"{where} must be a port number 1-65535, got {value!r}")
    return value


def valid_name(name: str) -> bool:
    """A name a service may have (the edge services' names aside)."""
    return bool(strict.SERVICE_NAME.match(str(name))) and len(str(name)) <= strict.NAME_MAX and \
        not str(name).endswith("-edge")


def parse_service(name: str, raw, root: Path, section: str = "services") -> Service:
    where = f"{section}.{name}"
    strict.service_name(where, name)
    if name == EDGE or str(name).endswith("-edge"):
        raise ConfigError(f"{where}: names ending in -edge are kept for the edge services of publish_mode: edge")
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a mapping of fields, got {type(raw).__name__}")
    strict.known_keys(where, raw, _FIELDS)
    if raw.get("path") and raw.get("image"):
        raise ConfigError(f"{where}: give either path (a Go service goswarm builds) or image (an image deployed as it "
                          f"is), not both")
    if not raw.get("path") and not raw.get("image"):
        raise ConfigError(f"{where}.path is missing: the Go module directory of the service (or image: for an image "
                          f"deployed as it is)")
    image = raw.get("image")
    if image is not None:
        if not isinstance(image, str) or not _IMAGE_REF.match(image):
            raise ConfigError(f"{where}.image must be an image reference like dockersamples/visualizer:latest, "
                              f"got {image!r}")
        extra = [f for f in _BUILT_ONLY if f in raw]
        if extra:
            raise ConfigError(f"{where}.{extra[0]} is about building, and {where} names an image: to build it, give "
                              f"path instead of image")
    path = inside(root, f"{where}.path", raw["path"]) if image is None else None
    replicas = raw.get("replicas", 1)
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
        raise ConfigError(f"{where}.replicas must be a whole number >= 0, got {replicas!r}")
    protocol = raw.get("protocol", "http")
    if protocol not in PROTOCOLS:
        raise ConfigError(f"{where}.protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    mode = raw.get("publish_mode", "host")
    if mode not in PUBLISH_MODES:
        raise ConfigError(f"{where}.publish_mode must be one of {', '.join(PUBLISH_MODES)}, got {mode!r}")
    smoke = raw.get("smoke")
    if smoke is not None and not (isinstance(smoke, str) and smoke.startswith("/")):
        raise ConfigError(f"{where}.smoke must be a URL path starting with '/', got {smoke!r}")
    publish = _port(f"{where}.publish", raw.get("publish"), allow_none=True)
    if smoke and publish is None:
        raise ConfigError(f"{where}.smoke needs a published port: set {where}.publish")
    if mode == "edge" and publish is None:
        raise ConfigError(f"{where}.publish_mode edge needs a published port: set {where}.publish")
    env = raw.get("env") or {}
    if not isinstance(env, dict):
        raise ConfigError(f"{where}.env must be a mapping of NAME: value")
    port = _port(f"{where}.port", raw.get("port"))
    constraints = raw.get("constraints") or []
    if not isinstance(constraints, list) or not all(isinstance(x, str) for x in constraints):
        raise ConfigError(f"{where}.constraints must be a list of strings like 'node.role==manager'")
    for constraint in constraints:
        try:
            placement.parse(constraint)
        except ValueError as e:
            raise ConfigError(f"{where}.constraints: {e}") from None
    dockerfile = raw.get("dockerfile")
    check = _healthcheck(f"{where}.healthcheck", raw["healthcheck"]) if "healthcheck" in raw else Check()
    if image is not None and check.kind in ("http", "tcp"):
        raise ConfigError(f"{where}.healthcheck: {{{check.kind}: ...}} runs goswarm's probe, which only the images "
                          f"goswarm builds carry; give a command that {image} has, or null")
    tuned = tuning.parse(where, raw)
    if (tuned.update.order or tuned.rollback.order) == "start-first" and publish is not None and mode == "host":
        raise ConfigError(f"{where}: start-first needs two tasks on one published port, which host mode cannot "
                          f"give: use publish_mode: edge (or ingress), or order: stop-first")
    return Service(
        tuning=tuned,
        stop_signal=tuned.stop_signal,
        secrets=secrets.parse(f"{where}.secrets", raw.get("secrets"), "secrets", root),
        configs=secrets.parse(f"{where}.configs", raw.get("configs"), "configs", root),
        healthcheck=check,
        image=image,
        mounts=_mounts(f"{where}.mounts", raw.get("mounts")),
        name=name,
        path=path,
        main=str(raw.get("main") or "."),
        port=port,
        publish=publish,
        publish_mode=mode,
        replicas=replicas,
        smoke=smoke,
        env=strict.env(f"{where}.env", env, port),
        constraints=tuple(constraints),
        dockerfile=inside(root, f"{where}.dockerfile", dockerfile) if dockerfile else None,
        with_mains=_with_mains(f"{where}.with", raw.get("with"), root, name),
        load=_load(f"{where}.load", raw.get("load")),
        build_args=_build_args(f"{where}.build_args", raw.get("build_args")),
        build=_build(f"{where}.build", raw.get("build", "go")),
        protocol=protocol,
        gopath=_gopath(f"{where}.gopath", raw.get("gopath")),
        response_timeout=_response_timeout(f"{where}.response_timeout", raw.get("response_timeout"),
                                            mode == "edge" and protocol == "http"),
    )


def _response_timeout(where: str, value, http_edge: bool) -> float:
    if value is None:
        return edgeproxy.RESPONSE_TIMEOUT
    if not http_edge:
        raise ConfigError(f"{where} is what an HTTP edge waits for a task's answer: it needs publish_mode: edge "
                          f"(and protocol: http)")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.1 <= value <= 3600:
        raise ConfigError(f"{where} must be a number of seconds from 0.1 to 3600, got {value!r}")
    return float(value)


def _gopath(where: str, value) -> str:
    """`gopath: github.com/you/app`: the import path of a pre-modules project's root (no go.mod, a vendor/)."""
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or not _IMPORT_PATH.match(value) or ".." in value.split("/"):
        raise ConfigError(f"{where} must be the import path the code's packages are imported by, like "
                          f"github.com/you/app; got {value!r}")
    return value


def _build_args(where: str, value) -> dict:
    """`build_args: {BIN_NAME: http-echo}`: values for the Dockerfile's ARGs, as strings."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and re.fullmatch(r"[A-Za-z_]\w*", k) and
                                              isinstance(v, (str, int, float)) and not isinstance(v, bool)
                                              for k, v in value.items()):
        raise ConfigError(f"{where} must be a mapping of ARG name to a string value, like {{BIN_NAME: app}}; "
                          f"got {value!r}")
    return {k: str(v) for k, v in value.items()}


def _build(where: str, value) -> str:
    if value not in ("go", "docker"):
        raise ConfigError(f"{where} must be go (goswarm compiles the binary on this host when the Dockerfile "
                          f"only copies it) or docker (the Dockerfile is built as written); got {value!r}")
    return value


def _mounts(where: str, value) -> tuple:
    """`mounts: ["/var/run/docker.sock:/var/run/docker.sock"]`: bind mounts, SOURCE:TARGET[:ro|rw]."""
    if value in (None, []):
        return ()
    usage = 'a list like ["/var/run/docker.sock:/var/run/docker.sock"] (SOURCE:TARGET[:ro], absolute paths)'
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise ConfigError(f"{where} must be {usage}; got {value!r}")
    mounts = []
    for entry in value:
        parts = entry.split(":")
        mode = parts.pop() if len(parts) == 3 else "rw"
        if len(parts) != 2 or mode not in ("ro", "rw") or not all(p.startswith("/") for p in parts):
            raise ConfigError(f"{where}: {entry!r} is not SOURCE:TARGET[:ro] with absolute paths; must be {usage}")
        mounts.append(Mount(parts[0], parts[1], mode == "ro"))
    targets = [m.target for m in mounts]
    if len(set(targets)) != len(targets):
        raise ConfigError(f"{where}: two mounts share the target {next(t for t in targets if targets.count(t) > 1)}")
    return tuple(mounts)


def _load(where: str, value) -> Optional[Load]:
    """`load: {path: "/accounts/{id}", ids: "10000-10099"}`; ids only where the path has {id}."""
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"path", "ids"}:
        raise ConfigError(f"{where} must be a mapping with path (and ids), like "
                          f'{{path: "/accounts/{{id}}", ids: "10000-10099"}}; got {value!r}')
    path, ids = value.get("path", "/"), value.get("ids", "")
    if not isinstance(path, str) or not path.startswith("/") or any(ch.isspace() for ch in path):
        raise ConfigError(f"{where}.path must be a URL path starting with '/', without spaces; got {path!r}")
    ids = str(ids) if isinstance(ids, (str, int)) and not isinstance(ids, bool) else None
    if ids is None or (ids and not _IDS.match(ids)):
        raise ConfigError(f"{where}.ids must be ids and ranges like \"10000-10099\" or \"1,5,7-9\"; "
                          f"got {value.get('ids')!r}")
    if ("{id}" in path) != bool(ids):
        raise ConfigError(f"{where}: ids go with a path that has {{id}} in it, and such a path needs ids")
    return Load(path, ids.replace(" ", ""))


def inside(root: Path, where: str, value) -> Path:
    """A path from the config, resolved against the project root, which it must not leave: a build
    hashes every file under a service's path, and `..` could make that the whole filesystem."""
    root = Path(root).resolve()
    path = (root / str(value)).resolve()
    if path != root and root not in path.parents:
        raise ConfigError(f"{where}: {value} is outside the project root {root}; "
                          f"service files must live inside the project")
    return path


def _healthcheck(where: str, value) -> Check:
    """{http: /path}, {tcp: true}, a command (a list, or a string split as a shell would), or null for none.
    The mapping forms, {command: [...]} among them, also take interval, timeout, retries and start_period."""
    usage = ("{http: /health}, {tcp: true}, {http: /healthz, port: 81} (a health listener of its own), a command "
             "like [/service, -healthcheck] or {command: [...]}, or null for none; a mapping may add interval, "
             "timeout, retries and start_period")
    if value in (None, False, []):
        return Check("none")
    if isinstance(value, dict):
        timing = tuning.health_timing(where, value)
        form = {k: v for k, v in value.items() if k not in tuning.HEALTH_TIMING}
        if set(form) in ({"http"}, {"http", "port"}) and isinstance(form["http"], str) and \
                form["http"].startswith("/"):
            port = _port(f"{where}.port", form["port"]) if "port" in form else None
            return Check("http", (form["http"],), port, timing)
        if form == {"tcp": True}:
            return Check("tcp", timing=timing)
        if set(form) == {"command"} and isinstance(form["command"], (str, list)) and form["command"]:
            return Check("command", _healthcheck(f"{where}.command", form["command"]).value, timing=timing)
        _refuse(where, usage, value)
    if isinstance(value, str):
        value = shlex.split(value)
    if not isinstance(value, list) or not all(isinstance(x, str) and x for x in value):
        raise ConfigError(f"{where} must be {usage}; got {value!r}")
    return Check("command", tuple(value))


def _refuse(where: str, usage: str, value):
    raise ConfigError(f"{where} must be {usage}; got {value!r}")


def _with_mains(where: str, value, root: Path, service: str) -> tuple:
    """`with: [healthchecker]`: Go main packages, by directory relative to the project, each built and put
    in the service's build context as `<directory name>-<os>-<arch>` (the build checks each is a Go main)."""
    if value in (None, []):
        return ()
    if not isinstance(value, list) or not all(isinstance(x, str) and x.strip() for x in value):
        raise ConfigError(f"{where} must be a list of Go main package directories, like [healthchecker]; "
                          f"got {value!r}")
    paths = tuple(inside(root, where, entry) for entry in value)
    seen = {}
    for entry, path in zip(value, paths):
        name = binary_name(path)
        if not _BINARY_NAME.match(name) or name in (service, *HELPERS):
            raise ConfigError(f"{where}: {entry} would build a binary named {name!r}; its directory needs "
                              f"another name (not the service's own, {', '.join(HELPERS)}, or empty)")
        if seen.setdefault(name, path) != path:
            raise ConfigError(f"{where}: {entry} and another entry both build {name}-<os>-<arch>")
    return paths


def binary_name(main_dir: Path) -> str:
    """What a `with:` entry's binary is called before its -<os>-<arch>: its directory's name."""
    return main_dir.name


def check_with(services) -> None:
    """Binaries share dist/: a `with:` name is one directory across services, and no service's name."""
    built = {}
    for service in services:
        for path in service.with_mains:
            name = binary_name(path)
            if name in {s.name for s in services}:
                raise ConfigError(f"services.{service.name}.with: {name} is also a service; its binary and the "
                                  f"service's would both be {name}-<os>-<arch> in dist/")
            if built.setdefault(name, path) != path:
                raise ConfigError(f"services.{service.name}.with: {path} and {built[name]} both build "
                                  f"{name}-<os>-<arch>; rename one of the directories")


def parse_services(raw, root: Path) -> dict:
    """All services, in config order."""
    if not raw:
        raise ConfigError("no services are configured: add them under `services:` in invoke.yaml")
    if not isinstance(raw, dict):
        raise ConfigError("`services:` must be a mapping of service name to fields")
    services = {name: parse_service(name, spec, root) for name, spec in raw.items()}
    check_ports(services.values())
    check_with(list(services.values()))
    return services


def check_ports(services) -> None:
    """Two services cannot publish one port: the second would wait forever for it. An edge publishes
    its app's port on every node, so it clashes with a host-mode or ingress publish of the same port."""
    owners = {}
    for service in services:
        if service.publish is None:
            continue
        other = owners.setdefault(service.publish, service.name)
        if other != service.name:
            raise ConfigError(f"services.{other} and services.{service.name} both publish port {service.publish}; "
                              f"give one of them another publish port")


def with_edge(services: list, sources: Path) -> list:
    """What to make images of and ship: the services goswarm builds (not `image:` ones), plus the edge proxy
    when one of them needs it."""
    wanted = [s for s in services if s.name not in HELPERS]
    built = [s for s in wanted if s.built]
    edged = [s for s in wanted if s.publish_mode == "edge"]
    edges = [(EDGE, None), (TCP_EDGE, sources / TCP_EDGE_SOURCE)]
    return [*built, *(Service(name, path, 80) for name, path in edges if any(edge_image(s) == name for s in edged))]


def to_compile(services: list, sources: Path) -> list:
    """What to compile: the images' binaries (not the HTTP edge's: HAProxy), plus the probe that goes into each."""
    return [*(s for s in with_edge(services, sources) if s.name != EDGE), Service(PROBE, sources / PROBE_SOURCE, 1)]


def select(services: dict, wanted: Optional[str]) -> list:
    """The services named in a comma-separated `wanted` (all when None); unknown names are refused,
    and so is a `--service` that names none (an empty value must not mean "everything")."""
    if wanted is None:
        return list(services.values())
    names = [n.strip() for n in str(wanted).split(",") if n.strip()]
    if not names:
        raise PipelineError(f"--service {wanted!r} names no service; known services: {', '.join(services)}")
    unknown = [n for n in names if n not in services]
    if unknown:
        raise PipelineError(f"unknown service {unknown[0]!r}; known services: {', '.join(services)}")
    return [services[n] for n in names]
