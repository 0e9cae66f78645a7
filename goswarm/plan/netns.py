"""Netns machines, the pure part: every name, address, path, config file and command line a machine
has follows from its name and address. tasks/netns.py acts on the host with these.
"""
import hashlib
import ipaddress
import re
from pathlib import Path

from goswarm.errors import PipelineError
from goswarm.plan.config import MACHINE_NAME

BRIDGE = "br-goswarm"
SUBNET = "10.77.0.0/24"
GATEWAY = "10.77.0.1"  # the bridge's address on the host

PREFIX = "goswarm-"
NAME = MACHINE_NAME
SSHD = "/usr/sbin/sshd"
# The host engine sets the FORWARD policy to DROP, which also drops bridged traffic between namespaces.
FORWARD_RULE = f"FORWARD -i {BRIDGE} -o {BRIDGE} -j ACCEPT"
# Machines reach each other and the host only, whatever the host's policy. REJECT rather than DROP makes
# their failing DNS lookups (an engine trying a registry first) fail at once instead of timing out:
# a pull of an unknown image inside a machine gives up in 5 s instead of 20 s.
ISOLATE_RULE = f"FORWARD -i {BRIDGE} ! -o {BRIDGE} -j REJECT"
TOOLS = {"ip": "iproute2", "nsenter": "util-linux", "iptables": "iptables", "dockerd": "docker.io",
         SSHD: "openssh-server", "ssh-keygen": "openssh-client"}
LAUNCHERS = ("setsid", "nohup", "nsenter")
READY_TIMEOUT = 30
STOP_TIMEOUT = 20
# Serialises bridge set-up and tear-down between concurrent creates and destroys.
LOCK_FILE = "/run/goswarm-netns.lock"


# --- pure helpers ---------------------------------------------------------------------------------

def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise PipelineError(f"invalid netns machine name {name!r}: use 1-21 of a-z, 0-9 and '-', "
                            "starting with a letter or digit")
    return name


def host_range():
    network = ipaddress.ip_network(SUBNET)
    gateway = ipaddress.ip_address(GATEWAY)
    return [str(a) for a in network.hosts() if a != gateway]


def allocate_address(used) -> str:
    """The lowest free address 10.77.0.2 .. 10.77.0.254 not in `used`. Pure."""
    for address in host_range():
        if address not in used:
            return address
    raise PipelineError(f"no free address left in {SUBNET}: destroy a netns machine first")


def check_address(address: str) -> str:
    if address not in host_range():
        raise PipelineError(f"netns machine address {address!r} is not one of {SUBNET} "
                            f"(excluding the bridge {GATEWAY})")
    return address


def veth_name(name: str) -> str:
    """Host side of the pair: readable, unique by hash, within the kernel's 15 characters."""
    digest = hashlib.sha1(name.encode()).hexdigest()[:6]
    return f"gs-{name[:5]}-{digest}"


def run_dir(name: str) -> Path:
    return Path(f"/run/{PREFIX}{name}")


def uts_file(name: str) -> Path:
    # A persistent UTS namespace gives the machine its own hostname: `docker info` and `node ls` show it.
    return run_dir(name) / "uts"


def netns_file(name: str) -> Path:
    return Path("/run/netns") / f"{PREFIX}{name}"


def planned(name: str, address: str) -> dict:
    """The record extras of a machine before it runs: every name and path follows from `name`. Pure."""
    return {"netns": PREFIX + name, "veth": veth_name(name), "address": address,
            "socket": str(run_dir(name) / "docker.sock"), "data_root": f"/var/lib/goswarm/{name}",
            "exec_root": str(run_dir(name) / "exec"), "pids": {"dockerd": 0, "sshd": 0}, "host_key": ""}


def name_of(extras: dict) -> str:
    """The machine name from a record; paths are rebuilt from it rather than trusted from the record."""
    netns = str(extras.get("netns", ""))
    if not netns.startswith(PREFIX):
        raise PipelineError(f"not a netns machine record: netns is {netns!r}")
    return check_name(netns[len(PREFIX):])


def docker_major(version_output: str) -> int:
    """From `dockerd --version`. Pure."""
    found = re.search(r"version (\d+)\.", version_output)
    return int(found.group(1)) if found else 0


def daemon_config(state_dir: Path, major: int) -> dict:
    """Before Docker 23 the engine ID comes from /etc/docker/key.json, shared by every engine here;
    a key per machine keeps the IDs apart. Later engines keep their ID in the data root. Pure."""
    return {"deprecated-key-path": str(state_dir / "key.json")} if 0 < major < 23 else {}


def dockerd_argv(extras: dict, state_dir: Path) -> list:
    name = name_of(extras)
    return ["dockerd", "--config-file", str(state_dir / "daemon.json"),
            "-H", f"unix://{extras['socket']}", "--data-root", extras["data_root"],
            "--exec-root", extras["exec_root"], "--pidfile", str(state_dir / "docker.pid"),
            "--bridge", "none", "--iptables=false", "--cgroup-parent", f"/{PREFIX}{name}",
            "--containerd-namespace", PREFIX + name, "--containerd-plugins-namespace", f"{PREFIX}{name}p",
            "--insecure-registry", SUBNET]


def sshd_config(extras: dict, state_dir: Path) -> str:
    """Root only, key only, and every session's docker talks to this machine's engine. Pure."""
    lines = [
        f"# netns machine {name_of(extras)}, written by tasks/netns.py",
        f"ListenAddress {extras['address']}",
        "Port 22",
        f"HostKey {state_dir / 'ssh_host_ed25519_key'}",
        f"PidFile {state_dir / 'sshd.pid'}",
        # An absolute AuthorizedKeysFile applies to every account; AllowUsers keeps it to root.
        f"AuthorizedKeysFile {state_dir / 'authorized_keys'}",
        "AllowUsers root",
        "PermitRootLogin prohibit-password",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",
        "X11Forwarding no",
        "PrintMotd no",
        # scp uses the sftp protocol since OpenSSH 9.0.
        "Subsystem sftp internal-sftp",
        f"SetEnv DOCKER_HOST=unix://{extras['socket']}",
    ]
    return "\n".join(lines) + "\n"


def authorized_keys(key: str) -> str:
    """One public key line; a newline could smuggle in a second key or options. Pure."""
    key = (key or "").strip()
    if not key or "\n" in key or "\r" in key or not re.match(r"^(ssh-|ecdsa-|sk-)\S+ \S+", key):
        raise PipelineError("the authorized key must be one OpenSSH public key line (e.g. 'ssh-ed25519 AAAA...')")
    return key + "\n"


def host_key_line(public_key_file_text: str) -> str:
    """'type base64' of a .pub file, without the comment. Pure."""
    fields = public_key_file_text.split()
    if len(fields) < 2:
        raise PipelineError("ssh-keygen wrote an empty host public key")
    return f"{fields[0]} {fields[1]}"


def mounts_under(mountinfo: str, roots) -> list:
    """Mount points at or below any of `roots`, deepest first (unmount order). Pure."""
    roots = [str(r).rstrip("/") for r in roots]
    points = []
    for line in mountinfo.splitlines():
        fields = line.split()
        if len(fields) < 5:
            continue
        point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
        if any(point == r or point.startswith(r + "/") for r in roots):
            points.append(point)
    return sorted(set(points), key=lambda p: (-p.count("/"), p))


def netns_names(ip_netns_list: str) -> list:
    """Our namespaces from `ip netns list` ("goswarm-a (id: 3)" lines). Pure."""
    names = [line.split()[0] for line in ip_netns_list.splitlines() if line.strip()]
    return [n for n in names if n.startswith(PREFIX)]


def missing_tools(found) -> list:
    """`found(tool)` tells whether a tool is there. Pure."""
    return [tool for tool in TOOLS if not found(tool)]


def log_tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text[-lines:])
