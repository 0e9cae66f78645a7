"""The one place that reads `.env`: per-person and per-machine values, and every secret.

Values already set in the real environment win over `.env`, so CI can inject
secrets without a file.
"""
import os
from pathlib import Path
from urllib.parse import urlparse

from tasks.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent

SECRET_KEYS = ("REGISTRY_PASSWORD",)

_loaded = False


def machines_dir() -> Path:
    """Machine records, keys and known_hosts; MACHINES_DIR moves them (the tests use their own)."""
    return Path(os.environ.get("MACHINES_DIR") or PROJECT_ROOT / ".machines")


def env_file() -> Path:
    return Path(os.environ.get("ENV_FILE") or PROJECT_ROOT / ".env")


def parse_dotenv(text: str, name: str = ".env") -> dict:
    """Parse .env text strictly: a line python-dotenv cannot read is an error, not a warning."""
    from dotenv.parser import parse_stream
    import io

    values = {}
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            line = binding.original.string.strip()
            shown = line.split("=", 1)[0] if "=" in line else line[:40]
            raise ConfigError(f"{name} line {binding.original.line} is not KEY=VALUE: {shown!r}")
        if binding.key is not None:
            values[binding.key] = binding.value or ""
    return values


def load() -> None:
    """Load .env into os.environ once (existing variables win)."""
    global _loaded
    if _loaded:
        return
    path = env_file()
    if path.is_file():
        for key, value in parse_dotenv(path.read_text(), str(path)).items():
            os.environ.setdefault(key, value)
    elif "ENV_FILE" in os.environ:
        raise ConfigError(f"ENV_FILE points to {path}, which does not exist")
    _loaded = True


def get(key: str, default: str = "") -> str:
    load()
    return os.environ.get(key) or default


def docker_host() -> str:
    return get("DOCKER_HOST", "unix:///var/run/docker.sock")


def engine_is_local(host: str) -> bool:
    return host.startswith(("unix://", "npipe://")) or urlparse(host).hostname in ("localhost", "127.0.0.1", "::1")


def manager_ip() -> str:
    """Where published ports answer: MANAGER_IP, else the DOCKER_HOST's host, else loopback."""
    explicit = get("MANAGER_IP")
    if explicit:
        return explicit
    host = docker_host()
    return "127.0.0.1" if engine_is_local(host) else urlparse(host).hostname


def redact(text: str) -> str:
    """Remove every secret value we know of from a message before it is shown."""
    for key in SECRET_KEYS:
        value = os.environ.get(key)
        if value:
            text = text.replace(value, "***")
    return text
