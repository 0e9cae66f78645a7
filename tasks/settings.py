"""Everything a task needs from Invoke's merged config, read once into plain values.

Defaults live next to the collection that owns them (DEFAULTS in build.py,
image.py, swarm.py, deploy.py); invoke.yaml, `-f FILE` and INVOKE_* override them.
"""
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from tasks import config, environment, machines, platforms
from tasks.errors import ConfigError


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
    lock_ttl: float = 900.0
    lock_name: str = "goswarm-deploy-lock"  # projects that share a swarm but no service may each take their own
    manager: Optional[machines.Machine] = None  # the swarm manager, when it is a machine
    root: Path = Path(".")  # the project: service paths, dist/ and .swarm/ are below it
    dockerfile: Path = environment.SOURCE_DIR / "Dockerfile"  # for services without their own
    ldflags: str = "-s -w"
    state_dir: Path = Path(".swarm")

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
        """Image repository: [registry/]prefix/service, as the seed's `someprefix/accountservice`."""
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


def load(c, manager: Optional[str] = None) -> Settings:
    """`manager` (a --manager flag) wins over the swarm.manager config key."""
    cfg = plain(c.config)
    image, build, swarm, deploy = (cfg.get(k) or {} for k in ("image", "build", "swarm", "deploy"))
    network = swarm.get("network") or ""
    manager_name = manager or swarm.get("manager")
    if not isinstance(network, str) or not network:
        raise ConfigError(f"swarm.network must be a network name, got {network!r}")
    root = environment.project_root()
    dockerfile = root / str(image.get("dockerfile") or "Dockerfile")
    if not dockerfile.is_file() and dockerfile.name == "Dockerfile" and dockerfile.parent == root:
        dockerfile = environment.SOURCE_DIR / "Dockerfile"  # the shared FROM scratch one that ships with goswarm
    return Settings(
        prefix=str(image.get("prefix") or ""),
        registry=str(image.get("registry") or ""),
        node_registry=str(image.get("node_registry") or ""),
        platforms=platforms.parse_list(build.get("platforms") or "linux/amd64"),
        network=network,
        dist=root / str(build.get("dist") or "dist"),
        timeout=seconds("deploy.timeout", deploy.get("timeout", 60)),
        lock_ttl=seconds("deploy.lock_ttl", deploy.get("lock_ttl", 900)),
        lock_name=lock_name(deploy.get("lock") or "goswarm-deploy-lock"),
        services=config.parse_services(cfg.get("services"), root),
        manager=machines.load(manager_name) if manager_name else None,
        root=root,
        dockerfile=dockerfile,
        ldflags=str(build.get("ldflags") if build.get("ldflags") is not None else "-s -w"),
        state_dir=root / str(swarm.get("state_dir") or ".swarm"),
    )
