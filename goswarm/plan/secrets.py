"""Docker secrets and configs of a service: what goswarm.yaml says of them, the names of the swarm objects that
hold them, and the ServiceSpec fields that mount them. Pure: the values are read and the objects made by
ops/secrets.py.

    secrets:
      db_password: {env: DB_PASSWORD}          # from the environment or .env: /run/secrets/db_password
      tls_key: {file: secrets/tls.key}         # from a file of the project
    configs:
      app: {file: config/app.yaml, target: /etc/app.yaml}   # default target: /app

A swarm object is never changed, so each is named after its content: <service>_<name>_<12 hex of its sha256>.
A new value makes a new object and an update of the service; the spec names the object, never the value.
"""
import re
from dataclasses import dataclass
from pathlib import Path

from goswarm.errors import ConfigError

KINDS = ("secrets", "configs")
SECRETS_DIR = "/run/secrets"
MODE = 0o444  # goswarm's images run as nobody: the file must be readable by it
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
OBJECT_NAME_MAX = 64  # the engine refuses longer names
LABEL = "io.goswarm"


@dataclass(frozen=True)
class Item:
    """One secret or config of a service."""
    kind: str  # "secrets" or "configs"
    name: str  # the secret's file name under /run/secrets; the config's name
    source: str  # "env" or "file"
    ref: str  # the variable's name, or the file's absolute path
    target: str = ""  # configs: where the file is mounted

    @property
    def where(self) -> str:
        """Where the task sees it."""
        return self.target or (f"{SECRETS_DIR}/{self.name}" if self.kind == "secrets" else f"/{self.name}")

    def describe(self) -> str:
        return f"the variable {self.ref}" if self.source == "env" else f"the file {self.ref}"


def parse(where: str, value, kind: str, root: Path) -> tuple:
    """`secrets:` or `configs:` of one service: NAME -> {env: VAR} or {file: PATH} (configs: files only, and an
    optional `target:`)."""
    if value is None:
        return ()
    sources = ("env", "file") if kind == "secrets" else ("file",)
    example = "{db_password: {env: DB_PASSWORD}, tls_key: {file: secrets/tls.key}}" if kind == "secrets" else \
        "{app: {file: config/app.yaml, target: /etc/app.yaml}}"
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a mapping like {example}; got {type(value).__name__}")
    items = []
    for name, spec in value.items():
        at = f"{where}.{name}"
        if not isinstance(name, str) or not NAME.match(name):
            raise ConfigError(f"{where}: {name!r} is not a name (letters, digits, '_', '.', '-')")
        allowed = {*sources, "target"} if kind == "configs" else set(sources)
        if not isinstance(spec, dict) or len(set(spec) & set(sources)) != 1 or set(spec) - allowed or \
                not all(isinstance(v, str) and v for v in spec.values()):
            raise ConfigError(f"{at} must be {' or '.join(f'{{{s}: ...}}' for s in sources)}"
                              f"{' (and target: /path)' if kind == 'configs' else ''}, like {example}")
        source = next(s for s in sources if s in spec)
        ref = spec[source]
        if source == "env" and not re.fullmatch(r"[A-Za-z_]\w*", ref):
            raise ConfigError(f"{at}.env must name an environment variable, got {ref!r}")
        if source == "file":
            ref = str((root / ref).resolve())
        target = spec.get("target", "")
        if target and not target.startswith("/"):
            raise ConfigError(f"{at}.target must be an absolute path, got {target!r}")
        items.append(Item(kind, name, source, ref, target))
    targets = [i.where for i in items]
    if len(set(targets)) != len(targets):
        raise ConfigError(f"{where}: two of them would be mounted at one path")
    return tuple(items)


def object_name(service: str, item: Item, digest: str) -> str:
    """The swarm object's name: the service, the item and its content's hash, within the engine's 64."""
    suffix = f"_{item.name}_{digest[:12]}"
    return service[:OBJECT_NAME_MAX - len(suffix)] + suffix


def labels(project: str, service: str, item: Item, digest: str) -> dict:
    return {f"{LABEL}.project": project, f"{LABEL}.service": service, f"{LABEL}.{item.kind[:-1]}": item.name,
            f"{LABEL}.digest": digest}


def references(items: list) -> dict:
    """The ContainerSpec fields for [(Item, object id, object name)]: {"Secrets": [...], "Configs": [...]}."""
    out = {}
    for item, object_id, object_name_ in items:
        key = "Secrets" if item.kind == "secrets" else "Configs"
        reference = {"File": {"Name": item.name if item.kind == "secrets" else item.where, "UID": "0", "GID": "0",
                              "Mode": MODE}}
        if item.kind == "secrets":
            reference.update({"SecretID": object_id, "SecretName": object_name_})
        else:
            reference.update({"ConfigID": object_id, "ConfigName": object_name_})
        out.setdefault(key, []).append(reference)
    return out


def referenced(spec: dict) -> set:
    """The names of the secret and config objects a ServiceSpec mounts."""
    container = ((spec or {}).get("TaskTemplate") or {}).get("ContainerSpec") or {}
    return {r.get("SecretName") for r in container.get("Secrets") or []} | {
        r.get("ConfigName") for r in container.get("Configs") or []}


def unused(objects: list, current: dict) -> list:
    """The objects (name, id) of a service that neither its spec nor its previous one (a rollback's) mount:
    `current` is the service's inspect after its rollout."""
    keep = referenced((current or {}).get("Spec")) | referenced((current or {}).get("PreviousSpec"))
    return [(name, object_id) for name, object_id in objects if name not in keep]
