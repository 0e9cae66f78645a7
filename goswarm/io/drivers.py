"""Machine drivers: how a machine comes to exist, how its engine is started, how it goes away.

Once created, every machine is the same thing: a host reached over SSH (tasks.ssh).
"""
import json
import shlex
import shutil
from dataclasses import dataclass

from goswarm import poll
from goswarm.errors import PipelineError
from goswarm.io import environment, machines, ssh
from goswarm.io.machines import Machine
from goswarm.plan import provision as provision_plan
from goswarm.plan import qemu as qemu_plan
from goswarm.plan import vbox

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
    from goswarm.io import netns, qemu

    bridged = ("netns", "rootfs", "qemu")
    return ({m.host for m in machines.all_machines() if m.driver in bridged} | netns.addresses_in_use(sh)
            | qemu.reserved_addresses())


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


class Switchable:
    """Machines that run here (bare hosts, VMs): machine.start boots one, and provisioning boots it first."""

    kind = "machine"

    def provision(self, sh, machine: Machine, install: bool = False, options: Provisioning = None) -> str:
        self.start(sh, machine)
        return SSHDriver.provision(self, sh, machine, install, options)  # over SSH, as on any host

    def start(self, sh, machine: Machine) -> str:
        if self._running(machine):
            return f"{machine.name}: running, no change"
        sh.act(f"boot {self.kind} {machine.name}", self._boot, sh, machine)
        return f"{machine.name}: started"


class RootfsDriver(Switchable, NetnsDriver):
    """A bare host: its own Debian root filesystem (an overlay on a cached debootstrap tree), network, PID and
    mount namespaces, and sshd as its only service. Docker comes from `machine.provision --install`.
    Its network and its removal are a netns machine's."""

    name = "rootfs"
    kind = "bare host"
    what = "bare host {name} at {address}: an overlay on the cached Debian tree, sshd only"

    def create(self, sh, name, address=None, preferred=None, **_):
        from goswarm.io import rootfs

        rootfs.ensure_tree(sh)  # before any address is taken: the first time, this takes minutes
        return super().create(sh, name, address, preferred)

    @staticmethod
    def _make(sh, name, address, state_dir, public_key) -> dict:
        from goswarm.io import rootfs

        return rootfs.create(sh, name, address, state_dir, public_key, rootfs.ensure_tree(sh))

    @staticmethod
    def _running(machine) -> bool:
        from goswarm.io import rootfs

        return rootfs.running(machine.extras)

    @staticmethod
    def _boot(sh, machine):
        from goswarm.io import rootfs

        machine.extras["pids"] = {"init": rootfs.boot(sh, machine.extras, machines.directory(machine.name) / "host")}
        machines.save(machine)

    def stop(self, sh, machine: Machine) -> str:
        from goswarm.io import rootfs

        if not self._running(machine):
            return f"{machine.name}: stopped, no change"
        sh.act(f"stop bare host {machine.name} (every process in it)", rootfs.stop, machine.extras)
        return f"{machine.name}: stopped"


class QemuDriver(Switchable, SSHDriver):
    """A VM booted from a disk image (`machine.image`) with a cloud-init NoCloud seed, on the lab bridge."""

    name = "qemu"
    kind = "VM"

    def create(self, sh, name, image=None, address=None, preferred=None, **_):
        from goswarm.io import netns, qemu

        if not image:
            raise PipelineError("the qemu driver needs --image FILE (make one with `goswarm machine.image -o FILE`)")
        qemu.check_supported()
        chosen_here = not address
        address = netns.check_address(address or preferred or qemu.free_address(used_addresses(sh)))
        state = machines.directory(name)
        key = state / "id_ed25519"
        if sh.dry:
            qemu.create(sh, name, address, image, state / "host", "")
            return Machine(name, self.name, address, key=str(key))
        shutil.rmtree(state, ignore_errors=True)
        environment.private_dir(state)
        extras = {}
        try:
            sh.run(f"ssh-keygen -q -t ed25519 -N '' -C goswarm-{name} -f {shlex.quote(str(key))}", hide=True)
            public = (state / "id_ed25519.pub").read_text().strip()
            for attempt in range(5):
                try:
                    extras = qemu.create(sh, name, address, image, state / "host", public)
                    break
                except netns.AddressTaken:  # another machine took it between our look and the reservation
                    if not (chosen_here and attempt < 4):
                        raise
                    address = qemu.free_address(used_addresses(sh))
            ssh.trust(address, 22, extras["host_key"])  # the seed gave it the key we made
            machine = Machine(name, self.name, address, key=str(key), extras=extras)
            wait_for_login(machine)
        except BaseException:
            if extras:
                qemu.destroy(sh, extras, state / "host")
                ssh.forget(address, 22)
            shutil.rmtree(state, ignore_errors=True)
            raise
        return machine

    @staticmethod
    def _running(machine) -> bool:
        from goswarm.io import qemu

        return qemu.running(machine.extras)

    @staticmethod
    def _boot(sh, machine):
        from goswarm.io import qemu

        machine.extras["pid"] = qemu.boot(sh, machine.extras, machines.directory(machine.name) / "host")
        machines.save(machine)
        wait_for_login(machine)

    def stop(self, sh, machine: Machine) -> str:
        from goswarm.io import qemu

        if not self._running(machine):
            return f"{machine.name}: stopped, no change"

        def poweroff():
            client = ssh.connect(machine.ssh_host, machine.port, machine.user, machine.key)
            try:
                client.exec_command("systemctl poweroff || poweroff", timeout=10)
            finally:
                client.close()

        sh.act(f"shut down VM {machine.name}", qemu.stop, sh, machine.extras,
               machines.directory(machine.name) / "host", poweroff)
        return f"{machine.name}: stopped"

    def remove(self, sh, machine: Machine) -> None:
        from goswarm.io import qemu

        qemu.destroy(sh, machine.extras, machines.directory(machine.name) / "host")
        ssh.forget(machine.host, 22)


def wait_for_login(machine: Machine, timeout: float = 300) -> None:
    """sshd may answer before cloud-init has given root its key."""
    def login():
        try:
            ssh.connect(machine.ssh_host, machine.port, machine.user, machine.key).close()
            return True
        except PipelineError:
            return None

    def late():
        raise PipelineError(f"{machine.name}: sshd answers but the key is refused after {timeout:.0f}s "
                            f"(did cloud-init read the seed? see its console.log)")

    poll.until(login, timeout, 2, late)


class VirtualBoxDriver(SSHDriver):
    """The blog's VirtualBox VMs, made with VBoxManage as docker-machine's driver did: a cloud image with a
    bootloader (e.g. Debian's genericcloud raw image) and a NoCloud seed, on the host-only network vboxnet0."""

    name = "virtualbox"
    MISSING = vbox.MISSING

    def _require(self, sh):
        if not shutil.which(vbox.VBOXMANAGE) and not sh.dry:
            raise PipelineError(self.MISSING)

    def create(self, sh, name, image=None, address=None, **_):
        from goswarm.io import qemu

        self._require(sh)
        if not image:
            raise PipelineError("the virtualbox driver needs --image FILE: a raw cloud image with a bootloader")
        address = address or vbox_address({m.host for m in machines.all_machines() if m.driver == self.name})
        state = machines.directory(name)
        key = state / "id_ed25519"
        folder = state / "host"
        if sh.dry:
            for command in vbox.create_commands(name, image, folder / "seed.img", folder):
                sh.run(command)
            return Machine(name, self.name, address, key=str(key))
        environment.private_dir(folder)
        sh.run(f"ssh-keygen -q -t ed25519 -N '' -C goswarm-{name} -f {shlex.quote(str(key))}", hide=True)
        host_key = qemu.seed(sh, name, folder, (state / "id_ed25519.pub").read_text(),
                             qemu_plan.network_config(address, None, outside_nic=True))
        for command in vbox.create_commands(name, image, folder / "seed.img", folder):
            sh.run(command, hide=True)
        ssh.trust(address, 22, host_key)
        machine = Machine(name, self.name, address, key=str(key))
        wait_for_login(machine, 300)
        return machine

    def start(self, sh, machine: Machine) -> str:
        self._require(sh)
        if vbox.vm_state(sh.read(vbox.info_command(machine.name)).stdout) == "running":
            return f"{machine.name}: running, no change"
        sh.run(vbox.start_command(machine.name), hide=True)
        return f"{machine.name}: started"

    def stop(self, sh, machine: Machine) -> str:
        self._require(sh)
        sh.run(vbox.stop_command(machine.name, hard=True), hide=True, warn=True)
        return f"{machine.name}: stopped"

    def remove(self, sh, machine: Machine) -> None:
        self._require(sh)
        sh.run(vbox.stop_command(machine.name, hard=True), hide=True, warn=True)
        sh.run(vbox.remove_command(machine.name), hide=True)
        ssh.forget(machine.host, machine.port)


def vbox_address(used: set) -> str:
    """docker-machine's host-only network handed out 192.168.99.100 and up. Pure."""
    for last in range(100, 255):
        if f"192.168.99.{last}" not in used:
            return f"192.168.99.{last}"
    raise PipelineError("no free address left in 192.168.99.100-254")


DRIVERS = {d.name: d for d in (SSHDriver(), NetnsDriver(), RootfsDriver(), QemuDriver(), VirtualBoxDriver())}


def get(name: str):
    if name not in DRIVERS:
        raise PipelineError(f"unknown driver {name!r}; drivers: {', '.join(DRIVERS)}")
    return DRIVERS[name]
