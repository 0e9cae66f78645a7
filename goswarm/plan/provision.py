"""What `machine.provision --install` writes and runs on a host, and how it reads the answers. Pure.

As docker-machine's provisioner did on a fresh cloud VM: point apt at a proxy or mirror when one is named,
write /etc/docker/daemon.json before the package starts the engine, install the distribution's docker.io,
start the engine (systemd or not), then check that it answers with the registries the config names.
"""
import json
import re
import shlex

from goswarm.errors import PipelineError

DAEMON_JSON = "/etc/docker/daemon.json"
APT_PROXY_FILE = "/etc/apt/apt.conf.d/90goswarm-proxy"
ENGINE_LOG = "/var/log/dockerd.log"
PACKAGE = "docker.io"
# docker.io only recommends apparmor, but where the kernel enforces AppArmor (Debian's own kernels do) the
# engine cannot start a container without apparmor_parser: "AppArmor enabled on system but the docker-default
# profile could not be loaded". So it comes along on such a host, and only there.
APPARMOR = "/sys/module/apparmor/parameters/enabled"


def check_url(what: str, url: str) -> str:
    if not re.fullmatch(r"https?://[A-Za-z0-9.\-\[\]:]+(:\d+)?/?", url or ""):
        raise PipelineError(f"{what} {url!r}: give it as http://HOST:PORT")
    return url.rstrip("/")


def check_registry(address: str) -> str:
    """An insecure registry is HOST:PORT or a CIDR, as dockerd's --insecure-registry takes it."""
    if not re.fullmatch(r"[A-Za-z0-9.\-]+(:\d+)?(/\d{1,2})?", address or ""):
        raise PipelineError(f"insecure registry {address!r}: give it as HOST:PORT or a CIDR like 10.77.0.0/24")
    return address


def split_list(text) -> list:
    """`a,b` from a flag, or a list from the config, as a list of non-empty strings."""
    items = text if isinstance(text, (list, tuple)) else str(text or "").split(",")
    return [str(i).strip() for i in items if str(i).strip()]


def daemon_config(current: dict, insecure=(), mirrors=()) -> dict:
    """The host's daemon.json with our registries added; everything else it says is kept."""
    wanted = dict(current)
    for key, values in (("insecure-registries", insecure), ("registry-mirrors", mirrors)):
        if values:
            have = list(wanted.get(key) or [])
            wanted[key] = have + [v for v in values if v not in have]
    return wanted


def parse_daemon_json(text: str) -> dict:
    if not text.strip():
        return {}
    try:
        found = json.loads(text)
    except ValueError:
        raise PipelineError(f"{DAEMON_JSON} on the host is not JSON; fix or remove it") from None
    if not isinstance(found, dict):
        raise PipelineError(f"{DAEMON_JSON} on the host is not a JSON object; fix or remove it")
    return found


def apt_proxy_conf(proxy: str) -> str:
    return f'Acquire::http::Proxy "{proxy}";\n'


def write_file(path: str, text: str, sudo: str = "") -> str:
    """A command that writes `text` to `path` (its folder made first), atomically by a rename."""
    q = shlex.quote
    folder = path.rsplit("/", 1)[0]
    return (f"{sudo}mkdir -p {q(folder)} && printf %s {q(text)} | {sudo}tee {q(path + '.goswarm')} > /dev/null "
            f"&& {sudo}mv {q(path + '.goswarm')} {q(path)}")


def install_command(sudo: str = "", apparmor: str = APPARMOR) -> str:
    return (f"{sudo}env DEBIAN_FRONTEND=noninteractive sh -c "
            f"'apt-get update -qq && apt-get install -y --no-install-recommends {PACKAGE}"
            f"$(grep -qs Y {apparmor} && echo \" apparmor\")'")


def start_command(sudo: str = "") -> str:
    """systemd when it runs the host; otherwise dockerd in the background, as on containers and minimal hosts."""
    return (f"if [ -d /run/systemd/system ]; then {sudo}systemctl restart docker; "
            f"else {sudo}sh -c 'setsid nohup dockerd > {ENGINE_LOG} 2>&1 < /dev/null &'; fi")


def stop_command(sudo: str = "") -> str:
    """Stop a dockerd we started without systemd, so that it can start again with a new daemon.json."""
    return (f"if [ -d /run/systemd/system ]; then {sudo}systemctl stop docker; "
            f"else {sudo}sh -c 'pid=$(cat /var/run/docker.pid 2>/dev/null) && kill $pid && "
            f"while kill -0 $pid 2>/dev/null; do sleep 0.2; done'; fi")


def downloaded(apt_output: str) -> str:
    """apt's own account of what it fetched ("Need to get 38.2 MB of archives"), or ''."""
    found = re.search(r"Need to get ([\d.,]+ [kMG]?B)(/[\d.,]+ [kMG]?B)? of archives", apt_output)
    return found.group(1) if found else ""


def failure(stderr: str, stdout: str = "") -> str:
    """The line that says why apt failed: its E: line when it printed one, else its last line."""
    lines = [line.strip() for line in (stderr + "\n" + stdout).splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("E:")]
    return (errors or lines or ["no output"])[-1 if not errors else 0][:200]


def missing_registries(info_registry_config: dict, insecure) -> list:
    """The insecure registries the running engine does not list (docker info's RegistryConfig)."""
    listed = set(info_registry_config.get("InsecureRegistryCIDRs") or [])
    listed |= set((info_registry_config.get("IndexConfigs") or {}).keys())
    return [r for r in insecure if r not in listed]
