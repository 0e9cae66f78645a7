"""Machine drivers: how a machine comes to exist, how its engine is started, how it goes away.

Once created, every machine is the same thing: a host reached over SSH (tasks.ssh).
"""
import json
import re
import shlex
import shutil

from goswarm import poll
from goswarm.errors import PipelineError
from goswarm.io import environment, machines, ssh
from goswarm.io.machines import Machine

ENGINE_VERSION = "docker version --format '{{.Server.Version}}'"
START_ENGINE = ("if [ -d /run/systemd/system ]; then systemctl start docker; "
                "else setsid nohup dockerd > /var/log/dockerd.log 2>&1 < /dev/null & fi")


def wait_for_engine(client, who: str, timeout: float = 30) -> str:
    def version():
        code, out, _ = ssh.run(client, ENGINE_VERSION, timeout=15)
        return out.strip() if code == 0 else None

    def late():
        raise PipelineError(f"{who}: the Docker engine did not answer within {timeout:.0f}s")

    return poll.until(version, timeout, 0.5, late)


class SSHDriver:
    """An existing host, reached with a key. Nothing is created on it; provision may install Docker."""

    name = "ssh"

    def create(self, sh, name, host=None, user=None, key=None, port=None, accept_new=False, **_):
        """`host` may be a ~/.ssh/config alias: its HostName, Port, User and IdentityFile fill what the flags
        leave out, and the record keeps the alias for its ProxyJump or ProxyCommand."""
        if not host:
            raise PipelineError("the ssh driver needs --host ADDRESS (or a Host alias from ~/.ssh/config)")
        route = ssh.resolve(host, port, user, key)
        machine = Machine(name, self.name, route.hostname, route.user, route.port, key,
                          alias=host if route.hostname != host else None)
        if not sh.dry:
            ssh.open_route(route, accept_new).close()
        return machine

    def provision(self, sh, machine: Machine, install: bool = False) -> str:
        client = ssh.connect(machine.ssh_host, machine.port, machine.user, machine.key)
        try:
            code, out, _ = ssh.run(client, ENGINE_VERSION, timeout=15)
            if code == 0:
                return f"{machine.name}: Docker {out.strip()} running, no change"
            code, _, _ = ssh.run(client, "command -v dockerd")
            if code != 0:
                if not install:
                    raise PipelineError(f"{machine.name}: Docker is not installed; rerun with --install to install "
                                        f"it with the distribution's packages")
                sh.act(f"install docker.io on {machine.name}", self._install, client, machine)
            sh.act(f"start the Docker engine on {machine.name}", ssh.run, client, START_ENGINE)
            if sh.dry:
                return f"{machine.name}: would start the engine"
            return f"{machine.name}: Docker {wait_for_engine(client, machine.name)} started"
        finally:
            client.close()

    @staticmethod
    def _install(client, machine):
        sudo = "" if machine.user == "root" else "sudo -n "
        code, _, err = ssh.run(client, f"{sudo}env DEBIAN_FRONTEND=noninteractive sh -c "
                                       f"'apt-get update -qq && apt-get install -y -qq docker.io'", timeout=900)
        if code != 0:
            raise PipelineError(f"{machine.name}: installing docker.io failed: {err.strip().splitlines()[-1:]}")

    def remove(self, sh, machine: Machine) -> None:
        """The host is not ours: only the record (and the key we recorded for it) go."""
        ssh.forget(machine.host, machine.port)


def used_addresses(sh) -> set:
    """Lab addresses taken: by our records, and by any netns machine up on this host."""
    from goswarm.io import netns

    return {m.host for m in machines.all_machines() if m.driver == "netns"} | netns.addresses_in_use(sh)


class NetnsDriver(SSHDriver):
    """A network namespace with its own address, Docker engine and sshd: a local host in seconds (Linux, root)."""

    name = "netns"

    def create(self, sh, name, address=None, preferred=None, **_):
        """`address` is the user's and final; `preferred` (lab.up's pick) may move if another process takes it."""
        from goswarm.io import netns

        netns.check_supported()
        chosen_here = not address
        address = address or preferred or netns.allocate_address(used_addresses(sh))
        state = machines.directory(name)
        key = state / "id_ed25519"
        if sh.dry:
            print(f"[dry] would create netns machine {name} at {address} with its own dockerd and sshd")
            return Machine(name, self.name, address, key=str(key))
        shutil.rmtree(state, ignore_errors=True)  # leftovers of a create that failed: nothing is recorded there
        environment.private_dir(state)
        try:
            sh.run(f"ssh-keygen -q -t ed25519 -N '' -C goswarm-{name} -f {shlex.quote(str(key))}", hide=True)
            public = (state / "id_ed25519.pub").read_text().strip()
            for attempt in range(5):
                try:
                    extras = netns.create(sh, name, address, state / "host", public)
                    break
                except netns.AddressTaken:  # another process took it between our look and netns' lock
                    if not (chosen_here and attempt < 4):
                        raise
                    address = netns.allocate_address(used_addresses(sh))
        except BaseException:
            shutil.rmtree(state, ignore_errors=True)
            raise
        # We generated this host's key ourselves: trusting it is not trust-on-first-use.
        ssh.trust(address, 22, extras["host_key"])
        return Machine(name, self.name, address, key=str(key), extras=extras)

    def provision(self, sh, machine: Machine, install: bool = False) -> str:
        from goswarm.io import netns

        if netns.engine_running(machine.extras):
            return f"{machine.name}: Docker engine running, no change"
        sh.act(f"start the Docker engine of {machine.name}", self._restart, sh, machine)
        return f"{machine.name}: Docker engine started"

    @staticmethod
    def _restart(sh, machine):
        from goswarm.io import netns

        state = machines.directory(machine.name) / "host"
        machine.extras["pids"]["dockerd"] = netns.start_engine(sh, machine.extras, state)
        machines.save(machine)

    def remove(self, sh, machine: Machine) -> None:
        from goswarm.io import netns

        netns.destroy(sh, machine.extras, machines.directory(machine.name) / "host")
        ssh.forget(machine.host, 22)


class VirtualBoxDriver(SSHDriver):
    """The blog's docker-machine + VirtualBox VMs, through the docker-machine CLI."""

    name = "virtualbox"
    MISSING = ("docker-machine is not installed (it is archived upstream): install docker-machine and VirtualBox, "
               "or use --driver ssh with an existing host, or --driver netns")

    def _require(self, sh):
        if not shutil.which("docker-machine") and not sh.dry:
            raise PipelineError(self.MISSING)

    def create(self, sh, name, **_):
        self._require(sh)
        sh.run(f"docker-machine create --driver virtualbox {shlex.quote(name)}")
        if sh.dry:
            sh.run(f"docker-machine ip {shlex.quote(name)}")
            return Machine(name, self.name, "0.0.0.0", user="docker")
        ip = parse_ip(sh.run(f"docker-machine ip {shlex.quote(name)}", hide=True).stdout)
        inspect = sh.run(f"docker-machine inspect {shlex.quote(name)}", hide=True).stdout
        user, key = parse_inspect(inspect)
        machine = Machine(name, self.name, ip, user, 22, key)
        ssh.connect(machine.host, machine.port, machine.user, machine.key, accept_new=True).close()
        return machine

    def remove(self, sh, machine: Machine) -> None:
        self._require(sh)
        sh.run(f"docker-machine rm -y {shlex.quote(machine.name)}")
        ssh.forget(machine.host, machine.port)


def parse_ip(text: str) -> str:
    """`docker-machine ip NAME` prints one IPv4 address. Pure."""
    ip = text.strip()
    if not re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", ip):
        raise PipelineError(f"docker-machine ip printed {ip[:80]!r}, not an address")
    return ip


def parse_inspect(text: str) -> tuple:
    """(user, key path) from `docker-machine inspect NAME` JSON. Pure.

    Its SSHPort is VirtualBox's NAT forward on 127.0.0.1; we reach the VM at its own address, on 22.
    """
    try:
        driver = json.loads(text)["Driver"]
        return driver.get("SSHUser") or "docker", driver["SSHKeyPath"]
    except (ValueError, KeyError, TypeError, AttributeError):  # not JSON, no Driver, or a Driver that is no mapping
        raise PipelineError("docker-machine inspect printed no SSH settings (Driver.SSHKeyPath)") from None


DRIVERS = {d.name: d for d in (SSHDriver(), NetnsDriver(), VirtualBoxDriver())}


def get(name: str):
    if name not in DRIVERS:
        raise PipelineError(f"unknown driver {name!r}; drivers: {', '.join(DRIVERS)}")
    return DRIVERS[name]
