"""Machine records: what `machine.create` made, kept in .machines/<name>/ (outside git, 0700)."""
import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

from goswarm import program
from goswarm.errors import PipelineError
from goswarm.io import environment
from goswarm.plan.config import MACHINE_NAME


@dataclass
class Machine:
    name: str
    driver: str  # ssh, netns or virtualbox
    host: str
    user: str = "root"
    port: int = 22
    key: Optional[str] = None  # private key path; None: ~/.ssh/config's IdentityFile, the agent and ~/.ssh/id_*
    extras: dict = field(default_factory=dict)  # what the driver needs to remove it again
    alias: Optional[str] = None  # the ~/.ssh/config Host it was made from, whose HostName is `host`

    @property
    def ssh_host(self) -> str:
        """The name SSH is given: the alias, so that its ProxyJump or ProxyCommand applies; else the address."""
        return self.alias or self.host

    @property
    def url(self) -> str:
        """The Docker SDK's address of this machine's engine (over SSH, never plain TCP). With an alias the
        port is always named: without one, ~/.ssh/config's Port would decide."""
        named = self.port != 22 or self.alias
        return f"ssh://{self.user}@{self.ssh_host}" + (f":{self.port}" if named else "")


def check_name(name: str) -> str:
    if not MACHINE_NAME.match(name or ""):
        raise PipelineError(f"machine name {name!r}: use 1-21 of a-z, 0-9 and '-', starting with a letter or digit")
    return name


def directory(name: str) -> Path:
    return environment.machines_dir() / check_name(name)


def save(machine: Machine) -> None:
    path = directory(machine.name)
    environment.private_dir(path)
    (path / "machine.json").write_text(json.dumps(asdict(machine), indent=2))


def all_machines() -> list:
    store = environment.machines_dir()
    return [Machine(**json.loads(p.read_text())) for p in sorted(store.glob("*/machine.json"))]


def read(name: str) -> Machine:
    record = directory(name) / "machine.json"
    if not record.is_file():
        known = ", ".join(m.name for m in all_machines()) or f"none yet (see {program.run('machine.create')})"
        raise PipelineError(f"unknown machine {name!r}; known machines: {known}")
    return Machine(**json.loads(record.read_text()))


def exists(name: str) -> bool:
    return (directory(name) / "machine.json").is_file()


def by_host(host: str) -> Optional[Machine]:
    return next((m for m in all_machines() if m.host == host), None)


def delete(name: str) -> None:
    shutil.rmtree(directory(name), ignore_errors=True)


def register_identities() -> None:
    """Tell the SSH transport which key each known machine uses."""
    from goswarm.io import ssh

    for machine in all_machines():
        ssh.register_identity(machine.ssh_host, machine.port, machine.key)
