"""Which Docker engine, by the docker CLI's rules: DOCKER_HOST, else DOCKER_CONTEXT, else the current context
of the docker config (`currentContext` in ~/.docker/config.json; DOCKER_CONFIG moves ~/.docker), else the
default: the local socket.

TLS for DOCKER_HOST comes from DOCKER_TLS_VERIFY and DOCKER_CERT_PATH (what `docker-machine env` printed),
read as docker-py's `kwargs_from_env` reads them; a context keeps its own TLS material under
contexts/tls/<sha256 of its name>/docker/. Only files under the docker config are read; nothing here imports
docker, so the answer is plain data (engine.py makes the client).
"""
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional
from urllib.parse import urlparse

from goswarm.errors import ConfigError

LOCAL = "unix:///var/run/docker.sock"
DEFAULT = "default"  # the context that means DOCKER_HOST, or the local socket
TLS_SCHEMES = ("tcp", "https")  # docker-py ignores TLS settings for unix:// and ssh://


@dataclass(frozen=True)
class TLS:
    """What docker-py's TLSConfig takes. Without `ca`, a verifying client trusts the system's CAs."""
    ca: Optional[str]
    cert: Optional[str]
    key: Optional[str]
    verify: bool
    origin: str  # where the files are, for messages: "DOCKER_CERT_PATH" or "docker context 'x'"


@dataclass(frozen=True)
class Endpoint:
    url: str
    tls: Optional[TLS] = None
    context: Optional[str] = None  # the docker context it came from; None: DOCKER_HOST or the local socket
    chosen_by: str = ""  # the setting that named it: "DOCKER_HOST", "DOCKER_CONTEXT", "currentContext in ..."

    @property
    def described(self) -> str:
        """The URL, and the context and setting behind it, for messages."""
        if self.context:
            return f"{self.url} (docker context {self.context!r}, from {self.chosen_by})"
        return self.url


def docker_config_dir(env: dict) -> Path:
    """DOCKER_CONFIG, else ~/.docker (with the HOME of `env`)."""
    if env.get("DOCKER_CONFIG"):
        return Path(env["DOCKER_CONFIG"]).expanduser()
    return Path(env.get("HOME") or Path.home()) / ".docker"


def resolve(env: dict, config_dir: Optional[Path] = None) -> Endpoint:
    """The engine the docker CLI would talk to, given the environment `env` and the docker config directory."""
    config_dir = Path(config_dir or docker_config_dir(env))
    name, chosen_by = context_name(env, read_config(config_dir), config_dir)
    if name == DEFAULT:
        url = env.get("DOCKER_HOST") or LOCAL
        return Endpoint(url, tls_from_env(env, url, config_dir), chosen_by="DOCKER_HOST" if env.get("DOCKER_HOST")
                        else "")
    return from_context(name, chosen_by, config_dir)


def context_name(env: dict, config: dict, config_dir: Path) -> tuple:
    """(the context's name, the setting that chose it). DOCKER_HOST means the default context. Pure."""
    if env.get("DOCKER_HOST"):
        return DEFAULT, "DOCKER_HOST"
    if env.get("DOCKER_CONTEXT"):
        return env["DOCKER_CONTEXT"], "DOCKER_CONTEXT"
    if config.get("currentContext"):
        return config["currentContext"], f"currentContext in {config_dir / 'config.json'}"
    return DEFAULT, ""


def read_config(config_dir: Path) -> dict:
    """config.json of the docker CLI, or nothing."""
    return _json(config_dir / "config.json") or {}


def _json(path: Path) -> Optional[dict]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ConfigError(f"cannot read {path}: {getattr(e, 'strerror', None) or e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} is not a JSON object")
    return data


def context_id(name: str) -> str:
    """The directory of a context under contexts/meta and contexts/tls: the sha256 of its name."""
    return hashlib.sha256(name.encode()).hexdigest()


def context_names(config_dir: Path) -> list:
    """Every context the docker CLI would list, `default` first."""
    found = (_json(meta) or {} for meta in (config_dir / "contexts" / "meta").glob("*/meta.json"))
    return [DEFAULT] + sorted(str(meta["Name"]) for meta in found if meta.get("Name"))


def parse_meta(meta: dict, name: str) -> tuple:
    """(host, skip TLS verification) from a context's meta.json, as `docker context create` writes it. Pure."""
    docker = (meta.get("Endpoints") or {}).get("docker") or {}
    host = docker.get("Host")
    if not host or not isinstance(host, str):
        raise ConfigError(f"docker context {name!r} has no docker endpoint (Endpoints.docker.Host)")
    return host, bool(docker.get("SkipTLSVerify"))


def from_context(name: str, chosen_by: str, config_dir: Path) -> Endpoint:
    meta = _json(config_dir / "contexts" / "meta" / context_id(name) / "meta.json")
    if meta is None:
        raise ConfigError(f"docker context {name!r} (from {chosen_by}) does not exist; contexts: "
                          f"{', '.join(context_names(config_dir))}")
    host, skip_verify = parse_meta(meta, name)
    material = config_dir / "contexts" / "tls" / context_id(name) / "docker"
    files = {kind: str(material / f"{kind}.pem") for kind in ("ca", "cert", "key")
             if (material / f"{kind}.pem").is_file()}
    return Endpoint(host, context_tls(host, skip_verify, files, name), context=name, chosen_by=chosen_by)


def context_tls(url: str, skip_verify: bool, files: dict, name: str) -> Optional[TLS]:
    """A context speaks TLS when it has TLS material or skips verification, as the docker CLI decides. Pure."""
    if not _speaks_tls(url) or not (files or skip_verify):
        return None
    if ("cert" in files) != ("key" in files):
        have, lacks = ("cert", "key") if "cert" in files else ("key", "cert")
        raise ConfigError(f"docker context {name!r} has a client {have}.pem but no {lacks}.pem")
    return TLS(files.get("ca"), files.get("cert"), files.get("key"), not skip_verify, f"docker context {name!r}")


def tls_from_env(env: dict, url: str, config_dir: Path) -> Optional[TLS]:
    """DOCKER_TLS_VERIFY (any value but empty: verify) and DOCKER_CERT_PATH (default: the docker config
    directory), as docker-py's kwargs_from_env reads them: either one turns TLS on, and the client
    certificate is then required. A file that is missing is one line naming it. Pure over the files."""
    cert_path = env.get("DOCKER_CERT_PATH") or None
    verify = env.get("DOCKER_TLS_VERIFY") not in (None, "")
    if not _speaks_tls(url) or not (cert_path or verify):
        return None
    directory = Path(cert_path).expanduser() if cert_path else config_dir
    needed = ("ca", "cert", "key") if verify else ("cert", "key")
    missing = [f"{kind}.pem" for kind in needed if not (directory / f"{kind}.pem").is_file()]
    if missing:
        where = f"DOCKER_CERT_PATH {directory}" if cert_path else f"{directory} (DOCKER_CERT_PATH is not set)"
        files = [f"{kind}.pem" for kind in needed]
        raise ConfigError(f"{where} has no {' and no '.join(missing)}: TLS to {url} needs "
                          f"{', '.join(files[:-1])} and {files[-1]} there")
    return TLS(str(directory / "ca.pem") if verify else None, str(directory / "cert.pem"),
               str(directory / "key.pem"), verify, "DOCKER_CERT_PATH")


def _speaks_tls(url: str) -> bool:
    return urlparse(url).scheme in TLS_SCHEMES
