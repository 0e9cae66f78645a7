"""The one SSH factory: paramiko clients that check host keys, and the Docker SDK's ssh:// transport on top.

Host keys come from ~/.ssh/known_hosts and the project's .machines/known_hosts. An unknown key
is refused unless the user explicitly accepts a new one (OpenSSH's accept-new); a changed key
is always refused. paramiko is imported here, lazily, so listing the tasks stays cheap.
"""
import functools
import socket
from pathlib import Path
from typing import Optional
from urllib.parse import urlparse

from goswarm.errors import PipelineError
from goswarm.io import environment

TIMEOUT = 10


def known_hosts() -> Path:
    return environment.machines_dir() / "known_hosts"


def host_entry(host: str, port: int) -> str:
    """known_hosts names a host on a non-standard port as [host]:port."""
    return host if port in (None, 22) else f"[{host}]:{port}"


def _update(drop: Optional[str] = None, add: Optional[str] = None) -> None:
    """Rewrite the project's known_hosts (0600): without the lines of host entry `drop`, plus line `add`."""
    path = known_hosts()
    environment.private_dir(path.parent)
    lines = path.read_text().splitlines() if path.exists() else []
    lines = [line for line in lines if line.split(" ", 1)[0] != drop] + ([add] if add else [])
    path.write_text("".join(line + "\n" for line in lines))
    path.chmod(0o600)


def trust(host: str, port: int, key_line: str) -> None:
    """Record a host key we know to be right (a host we created ourselves), replacing any older one."""
    entry = host_entry(host, port)
    _update(drop=entry, add=f"{entry} {key_line.strip()}")


def forget(host: str, port: int) -> None:
    if known_hosts().exists():
        _update(drop=host_entry(host, port))


def _policy(accept_new: bool):
    import paramiko

    class AcceptNew(paramiko.MissingHostKeyPolicy):
        def missing_host_key(self, client, hostname, key):
            _update(add=f"{hostname} {key.get_name()} {key.get_base64()}")  # add only, as OpenSSH's accept-new
            print(f"accepted new host key for {hostname}: {key.get_name()} {key.fingerprint}")

    return AcceptNew() if accept_new else paramiko.RejectPolicy()


def connect_params(host: str, port: Optional[int], user: Optional[str], key: Optional[str]) -> dict:
    """paramiko connect() arguments: a given key only; without one, the agent and ~/.ssh/id_*."""
    return {"hostname": host, "port": port or 22, "username": user or "root", "key_filename": key,
            "look_for_keys": key is None, "allow_agent": key is None, "timeout": TIMEOUT,
            "banner_timeout": TIMEOUT, "auth_timeout": TIMEOUT}


def new_client(accept_new: bool = False):
    import paramiko

    client = paramiko.SSHClient()
    client.load_system_host_keys()
    if known_hosts().exists():
        for entry, keys in paramiko.HostKeys(str(known_hosts())).items():
            for kind, key in keys.items():
                client.get_host_keys().add(entry, kind, key)
    client.set_missing_host_key_policy(_policy(accept_new))
    return client


def connect(host: str, port: Optional[int] = None, user: Optional[str] = None, key: Optional[str] = None,
            accept_new: bool = False, client=None):
    """A connected SSHClient, or one line saying why not (never a key, never a traceback)."""
    import paramiko

    client = client or new_client(accept_new)
    params = connect_params(host, port, user, key)
    who = f"{params['username']}@{host_entry(host, params['port'])}"
    try:
        client.connect(**params)
        return client
    except paramiko.BadHostKeyException:
        raise PipelineError(f"ssh {who}: the host key has CHANGED since it was recorded; refusing to connect "
                            f"(if the host was rebuilt, remove its old key from known_hosts)") from None
    except paramiko.AuthenticationException:
        raise PipelineError(f"ssh {who}: the key was refused (check --user and --key)") from None
    except paramiko.SSHException as e:
        if "not found in known_hosts" in str(e):
            raise PipelineError(f"ssh {who}: the host key is unknown; verify it, then pass "
                                f"--accept-new-host-key to trust it") from None
        raise PipelineError(f"ssh {who}: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    except (socket.timeout, TimeoutError):
        raise PipelineError(f"ssh {who}: timed out after {TIMEOUT}s") from None
    except OSError as e:
        raise PipelineError(f"ssh {who}: cannot connect ({e.strerror or e})") from None


def run(client, command: str, timeout: float = 300) -> tuple:
    """(exit code, stdout, stderr) of one command on a connected client."""
    _, stdout, stderr = client.exec_command(command, timeout=timeout)
    code = stdout.channel.recv_exit_status()
    return code, stdout.read().decode(errors="replace"), stderr.read().decode(errors="replace")


# --- the Docker SDK's ssh:// transport, with our keys and host-key checks ----------------

_identities = {}  # (host, port) -> key path, for machines we know


def register_identity(host: str, port: Optional[int], key: Optional[str]) -> None:
    _identities[(host, port or 22)] = key


@functools.cache
def _adapter_class():
    from docker.transport.sshconn import SSHHTTPAdapter  # not re-exported when docker came without paramiko

    class MachineSSHAdapter(SSHHTTPAdapter):
        """docker-py's paramiko transport, but with this module's host-key checks and the machine's own key."""

        def _create_paramiko_client(self, base_url):
            url = urlparse(base_url)
            port = url.port or 22
            self.ssh_client = new_client()
            self.ssh_params = connect_params(url.hostname, port, url.username,
                                             _identities.get((url.hostname, port)))

        def _connect(self):
            connect(self.ssh_params["hostname"], self.ssh_params["port"], self.ssh_params["username"],
                    self.ssh_params["key_filename"], client=self.ssh_client)

    return MachineSSHAdapter


def install_docker_transport() -> None:
    """Make every ssh:// DockerClient in this process use MachineSSHAdapter."""
    import docker.api.client

    docker.api.client.SSHHTTPAdapter = _adapter_class()
