"""A service's Docker secrets and configs on the swarm (plan/secrets.py): each value read from the environment or
a file, held in an object named after its content, made when missing; after a rollout, the objects of the service
that neither its spec nor its previous one (what a rollback puts back) mounts are removed.

A value is read here and handed to the engine, and goes nowhere else: not into a message, the plan, the spec
(which names the object) or the release file.
"""
import hashlib

import docker.errors

from goswarm.errors import ConfigError
from goswarm.io import engine, engineapi, environment
from goswarm.plan import secrets as plan

MAX_SIZE = 500 * 1024  # the engine's limit for a secret or config


def read(service: str, item: plan.Item) -> bytes:
    """The value, as bytes; one line naming where it should come from when it cannot be read."""
    where = f"services.{service}.{item.kind}.{item.name}"
    if item.source == "env":
        value = environment.get(item.ref)
        if not value:
            raise ConfigError(f"{where}: {item.ref} is not set (in the environment or .env), or empty")
        data = value.encode()
    else:
        try:
            data = open(item.ref, "rb").read()
        except OSError as e:
            raise ConfigError(f"{where}: cannot read {item.ref}: {(e.strerror or str(e)).lower()}") from None
        if not data:
            raise ConfigError(f"{where}: {item.ref} is empty")
    if len(data) > MAX_SIZE:
        raise ConfigError(f"{where}: {item.describe()} holds {len(data)} bytes; the engine takes up to {MAX_SIZE}")
    return data


def _collection(client, kind: str):
    return client.secrets if kind == "secrets" else client.configs


def named(service) -> dict:
    """The ContainerSpec's Secrets and Configs by the objects' names alone (no engine: a compose file's)."""
    return plan.references([(item, "", plan.object_name(service.name, item, hashlib.sha256(
        read(service.name, item)).hexdigest())) for item in (*service.secrets, *service.configs)])


def ensure(sh, client, project: str, service, create: bool = True) -> dict:
    """The ContainerSpec's Secrets and Configs for `service`, each object made when missing (not under --dry,
    nor when `create` is False: a look that changes nothing)."""
    chosen = []
    for item in (*service.secrets, *service.configs):
        data = read(service.name, item)
        digest = hashlib.sha256(data).hexdigest()
        name = plan.object_name(service.name, item, digest)
        collection = _collection(client, item.kind)
        with engine.errors(f"looking up {item.kind[:-1]} {name}"):
            found = [o for o in collection.list(filters={"name": name}) if o.name == name]
        object_id = found[0].id if found else ""
        if not found and create:
            with engine.errors(f"creating {item.kind[:-1]} {name}"):
                made = sh.act(f"create {item.kind[:-1]} {name} (from {item.describe()})", collection.create,
                              name=name, data=data, labels=plan.labels(project, service.name, item, digest))
            object_id = made.id if made is not None else ""
        chosen.append((item, object_id, name))
    return plan.references(chosen)


def prune(sh, client, project: str, service) -> None:
    """Remove the service's objects that no spec of it mounts any more (its current and its previous one)."""
    current = engineapi.service(client, service.name)
    mine = [f"{plan.LABEL}.service={service.name}", f"{plan.LABEL}.project={project}"]
    for kind in plan.KINDS:
        with engine.errors(f"listing {kind}"):
            objects = {o.name: o for o in _collection(client, kind).list(filters={"label": mine})}
        for name, _ in plan.unused([(n, o.id) for n, o in objects.items()], current):
            try:
                sh.act(f"remove {kind[:-1]} {name} (no spec of {service.name} mounts it)", objects[name].remove)
            except docker.errors.APIError as e:  # harmless: the next run's prune tries again
                print(f"note: {kind[:-1]} {name} stays for now: {e.explanation or e}")
