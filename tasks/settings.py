"""Everything a task needs from Invoke's merged config, read once into plain values.

Defaults live next to the collection that owns them (DEFAULTS in build.py,
image.py, swarm.py, deploy.py); invoke.yaml, `-f FILE` and INVOKE_* override them.
"""
from dataclasses import dataclass
from pathlib import Path

from tasks import config, environment, platforms
from tasks.errors import ConfigError


@dataclass(frozen=True)
class Settings:
    prefix: str
    registry: str
    platforms: list
    network: str
    dist: Path
    timeout: float
    services: dict

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


def _number(where: str, value) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where} must be a number of seconds, got {value!r}") from None
    if number <= 0:
        raise ConfigError(f"{where} must be more than 0 seconds, got {value!r}")
    return number


def load(c) -> Settings:
    cfg = plain(c.config)
    image, build, swarm, deploy = (cfg.get(k) or {} for k in ("image", "build", "swarm", "deploy"))
    network = swarm.get("network") or ""
    if not isinstance(network, str) or not network:
        raise ConfigError(f"swarm.network must be a network name, got {network!r}")
    return Settings(
        prefix=str(image.get("prefix") or ""),
        registry=str(image.get("registry") or ""),
        platforms=platforms.parse_list(build.get("platforms") or "linux/amd64"),
        network=network,
        dist=environment.PROJECT_ROOT / str(build.get("dist") or "dist"),
        timeout=_number("deploy.timeout", deploy.get("timeout", 60)),
        services=config.parse_services(cfg.get("services"), environment.PROJECT_ROOT),
    )
