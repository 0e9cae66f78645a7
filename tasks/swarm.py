"""swarm: make the engine a swarm manager with the overlay network, and show what runs on it."""
import json
import os
from pathlib import Path

from invoke import Collection

from tasks import engine, environment, output, settings
from tasks.errors import PipelineError, task

DEFAULTS = {"swarm": {"network": "my_network", "advertise_addr": None, "state_dir": ".swarm"}}


def token_file(c) -> Path:
    return environment.PROJECT_ROOT / str(c.config.swarm.state_dir) / "join-tokens.json"


def save_tokens(path: Path, tokens: dict) -> None:
    """Join tokens are credentials: 0600 from the first byte, in a directory git ignores."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(tokens, f)
    os.chmod(path, 0o600)


def swarm_state(client) -> str:
    return client.info().get("Swarm", {}).get("LocalNodeState", "inactive")


def ensure_swarm(c, client, advertise_addr=None) -> str:
    state = swarm_state(client)
    if state == "active":
        return "swarm: already active, no change"
    if state != "inactive":
        raise PipelineError(f"this engine's swarm state is {state!r}; fix it with `docker swarm leave --force`")
    addr = advertise_addr or c.config.swarm.advertise_addr or environment.get("MANAGER_IP") or None
    try:
        with engine.errors("initialising the swarm"):
            output.act(c, f"initialise a swarm (advertise address: {addr or 'chosen by the engine'})",
                       client.swarm.init, advertise_addr=addr)
    except PipelineError as e:
        if "could not choose an IP address" in str(e):
            raise PipelineError("the engine has several addresses: pass --advertise-addr or set MANAGER_IP") from None
        raise
    return "swarm: initialised"


def ensure_network(c, client, name: str) -> str:
    with engine.errors(f"creating network {name}"):
        existing = [n for n in client.networks.list(names=[name]) if n.name == name]
        if existing:
            driver = existing[0].attrs.get("Driver")
            if driver != "overlay":
                raise PipelineError(f"network {name} exists with driver {driver!r}, not overlay; remove it or rename")
            return f"network {name}: exists, no change"
        output.act(c, f"create overlay network {name}", client.networks.create, name, driver="overlay",
                   attachable=True, scope="swarm")
    return f"network {name}: created"


def keep_tokens(c, client) -> None:
    if output.is_dry(c):
        return
    with engine.errors("reading the join tokens"):
        tokens = client.swarm.attrs.get("JoinTokens") or {}
    if tokens:
        save_tokens(token_file(c), {"worker": tokens["Worker"], "manager": tokens["Manager"]})


def network_id(client, name: str) -> str:
    with engine.errors(f"looking up network {name}"):
        found = [n for n in client.networks.list(names=[name]) if n.name == name]
    if not found:
        raise PipelineError(f"overlay network {name} does not exist: run `inv swarm.init` first")
    return found[0].id


@task(help={"advertise_addr": "Address other nodes reach this manager at (default: MANAGER_IP or the engine's choice)."})
def init(c, advertise_addr=None):
    """Make the engine a single-node swarm manager and create the overlay network (idempotent)."""
    cfg = settings.load(c)
    client = engine.client()
    print(ensure_swarm(c, client, advertise_addr))
    if swarm_state(client) == "active":
        client.swarm.reload()
        keep_tokens(c, client)
    print(ensure_network(c, client, cfg.network))
    if not output.is_dry(c):
        print(f"join tokens kept in {token_file(c)} (mode 0600)")


@task
def status(c):
    """Show the swarm's nodes, its services (running/desired replicas, image) and their tasks."""
    client = engine.client()
    if swarm_state(client) != "active":
        raise PipelineError("this engine is not in a swarm: run `inv swarm.init`")
    with engine.errors("reading the swarm"):
        nodes = client.api.nodes()
        services = client.api.services(status=True)
        tasks = client.api.tasks(filters={"desired-state": "running"})
    hostnames = {n["ID"]: n["Description"]["Hostname"] for n in nodes}
    print(output.table(
        [(n["Description"]["Hostname"], n["Spec"].get("Role"), n["Spec"].get("Availability"), n["Status"]["State"],
          (n.get("ManagerStatus") or {}).get("Addr", n["Status"].get("Addr", ""))) for n in nodes],
        ("NODE", "ROLE", "AVAILABILITY", "STATE", "ADDRESS")))
    print()
    names = {s["ID"]: s["Spec"]["Name"] for s in services}
    print(output.table(
        [(s["Spec"]["Name"], f"{s.get('ServiceStatus', {}).get('RunningTasks', '?')}/"
          f"{s.get('ServiceStatus', {}).get('DesiredTasks', '?')}",
          s["Spec"].get("Labels", {}).get("io.goswarm.image") or s["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"])
         for s in sorted(services, key=lambda s: s["Spec"]["Name"])],
        ("SERVICE", "REPLICAS", "IMAGE")))
    print()
    print(output.table(
        sorted((names.get(t["ServiceID"], t["ServiceID"][:12]), t.get("Slot", ""), hostnames.get(t.get("NodeID"), "-"),
                t["Status"]["State"], t["Status"].get("Err", "")) for t in tasks),
        ("SERVICE", "SLOT", "NODE", "STATE", "ERROR")))


ns = Collection("swarm")
ns.add_task(init)
ns.add_task(status)
ns.configure(DEFAULTS)
