"""The one place that reads `.env`: per-person and per-machine values, and every secret.

Values already set in the real environment win over `.env`, so CI can inject
secrets without a file.
"""
import os
import warnings
from pathlib import Path
from urllib.parse import urlparse

from goswarm.errors import ConfigError

PACKAGE = Path(__file__).resolve().parent.parent
GO_SOURCES = PACKAGE / "go"  # the Go programs that ship with goswarm: the edge proxy, the probe, the load generator
DOCKERFILE = PACKAGE / "Dockerfile"  # the shared FROM scratch image, for services without a Dockerfile

SECRET_KEYS = ("REGISTRY_PASSWORD",)

_loaded = False


def cache_dir() -> Path:
    """GOSWARM_CACHE, else $XDG_CACHE_HOME/goswarm, else ~/.cache/goswarm: kept between runs, never in git."""
    if os.environ.get("GOSWARM_CACHE"):
        return Path(os.environ["GOSWARM_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "goswarm"


def project_root() -> Path:
    """The project being deployed: service paths, dist/, .env and .machines/ are relative to it. GOSWARM_ROOT
    names it (`goswarm --root DIR` and this repository's tasks.py set it); else the current directory."""
    return Path(os.environ.get("GOSWARM_ROOT") or Path.cwd()).resolve()


def machines_dir() -> Path:
    """Machine records, keys and known_hosts; MACHINES_DIR moves them (the tests use their own)."""
    return Path(os.environ.get("MACHINES_DIR") or project_root() / ".machines")


def private_dir(path: Path) -> Path:
    """A directory for credentials (keys, tokens, machine records): every level this creates is 0700.
    mkdir(parents=True) would give the parents the default mode, e.g. .machines/ 0755."""
    path = Path(path)
    for level in reversed((path, *path.parents)):
        if not level.exists():
            level.mkdir(mode=0o700)
            level.chmod(0o700)  # mkdir's mode is filtered by the umask
    return path


def env_file() -> Path:
    return Path(os.environ.get("ENV_FILE") or project_root() / ".env")


def destination() -> str:
    """The destination this command deploys to (`goswarm -d staging`), or "" for the project's own config."""
    return os.environ.get("GOSWARM_DESTINATION", "")


def destination_env_file() -> Path:
    """.env.<destination>, read before .env: its values win."""
    return project_root() / f".env.{destination()}"


def parse_dotenv(text: str, name: str = ".env") -> dict:
    """Parse .env text strictly: a line python-dotenv cannot read is an error, not a warning."""
    import io

    from dotenv.parser import parse_stream

    values = {}
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            line = binding.original.string.strip()
            shown = line.split("=", 1)[0] if "=" in line else line[:40]
            raise ConfigError(f"{name} line {binding.original.line} is not KEY=VALUE: {shown!r}")
        if binding.key is not None:
            values[binding.key] = binding.value or ""
    return values


def read_text(path: Path) -> str:
    """A text file the user wrote, or one line saying why it cannot be read as UTF-8."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise ConfigError(f"{path} is not UTF-8 text (byte 0x{data[e.start]:02x} on line {line}); "
                          f"save it as UTF-8") from None


def read_dotenv() -> None:
    """Load .env into os.environ once (existing variables win)."""
    global _loaded
    if _loaded:
        return
    if destination() and destination_env_file().is_file():
        for key, value in parse_dotenv(read_text(destination_env_file()), str(destination_env_file())).items():
            os.environ.setdefault(key, value)
    path = env_file()
    if path.is_file():
        for key, value in parse_dotenv(read_text(path), str(path)).items():
            os.environ.setdefault(key, value)
    elif "ENV_FILE" in os.environ:
        raise ConfigError(f"ENV_FILE points to {path}, which does not exist")
    _loaded = True


def get(key: str, default: str = "") -> str:
    read_dotenv()
    return os.environ.get(key) or default


def docker_endpoint():
    """The engine the docker CLI would use (DOCKER_HOST, DOCKER_CONTEXT, the current context: io.endpoint),
    with .env's values where the environment has none."""
    from goswarm.io import endpoint

    read_dotenv()
    return endpoint.resolve(os.environ)


def docker_host() -> str:
    return docker_endpoint().url


def engine_is_local(host: str) -> bool:
    return host.startswith(("unix://", "npipe://")) or urlparse(host).hostname in ("localhost", "127.0.0.1", "::1")


def manager_ip() -> str:
    """Where published ports answer: MANAGER_IP, else the engine's host (an ssh:// alias's HostName in
    ~/.ssh/config), else loopback."""
    explicit = get("MANAGER_IP")
    if explicit:
        return explicit
    host = docker_host()
    if engine_is_local(host):
        return "127.0.0.1"
    url = urlparse(host)
    if url.scheme == "ssh":
        from goswarm.io import sshconfig

        return sshconfig.route(url.hostname, sshconfig.read()).hostname
    return url.hostname


def registry_credentials(registry: str):
    """(username, password, where they came from) for `registry` (host[:port]), or None: REGISTRY_USERNAME and
    REGISTRY_PASSWORD (the environment, then .env), else the docker CLI's config (DOCKER_CONFIG or ~/.docker:
    its `auths`, `credsStore` and `credHelpers`, as docker-py resolves them). Never printed, never written."""
    user = get("REGISTRY_USERNAME")
    if user:
        return user, get("REGISTRY_PASSWORD"), "REGISTRY_USERNAME"
    from docker import auth
    from docker.errors import DockerException

    try:
        with warnings.catch_warnings():  # a missing helper warns, then fails: the failure is the one line
            warnings.simplefilter("ignore")
            found = auth.load_config().resolve_authconfig(registry) or {}
    except DockerException as e:  # a credential helper that failed or is missing
        raise ConfigError(f"the docker config's credentials for {registry} cannot be read: "
                          f"{redact(str(e)).splitlines()[0][:200]}") from None
    user = found.get("username") or found.get("Username")
    password = found.get("password") or found.get("Password")
    if user and password:
        _secrets.add(password)
        return user, password, "the docker config"
    return None


_secrets = set()  # credentials read from the docker config, kept out of every message too


def redact(text: str) -> str:
    """Remove every secret value we know of from a message before it is shown."""
    for value in [os.environ.get(key) for key in SECRET_KEYS] + sorted(_secrets):
        if value:
            text = text.replace(value, "***")
    return text


def ephemeral_ports(path: Path = Path("/proc/sys/net/ipv4/ip_local_port_range")) -> tuple:
    """(lowest, highest) local port the kernel gives outgoing connections; Linux's default where unreadable."""
    try:
        low, high = (int(x) for x in path.read_text().split())
        return low, high
    except (OSError, ValueError):
        return 32768, 60999
