"""The project's config, read once per command into plain values: every default lives here.

Invoke layers the config: these defaults (each collection configures its section from them), then the
project's goswarm.yaml or invoke.yaml, INVOKE_* (GOSWARM_* for the goswarm command) variables, and a
`-f FILE` last. A task reads it once with `read(config, manager)` and hands the Settings down.
"""
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from goswarm.errors import ConfigError
from goswarm.io import environment

if TYPE_CHECKING:
    from goswarm.io.machines import Machine

LOCK = "goswarm-deploy-lock"
DEBOUNCE_MS = 300  # `dev`: long enough to take an editor's save burst (write, rename, chmod) as one change
# The blog's bind mount of the engine's socket (plan.config.DOCKER_SOCKET), written out: --list reads DEFAULTS
# without loading the config parser.
SOCKET_MOUNT = "/var/run/docker.sock:/var/run/docker.sock"
DEFAULTS = {
    "project": None,  # names the project's services (their io.goswarm.project label) and its lock; else the directory
    # edge_base: the HAProxy image the HTTP edge is built FROM; empty: this machine's HAProxy when it can run on
    # the swarm's platform, else EDGE_BASE (pulled by the engine).
    "image": {"prefix": "someprefix", "registry": "", "node_registry": "", "dockerfile": None, "edge_base": ""},
    "build": {"platforms": "linux/amd64", "dist": "dist", "ldflags": "-s -w"},
    "swarm": {"network": "my_network", "advertise_addr": None, "state_dir": ".swarm", "manager": None},
    "deploy": {"timeout": 60, "lock_ttl": 900, "lock": None},  # None: LOCK-<project>
    "lab": {"nodes": 3, "prefix": "lab"},
    # Shell commands run on this machine, in the project's directory, around a deploy that changes something:
    # pre-deploy before any service changes (one that fails stops the run), post-deploy once every rollout
    # went through (ops/hooks.py says what GOSWARM_* variables they get).
    "hooks": {"pre-deploy": [], "post-deploy": []},
    # The blog's add-ons: images deployed as they are (`goswarm addons.deploy NAME`). Both mount the Docker
    # socket, which is root on their node, so deploying one needs --allow-docker-socket.
    "addons": {
        "visualizer": {"image": "dockersamples/visualizer", "port": 8080, "publish": 8080,
                       "constraints": ["node.role==manager"], "mounts": [SOCKET_MOUNT]},
        "dvizz": {"image": "eriklupander/dvizz", "port": 6969, "publish": 6969,
                  "constraints": ["node.role==manager"], "mounts": [SOCKET_MOUNT]},
    },
}


@dataclass(frozen=True)
class Settings:
    prefix: str
    registry: str
    node_registry: str  # where nodes pull from, when that differs from where we push
    platforms: list
    network: str
    dist: Path
    timeout: float
    services: dict
    lock_ttl: float
    lock_name: str  # projects that share a swarm but no service may each take their own
    manager_name: Optional[str]  # the swarm manager, when it is a machine
    root: Path  # the project: service paths, dist/ and .swarm/ are below it
    dockerfile: Path  # for services without their own
    ldflags: str
    state_dir: Path
    advertise_addr: Optional[str]
    lab_prefix: str
    lab_nodes: int
    addons: dict  # name -> its raw fields, as a `services:` entry (read by ops.addons when one is named)
    edge_base: str = ""  # image.edge_base: the HAProxy image the HTTP edge is built FROM ("": see DEFAULTS)
    project: str = ""  # the io.goswarm.project label of every service this project creates
    adopt: bool = False  # this command's --adopt: take over services of another project, or of none
    destination: str = ""  # `goswarm -d staging`: goswarm.staging.yaml and .env.staging over the project's own
    hooks: dict = field(default_factory=dict)  # hooks.pre-deploy / post-deploy: shell commands

    @functools.cached_property
    def manager(self) -> Optional["Machine"]:
        """The manager's machine record, read when first needed (`lab.up` names a manager it is about to make)."""
        from goswarm.io import machines

        return machines.read(self.manager_name) if self.manager_name else None

    @property
    def target_url(self) -> str:
        """The engine that deploys and swarm tasks talk to; images are built at DOCKER_HOST."""
        return self.manager.url if self.manager else environment.docker_host()

    @property
    def manager_ip(self) -> str:
        """Where published ports answer, for smoke tests."""
        return self.manager.host if self.manager else environment.manager_ip()

    def pull_ref(self, ref: str) -> str:
        """A pushed reference as the nodes must name it (image.node_registry, e.g. a lab bridge address)."""
        if self.node_registry and self.registry and ref.startswith(self.registry.rstrip("/") + "/"):
            return self.node_registry.rstrip("/") + ref[len(self.registry.rstrip("/")):]
        return ref

    def repository(self, service: str) -> str:
        """Image repository: [registry/]prefix/service, as the blog's `someprefix/accountservice`."""
        parts = [self.registry.rstrip("/")] if self.registry else []
        parts += [self.prefix.strip("/"), service] if self.prefix else [service]
        return "/".join(parts)


def plain(value):
    """Invoke's DataProxy to plain dicts and lists."""
    if hasattr(value, "items"):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def whole_number(where: str, value) -> int:
    """A count from the command line or config: 0 or more."""
    try:
        number = int(str(value))
    except ValueError:
        raise ConfigError(f"{where} must be a whole number, got {value!r}") from None
    if number < 0:
        raise ConfigError(f"{where} must be 0 or more, got {value!r}")
    return number


def seconds(where: str, value) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where} must be a number of seconds, got {value!r}") from None
    if number <= 0:
        raise ConfigError(f"{where} must be more than 0 seconds, got {value!r}")
    return number


def lock_name(value) -> str:
    """A swarm config name: what the engine accepts."""
    if not isinstance(value, str) or not re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}", value):
        raise ConfigError(f"deploy.lock must be a name of letters, digits, '.', '_' and '-', got {value!r}")
    return value


def section(cfg: dict, name: str) -> dict:
    """A section of the config over its defaults; a key it does not have is refused, with the nearest one."""
    from goswarm.plan import strict

    given = cfg.get(name)
    if given is not None and not isinstance(given, dict):
        raise ConfigError(f"`{name}` must be a mapping of settings, got {type(given).__name__}")
    strict.known_keys(name, given or {}, DEFAULTS[name])
    return {**DEFAULTS[name], **(given or {})}


# Invoke's own sections (invoke.Config.global_defaults(); a unit test keeps this list equal to it).
INVOKE_SECTIONS = ("run", "runners", "sudo", "tasks", "timeouts")


def top_level_keys() -> set:
    """What a config file may have at its top: goswarm's sections, and Invoke's own (run, tasks, ...)."""
    return {*DEFAULTS, "services", "goswarm", *INVOKE_SECTIONS}


_PROJECT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")


def project_name(value, root: Path) -> str:
    """`project:`, else the project directory's name made fit for a label and a lock name."""
    if value is not None:
        if not isinstance(value, str) or not _PROJECT.fullmatch(value):
            raise ConfigError(f"project must be a name of letters, digits, '.', '_' and '-' (at most 40, starting "
                              f"with a letter or digit), got {value!r}")
        return value
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", root.name).strip("-_.")[:40].strip("-_.")
    return slug or "project"


def default_lock(project: str) -> str:
    """The deploy lock of a project that names none: its own, so unrelated projects never wait for each other."""
    return f"{LOCK}-{project}"[:64]  # a swarm config's name: the engine takes 64 characters


def _no_services(root: Path):
    """No `services:` at all: say where a project's config is expected, and how to point at one or write one."""
    from goswarm import program

    file = "invoke.yaml" if program.name() == "inv" else "goswarm.yaml"
    names = [f"{stem}.{suffix}" for stem in ("goswarm", "invoke") for suffix in ("yaml", "yml", "json")]
    if any((root / name).is_file() for name in names):
        raise ConfigError(f"no services are configured in {root}: add them under `services:` in {file}")
    above = next((d for d in root.parents if any((d / name).is_file() for name in names)), None)
    if above is not None:
        raise ConfigError(f"no {file} in {root}: the project is {above}: run `{program.name()} -r {above} ...` "
                          f"(or run it there)")
    raise ConfigError(f"no {file} in {root}: {program.run('init')} writes one for the Go services here; "
                      f"`{program.name()} -r DIR ...` runs a project elsewhere")


def read(cfg: dict, manager: Optional[str] = None, adopt: bool = False) -> Settings:
    """From Invoke's merged config (`plain(c.config)`). `manager` (a --manager flag) wins over swarm.manager;
    adopt: the command's --adopt."""
    from goswarm.plan import config, platforms, strict  # here, not at the top: `--list` reads DEFAULTS alone

    strict.known_keys("", cfg, top_level_keys())
    image, build, swarm, deploy, lab, hooks = (section(cfg, k) for k in ("image", "build", "swarm", "deploy", "lab",
                                                                          "hooks"))
    addons = cfg.get("addons") or {}
    if not isinstance(addons, dict):
        raise ConfigError(f"`addons` must be a mapping of add-on name to fields, got {type(addons).__name__}")
    network = swarm["network"]
    if not isinstance(network, str) or not network:
        raise ConfigError(f"swarm.network must be a network name, got {network!r}")
    root = environment.project_root()
    # A Dockerfile belongs to the service in whose directory it is (or that names it): one at the root is not
    # every service's, only image.dockerfile names one for the services without their own.
    dockerfile = root / str(image["dockerfile"]) if image["dockerfile"] else environment.DOCKERFILE
    manager = manager or swarm["manager"]
    destination = environment.destination()
    # Each destination is a project of its own on the swarm: its label, its lock, its release file.
    project = project_name(cfg.get("project"), root) + (f"-{destination}" if destination else "")
    return Settings(
        prefix=str(image["prefix"] or ""),
        registry=str(image["registry"] or ""),
        node_registry=str(image["node_registry"] or ""),
        platforms=platforms.parse_list(build["platforms"] or DEFAULTS["build"]["platforms"]),
        network=network,
        dist=root / str(build["dist"] or DEFAULTS["build"]["dist"]),
        timeout=seconds("deploy.timeout", deploy["timeout"]),
        lock_ttl=seconds("deploy.lock_ttl", deploy["lock_ttl"]),
        lock_name=lock_name(deploy["lock"] or default_lock(project)),
        services=config.parse_services(cfg.get("services") or _no_services(root), root),
        manager_name=manager or None,
        root=root,
        dockerfile=dockerfile,
        ldflags=str(build["ldflags"] if build["ldflags"] is not None else DEFAULTS["build"]["ldflags"]),
        state_dir=root / str(swarm["state_dir"] or DEFAULTS["swarm"]["state_dir"]),
        advertise_addr=swarm["advertise_addr"] or None,
        lab_prefix=str(lab["prefix"] or DEFAULTS["lab"]["prefix"]),
        lab_nodes=whole_number("lab.nodes", lab["nodes"]),
        addons=addons,
        edge_base=str(image["edge_base"] or ""),
        project=project,
        adopt=bool(adopt),
        destination=destination,
        hooks={name: commands(f"hooks.{name}", hooks[name]) for name in DEFAULTS["hooks"]},
    )


def commands(where: str, value) -> tuple:
    """A hook's shell commands: a list of strings (or one string)."""
    if value in (None, ""):
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(x, str) and x.strip() for x in value):
        raise ConfigError(f"{where} must be a list of shell commands, like [./scripts/migrate.sh]; got {value!r}")
    return tuple(value)
