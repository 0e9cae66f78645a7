"""The one SSH factory: paramiko clients that check host keys and go where ~/.ssh/config says (io.sshconfig:
HostName, Port, User, IdentityFile, one ProxyJump hop or a ProxyCommand), and the Docker SDK's ssh:// transport
on top.

Host keys come from ~/.ssh/known_hosts and the project's .machines/known_hosts, for a jump host too. An
unknown key is refused unless the user explicitly accepts a new one (OpenSSH's accept-new); a changed key
is always refused. paramiko is imported here, lazily, so listing the tasks stays cheap.
"""
import functools
import logging
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Optional
from urllib.parse import urlparse

from goswarm.errors import PipelineError
from goswarm.io import environment, sshconfig
from goswarm.io.sshconfig import Route

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


def resolve(name: str, port: Optional[int] = None, user: Optional[str] = None, key: Optional[str] = None) -> Route:
    """Where `name` (an address or a ~/.ssh/config alias) leads; the values given win over the file."""
    return sshconfig.route(name, sshconfig.read(), port, user, key)


def connect_params(route: Route) -> dict:
    """paramiko connect() arguments. A given key only; else the IdentityFiles that exist (OpenSSH skips the
    others) and the agent; without either, the agent and ~/.ssh/id_*."""
    if route.key:
        keys = route.key
    elif route.identity_files:
        keys = [k for k in route.identity_files if Path(k).is_file()]
    else:
        keys = None
    return {"hostname": route.hostname, "port": route.port, "username": route.user, "key_filename": keys,
            "look_for_keys": keys is None, "allow_agent": route.agent, "timeout": TIMEOUT,
            "banner_timeout": TIMEOUT, "auth_timeout": TIMEOUT}


@functools.cache
def _client_class():
    import paramiko

    # paramiko's transport thread logs each failure it raises, with a traceback, and with no handler of
    # ours Python prints it on stderr: open_route turns those failures into one line instead.
    logging.getLogger("paramiko").addHandler(logging.NullHandler())

    class Client(paramiko.SSHClient):
        """An SSHClient that owns what carries it, the jump host's connection or the proxy command: closing
        it ends them too."""

        jump = None
        proxy = None  # (the ProxyCommand's process, the file its stderr goes to)

        def close_carrier(self):
            if self.jump is not None:
                self.jump.close()
                self.jump = None
            if self.proxy is not None:
                process, stderr = self.proxy
                if process.poll() is None:
                    process.kill()
                    process.wait()
                stderr.close()
                self.proxy = None

        def close(self):
            super().close()
            self.close_carrier()

    return Client


def new_client(accept_new: bool = False):
    import paramiko

    client = _client_class()()
    client.load_system_host_keys()
    if known_hosts().exists():
        for entry, keys in paramiko.HostKeys(str(known_hosts())).items():
            for kind, key in keys.items():
                client.get_host_keys().add(entry, kind, key)
    client.set_missing_host_key_policy(_policy(accept_new))
    return client


def connect(host: str, port: Optional[int] = None, user: Optional[str] = None, key: Optional[str] = None,
            accept_new: bool = False, client=None):
    """A connected SSHClient to `host` (an address or a ~/.ssh/config alias), or one line saying why not."""
    return open_route(resolve(host, port, user, key), accept_new, client)


UNKNOWN_KEY = ("the host key is unknown; verify it, then pass --accept-new-host-key to trust it (machine.create), "
               "or add it to ~/.ssh/known_hosts")


def open_route(route: Route, accept_new: bool = False, client=None):
    """A connected SSHClient along `route` (through its jump host or proxy command), or one line saying why
    not (never a key, never a traceback)."""
    client = client or new_client(accept_new)
    client.close_carrier()  # a reconnect makes a new one
    try:
        _connect(route, client, accept_new)
        return client
    except BaseException:
        client.close()  # and what carried it
        raise


def _connect(route: Route, client, accept_new: bool) -> None:
    import paramiko

    who = route.who
    try:
        client.connect(**connect_params(route), sock=_carrier(route, client, accept_new))
    except paramiko.BadHostKeyException:
        raise PipelineError(f"ssh {who}: the host key has CHANGED since it was recorded; refusing to connect "
                            f"(if the host was rebuilt, remove its old key from known_hosts)") from None
    except paramiko.AuthenticationException:
        raise PipelineError(f"ssh {who}: the key was refused (check --user and --key, or User and IdentityFile "
                            f"in {sshconfig.path()})") from None
    except (paramiko.SSHException, EOFError, OSError) as e:
        raise PipelineError(f"ssh {who}: {_why(route, client, e)}") from None


def _why(route: Route, client, error: Exception) -> str:
    """Why a connection could not be made, in the user's terms."""
    import paramiko

    ended = _proxy_ended(client)
    if ended:
        return ended
    if isinstance(error, paramiko.SSHException) and "not found in known_hosts" in str(error):
        return UNKNOWN_KEY
    if isinstance(error, socket.gaierror):
        if route.hostname == route.name:
            return f"{route.name} is not a Host in {sshconfig.path()}, and it does not resolve ({error.strerror})"
        return f"its HostName {route.hostname} does not resolve ({error.strerror})"
    if isinstance(error, (socket.timeout, TimeoutError)):
        return f"timed out after {TIMEOUT}s"
    if isinstance(error, OSError):
        return f"cannot connect ({error.strerror or error})"
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def _carrier(route: Route, client, accept_new: bool):
    """The socket our SSH connection runs over: a channel through the jump host, a proxy command's, or None
    (paramiko connects itself)."""
    import paramiko

    if route.jump:
        client.jump = open_route(route.jump, accept_new)
        try:
            return client.jump.get_transport().open_channel(
                "direct-tcpip", (route.hostname, route.port), ("127.0.0.1", 0), timeout=TIMEOUT)
        except paramiko.ChannelException as e:
            raise PipelineError(f"ssh {route.who}: the jump host {route.jump.who} cannot reach it "
                                f"({e.text})") from None
    if route.proxy_command:
        return _start_proxy(route.proxy_command, client)
    return None


def _start_proxy(command: str, client):
    """Run a ProxyCommand as OpenSSH does, through the shell, with our connection on its stdin and stdout.
    A socket pair rather than paramiko's ProxyCommand, whose recv spins until the timeout once the command
    has exited; its stderr is kept for the message when it fails."""
    ours, theirs = socket.socketpair()
    stderr = tempfile.TemporaryFile()
    with theirs:
        process = subprocess.Popen(command, shell=True, stdin=theirs, stdout=theirs, stderr=stderr,
                                   start_new_session=True)
    client.proxy = (process, stderr)
    return ours


def _proxy_ended(client) -> Optional[str]:
    """What the proxy command said when it exited, or None when there is none or it still runs."""
    if client.proxy is None:
        return None
    process, stderr = client.proxy
    try:
        code = process.wait(timeout=1)
    except subprocess.TimeoutExpired:
        return None
    stderr.seek(0)
    said = environment.redact(stderr.read().decode(errors="replace")).strip().splitlines()
    return f"its ProxyCommand exited with status {code}" + (f": {said[-1][:200]}" if said else "")


def openssh_argv(route: Route, command: list) -> Optional[list]:
    """OpenSSH's `ssh` running `command` on the route's host with the keys and host-key checks that ours use (the
    project's known_hosts and the user's; no new key accepted; no prompt). For bulk data: paramiko moves about 10
    MB/s on one core, shared by every connection of the process, and ssh several times that, in a process of its
    own. None when there is no ssh here, or the route goes through a jump host or a proxy command (ours carries
    those)."""
    import shutil

    found = shutil.which("ssh")
    if found is None or route.jump is not None or route.proxy_command:
        return None
    keys = [route.key] if route.key else [k for k in route.identity_files if Path(k).is_file()]
    options = {"BatchMode": "yes", "StrictHostKeyChecking": "yes", "ConnectTimeout": str(TIMEOUT),
               "UserKnownHostsFile": f"{known_hosts()} {Path.home() / '.ssh' / 'known_hosts'}", "LogLevel": "ERROR",
               **({"IdentitiesOnly": "yes"} if route.key or not route.agent else {})}
    return [found, "-F", "none", "-p", str(route.port), "-l", route.user,
            *(f"-o{k}={v}" for k, v in options.items()), *(a for k in keys for a in ("-i", k)),
            route.hostname, "--", *command]


def run_with_input(route: Route, command: list, data: bytes, timeout: float) -> Optional[tuple]:
    """(exit code, what it printed) of `command` run on the route's host by OpenSSH's ssh with `data` on its
    stdin; None where openssh_argv gives none. Exit code 255 is ssh's own failure (no connection, a refused key or
    host key): the caller can try again through paramiko, which says why in its words."""
    argv = openssh_argv(route, command)
    if argv is None:
        return None
    try:
        done = subprocess.run(argv, input=data, capture_output=True, timeout=timeout, start_new_session=True)
    except subprocess.TimeoutExpired:
        raise PipelineError(f"ssh {route.who}: `{' '.join(command)}` did not finish in {timeout:g} s") from None
    said = environment.redact((done.stdout + done.stderr).decode(errors="replace")).strip()
    return done.returncode, said


def run(client, command: str, timeout: float = 300) -> tuple:
    """(exit code, stdout, stderr) of one command on a connected client."""
    _, stdout, stderr = client.exec_command(command, timeout=timeout)
    code = stdout.channel.recv_exit_status()
    return code, stdout.read().decode(errors="replace"), stderr.read().decode(errors="replace")


# --- the Docker SDK's ssh:// transport, with our keys and host-key checks ----------------

_identities = {}  # (name, port) -> key path, for the machines we know (name: as in their ssh:// URL)


def register_identity(name: str, port: Optional[int], key: Optional[str]) -> None:
    _identities[(name, port or sshconfig.DEFAULT_PORT)] = key


@functools.cache
def _adapter_class():
    from docker.transport.sshconn import SSHHTTPAdapter

    class MachineSSHAdapter(SSHHTTPAdapter):
        """docker-py's paramiko transport (its connection pools and `docker system dial-stdio` channels), but
        reached through our routes: ~/.ssh/config with ProxyJump, our host-key checks, a machine's own key."""

        def _create_paramiko_client(self, base_url):
            url = urlparse(base_url)
            key = _identities.get((url.hostname, url.port or sshconfig.DEFAULT_PORT))
            self.route = resolve(url.hostname, url.port, url.username, key)
            self.ssh_client = new_client()
            self.ssh_params = connect_params(self.route)  # docker-py keeps it (its __attrs__)

        def _connect(self):
            open_route(self.route, client=self.ssh_client)

        def get_connection(self, url, proxies=None):
            # docker-py keeps a pool per URL (/v1.41/nodes, /v1.41/services...), and each pool's first request
            # opens an SSH channel and starts `docker system dial-stdio` on the node: 0.3-0.5 s per kind of
            # call. One pool per engine: its channels carry any call, as a connection to a socket does.
            return super().get_connection(ENGINE_POOL, proxies)

    return MachineSSHAdapter


ENGINE_POOL = "http+docker://ssh"  # the one key of an engine's connection pool (the adapter is per engine)


def docker_adapter(url: str, timeout: float):
    """A connected transport for the docker SDK's ssh:// engines (engine.py mounts it on one client)."""
    from docker import constants

    return _adapter_class()(url, timeout, pool_connections=constants.DEFAULT_NUM_POOLS_SSH,
                            max_pool_size=constants.DEFAULT_MAX_POOL_SIZE)
