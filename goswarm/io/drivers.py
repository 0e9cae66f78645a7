"""Machine drivers: how a machine comes to exist, how its engine is started, how it goes away.

Once created, every machine is the same thing: a host reached over SSH (tasks.ssh).
"""
import json
import re
import shlex
import shutil
from dataclasses import dataclass

from goswarm import poll
from goswarm.errors import PipelineError
from goswarm.io import environment, machines, ssh
from goswarm.io.machines import Machine
from goswarm.plan import provision as provision_plan

ENGINE_VERSION = "docker version --format '{{.Server.Version}}'"


@dataclass(frozen=True)
class Provisioning:
    """What `machine.provision` configures besides installing: apt's proxy, the engine's registries."""
    apt_proxy: str = ""
    insecure: tuple = ()
    mirrors: tuple = ()


def _write(client, machine, path: str, text: str, sudo: str) -> None:
    _step(client, machine, provision_plan.write_file(path, text, sudo), f"writing {path}")


def _step(client, machine, command: str, what: str) -> None:
    code, out, err = ssh.run(client, command, timeout=60)
    if code != 0:
        raise PipelineError(f"{machine.name}: {what} failed: {provision_plan.failure(err, out)}")


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

    def provision(self, sh, machine: Machine, install: bool = False, options: Provisioning = None) -> str:
        """docker-machine's provisioner, over SSH: daemon config first, then the package, then the engine, then
        a check that it answers with the registries asked for. Each failure is one line saying which step."""
        options = options or Provisioning()
        sudo = "" if machine.user == "root" else "sudo -n "
        client = ssh.connect(machine.ssh_host, machine.port, machine.user, machine.key)
        try:
            code, out, _ = ssh.run(client, ENGINE_VERSION, timeout=15)
            running = code == 0
            installed = running or ssh.run(client, "command -v dockerd")[0] == 0
            if not installed and not install:
                raise PipelineError(f"{machine.name}: Docker is not installed; rerun with --install to install "
                                    f"it with the distribution's packages")
            current = provision_plan.parse_daemon_json(ssh.run(client, f"cat {provision_plan.DAEMON_JSON} "
                                                                       f"2>/dev/null")[1])
            wanted = provision_plan.daemon_config(current, options.insecure, options.mirrors)
            if running and wanted == current:
                return f"{machine.name}: Docker {out.strip()} running, no change"
            if options.apt_proxy and not installed:
                sh.act(f"point apt on {machine.name} at {options.apt_proxy}", _write, client, machine,
                       provision_plan.APT_PROXY_FILE, provision_plan.apt_proxy_conf(options.apt_proxy), sudo)
            if wanted != current:
                sh.act(f"write {provision_plan.DAEMON_JSON} on {machine.name}", _write, client, machine,
                       provision_plan.DAEMON_JSON, json.dumps(wanted, indent=2) + "\n", sudo)
            fetched = sh.act(f"install {provision_plan.PACKAGE} on {machine.name}", self._install, client, machine,
                             sudo) if not installed else None
            if running:
                sh.act(f"stop the Docker engine on {machine.name} to apply its new config", _step, client, machine,
                       provision_plan.stop_command(sudo), "stopping the engine")
            if sh.dry:
                return f"{machine.name}: would start the engine"
            # The package's own init script may have started it already (Debian's docker.io starts its service).
            if running or ssh.run(client, ENGINE_VERSION, timeout=15)[0] != 0:
                sh.act(f"start the Docker engine on {machine.name}", _step, client, machine,
                       provision_plan.start_command(sudo), "starting the engine")
            version = self._check(client, machine, options, sudo)
            done = f"installed, downloaded {fetched}" if not installed else (
                "reconfigured" if wanted != current else "started")
            return f"{machine.name}: Docker {version} {done}, running"
        finally:
            client.close()

    @staticmethod
    def _install(client, machine, sudo) -> str:
        code, out, err = ssh.run(client, provision_plan.install_command(sudo), timeout=900)
        if code != 0:
            raise PipelineError(f"{machine.name}: installing {provision_plan.PACKAGE} failed: "
                                f"{provision_plan.failure(err, out)}")
        return provision_plan.downloaded(out) or "nothing"

    @staticmethod
    def _check(client, machine, options, sudo) -> str:
        try:
            version = wait_for_engine(client, machine.name)
        except PipelineError as late:
            tail = ssh.run(client, f"{sudo}tail -n 1 {provision_plan.ENGINE_LOG} 2>/dev/null")[1].strip()
            raise PipelineError(f"{late}" + (f"; its log says: {tail[:200]}" if tail else "")) from None
        code, out, _ = ssh.run(client, "docker info --format '{{json .RegistryConfig}}'", timeout=15)
        missing = provision_plan.missing_registries(json.loads(out) if code == 0 else {}, options.insecure)
        if missing:
            raise PipelineError(f"{machine.name}: the engine runs without the insecure registries "
                                f"{', '.join(missing)} (see {provision_plan.DAEMON_JSON})")
        return version

    def remove(self, sh, machine: Machine) -> None:
        """The host is not ours: only the record (and the key we recorded for it) go."""
        ssh.forget(machine.host, machine.port)


def used_addresses(sh) -> set:
    """Lab addresses taken: by our records, and by any netns machine up on this host."""
    from goswarm.io import netns

    bridged = ("netns", "rootfs", "qemu")
    return {m.host for m in machines.all_machines() if m.driver in bridged} | netns.addresses_in_use(sh)


class NetnsDriver(SSHDriver):
    """A network namespace with its own address, Docker engine and sshd: a local host in seconds (Linux, root)."""

    name = "netns"
    what = "netns machine {name} at {address} with its own dockerd and sshd"

    def create(self, sh, name, address=None, preferred=None, **_):
        """`address` is the user's and final; `preferred` (lab.up's pick) may move if another process takes it."""
        from goswarm.io import netns

        netns.check_supported()
        chosen_here = not address
        address = address or preferred or netns.allocate_address(used_addresses(sh))
        state = machines.directory(name)
        key = state / "id_ed25519"
        if sh.dry:
            print("[dry] would create " + self.what.format(name=name, address=address))
            return Machine(name, self.name, address, key=str(key))
        shutil.rmtree(state, ignore_errors=True)  # leftovers of a create that failed: nothing is recorded there
        environment.private_dir(state)
        try:
            sh.run(f"ssh-keygen -q -t ed25519 -N '' -C goswarm-{name} -f {shlex.quote(str(key))}", hide=True)
            public = (state / "id_ed25519.pub").read_text().strip()
            for attempt in range(5):
                try:
                    extras = self._make(sh, name, address, state / "host", public)
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

    @staticmethod
    def _make(sh, name, address, state_dir, public_key) -> dict:
        from goswarm.io import netns

        return netns.create(sh, name, address, state_dir, public_key)

    def provision(self, sh, machine: Machine, install: bool = False, options: Provisioning = None) -> str:
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


class RootfsDriver(NetnsDriver):
    """A bare host: its own Debian root filesystem (an overlay on a cached debootstrap tree), network, PID and
    mount namespaces, and sshd as its only service. Docker comes from `machine.provision --install`.
    Its network and its removal are a netns machine's."""

    name = "rootfs"
    what = "bare host {name} at {address}: an overlay on the cached Debian tree, sshd only"

    def create(self, sh, name, address=None, preferred=None, **_):
        from goswarm.io import rootfs

        rootfs.ensure_tree(sh)  # before any address is taken: the first time, this takes minutes
        return super().create(sh, name, address, preferred)

    @staticmethod
    def _make(sh, name, address, state_dir, public_key) -> dict:
        from goswarm.io import rootfs

        return rootfs.create(sh, name, address, state_dir, public_key, rootfs.ensure_tree(sh))

    def provision(self, sh, machine: Machine, install: bool = False, options: Provisioning = None) -> str:
        self.start(sh, machine)
        return SSHDriver.provision(self, sh, machine, install, options)  # over SSH, as on any host

    def start(self, sh, machine: Machine) -> str:
        from goswarm.io import rootfs

        if rootfs.running(machine.extras):
            return f"{machine.name}: running, no change"
        sh.act(f"boot bare host {machine.name}", self._boot, sh, machine)
        return f"{machine.name}: started"

    @staticmethod
    def _boot(sh, machine):
        from goswarm.io import rootfs

        machine.extras["pids"] = {"init": rootfs.boot(sh, machine.extras, machines.directory(machine.name) / "host")}
        machines.save(machine)

    def stop(self, sh, machine: Machine) -> str:
        from goswarm.io import rootfs

        if not rootfs.running(machine.extras):
            return f"{machine.name}: stopped, no change"
        sh.act(f"stop bare host {machine.name} (every process in it)", rootfs.stop, machine.extras)
        return f"{machine.name}: stopped"


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


DRIVERS = {d.name: d for d in (SSHDriver(), NetnsDriver(), RootfsDriver(), VirtualBoxDriver())}


def get(name: str):
    if name not in DRIVERS:
        raise PipelineError(f"unknown driver {name!r}; drivers: {', '.join(DRIVERS)}")
    return DRIVERS[name]
