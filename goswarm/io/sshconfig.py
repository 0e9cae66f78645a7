"""~/.ssh/config: where a name given to SSH leads, as OpenSSH reads it.

A name (an address, or a Host alias) becomes a Route: HostName, Port, User, IdentityFile, and how to get
there (ProxyJump, one hop; or ProxyCommand). Values given explicitly (flags, a machine record, the user@ and
:port of an ssh:// URL) win over the file. paramiko's parser reads the file (Host patterns, Match, %-tokens);
it has no `Include`.
"""
from dataclasses import dataclass
from pathlib import Path
from typing import Optional
from urllib.parse import urlparse

from goswarm.errors import ConfigError

DEFAULT_USER = "root"  # goswarm's default since machines began, rather than OpenSSH's local user
DEFAULT_PORT = 22


@dataclass(frozen=True)
class Route:
    name: str  # what was asked for: an alias or an address
    hostname: str  # where to connect (HostName), and the name its host key is recorded under
    port: int
    user: str
    key: Optional[str] = None  # given explicitly: only this key is offered
    identity_files: tuple = ()  # from IdentityFile: offered instead of ~/.ssh/id_*
    agent: bool = True  # also offer the agent's keys (not with an explicit key, nor IdentitiesOnly)
    jump: Optional["Route"] = None  # ProxyJump: a connection to it carries ours
    proxy_command: Optional[str] = None  # ProxyCommand, its %-tokens expanded

    @property
    def who(self) -> str:
        """user@host[:port] for messages, and the alias it came from."""
        where = self.hostname if self.port == DEFAULT_PORT else f"[{self.hostname}]:{self.port}"
        return f"{self.user}@{where}" + (f" ({self.name})" if self.name != self.hostname else "")


def path() -> Path:
    return Path.home() / ".ssh" / "config"


def read() -> str:
    """The user's ~/.ssh/config, or nothing."""
    try:
        return path().read_text()
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read {path()}: {getattr(e, 'strerror', None) or e}") from None


def route(name: str, text: str, port: Optional[int] = None, user: Optional[str] = None,
          key: Optional[str] = None, hops: int = 1) -> Route:
    """Where `name` leads under the config `text`. Pure over its arguments."""
    import paramiko

    try:
        found = paramiko.SSHConfig.from_text(text).lookup(name)
    except paramiko.ConfigParseError as e:
        raise ConfigError(f"{path()}: {e}") from None
    only_listed = found.get("identitiesonly", "no").lower() == "yes"
    return Route(
        name=name,
        hostname=found.get("hostname", name),
        port=port or _port(found.get("port"), name),
        user=user or found.get("user") or DEFAULT_USER,
        key=key,
        identity_files=() if key else tuple(found.get("identityfile", ())),
        agent=not key and not only_listed,
        jump=_jump(found.get("proxyjump"), text, name, hops),
        proxy_command=_unless_none(found.get("proxycommand")),
    )


def _port(value, name: str) -> int:
    if value is None:
        return DEFAULT_PORT
    if not str(value).isdigit() or not 0 < int(value) < 65536:
        raise ConfigError(f"{path()}: Port {value!r} for {name} is not a port number")
    return int(value)


def _unless_none(value: Optional[str]) -> Optional[str]:
    return None if value is None or value.strip().lower() == "none" else value


def _jump(value: Optional[str], text: str, name: str, hops: int) -> Optional[Route]:
    """ProxyJump [user@]host[:port] or ssh://[user@]host[:port]; the jump host is looked up in the config too."""
    value = _unless_none(value)
    if not value:
        return None
    if "," in value or hops < 1:
        raise ConfigError(f"{path()}: reaching {name} takes more than one ProxyJump hop ({value}); goswarm "
                          f"follows one")
    parsed = urlparse(value if value.startswith("ssh://") else f"ssh://{value}")
    try:
        jump_port = parsed.port
    except ValueError:
        raise ConfigError(f"{path()}: ProxyJump {value!r} for {name} has no valid port") from None
    if not parsed.hostname:
        raise ConfigError(f"{path()}: ProxyJump {value!r} for {name} names no host")
    return route(parsed.hostname, text, jump_port, parsed.username, hops=hops - 1)
