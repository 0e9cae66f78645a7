"""Form a swarm (one engine, or machines joining a manager), keep it, and show what runs on it."""
import dataclasses
import json
import os
from pathlib import Path

from goswarm import poll, program
from goswarm.errors import PipelineError
from goswarm.io import engine, engineapi, environment, machines
from goswarm.plan import live, output, report


def token_file(cfg) -> Path:
    """One file per swarm, named for its manager: the lab's swarm must not overwrite the host's tokens."""
    return cfg.state_dir / f"join-tokens-{swarm_slug(cfg.manager.name if cfg.manager else cfg.target_url)}.json"


def swarm_slug(target: str) -> str:
    """A file-name-safe name for a manager: a machine name, `local`, or user@host of an engine URL. Pure."""
    if target.startswith(("unix://", "npipe://")):
        return "local"
    target = target.split("://", 1)[-1]
    return "".join(ch if ch.isalnum() or ch in "@.-_" else "_" for ch in target) or "local"


def save_tokens(path: Path, tokens: dict) -> None:
    """Join tokens are credentials: 0600 from the first byte, in a directory git ignores."""
    environment.private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(tokens, f)
    os.chmod(path, 0o600)


def swarm_info(client) -> dict:
    with engine.errors("reading the engine's swarm state"):
        return client.info().get("Swarm", {})


def ensure_swarm(sh, client, addr=None) -> str:
    state = swarm_info(client).get("LocalNodeState", "inactive")
    if state == "active":
        return "swarm: already active, no change"
    if state != "inactive":
        raise PipelineError(f"this engine's swarm state is {state!r}; fix it with `docker swarm leave --force`")
    try:
        with engine.errors("initialising the swarm"):
            sh.act(f"initialise a swarm (advertise address: {addr or 'chosen by the engine'})",
                   client.swarm.init, advertise_addr=addr)
    except PipelineError as e:
        if "could not choose an IP address" in str(e):
            raise PipelineError("the engine has several addresses: pass --advertise-addr or set MANAGER_IP") from None
        raise
    return "swarm: initialised"


def ensure_network(sh, client, name: str) -> str:
    with engine.errors(f"creating network {name}"):
        existing = [n for n in client.networks.list(names=[name]) if n.name == name]
        if existing:
            driver = existing[0].attrs.get("Driver")
            if driver != "overlay":
                raise PipelineError(f"network {name} exists with driver {driver!r}, not overlay; remove it or rename")
            return f"network {name}: exists, no change"
        sh.act(f"create overlay network {name}", client.networks.create, name, driver="overlay",
               attachable=True, scope="swarm")
    return f"network {name}: created"


def join_tokens(client) -> dict:
    with engine.errors("reading the join tokens"):
        client.swarm.reload()
        tokens = client.swarm.attrs.get("JoinTokens") or {}
    if not tokens:
        raise PipelineError(f"this engine is not a swarm manager: run {program.run('swarm.init')} first")
    return {"worker": tokens["Worker"], "manager": tokens["Manager"]}


def network_id(client, name: str, missing: str = "") -> str:
    """The id of the network `name`; missing: the error when there is none (default: swarm.init makes it)."""
    with engine.errors(f"looking up network {name}"):
        found = [n for n in client.networks.list(names=[name]) if n.name == name]
    if not found:
        raise PipelineError(missing or f"overlay network {name} does not exist: run {program.run('swarm.init')} "
                                       f"first")
    return found[0].id


def extra_networks(client, service) -> dict:
    """The ids of a service's `networks:` by name; one that does not exist is one line saying how to make it."""
    return {name: network_id(client, name, f"services.{service.name}.networks: there is no network {name}: create "
                                           f"it with `docker network create --driver overlay --attachable {name}` "
                                           f"(nothing was changed)")
            for name in service.tuning.networks}


def manager_client(cfg):
    client = engine.client(cfg.target_url)
    if not swarm_info(client).get("ControlAvailable"):
        where = f"machine {cfg.manager.name}" if cfg.manager else cfg.target_url
        raise PipelineError(f"{where} is not a swarm manager: run {program.run('swarm.init')}")
    return client


def node_of(nodes: list, machine) -> dict:
    """The swarm node a machine is, matched by address (netns machines share one hostname). Pure."""
    for node in nodes:
        addr = (node.get("ManagerStatus") or {}).get("Addr", "").rsplit(":", 1)[0] or node["Status"].get("Addr")
        if machine.host in (addr, node["Status"].get("Addr")):
            return node
    return None


def down_nodes(client) -> set:
    """Ids of the nodes the manager sees as down: their tasks keep their last reported state forever."""
    return engineapi.down_node_ids(client)


def node_names(nodes: list) -> dict:
    """Node id -> machine name where one matches, else the node's hostname. Pure over the records."""
    known = {m.host: m.name for m in machines.all_machines()}
    return {n["ID"]: known.get(n["Status"].get("Addr"), n["Description"]["Hostname"]) for n in nodes}


def published(service: dict) -> list:
    """(port, mode) of each port a service publishes. Pure."""
    ports = ((service.get("Spec") or {}).get("EndpointSpec") or {}).get("Ports") or []
    return [(p["PublishedPort"], p.get("PublishMode", "ingress")) for p in ports if p.get("PublishedPort")]


def port_cell(service: dict, answers: dict) -> str:
    """`6767 host: answers`, or what the port said when its tasks run but it does not answer. Pure.
    answers: port -> "" when it accepted a connection, else what happened (refused, timed out)."""
    return ", ".join(f"{port} {mode}" + (f": {answers[port] or 'answers'}" if port in answers else "")
                     for port, mode in published(service)) or "-"


def status_tables(nodes: list, services: list, tasks: list, names: dict, answers: dict = None) -> dict:
    """{name: (rows, headers)}: nodes, services, and the running tasks per node. Pure.
    answers: what each published port said on the manager (see port_cell)."""
    node_rows = [(names[n["ID"]], n["Spec"].get("Role"), n["Spec"].get("Availability"), n["Status"]["State"],
                  n["Status"].get("Addr", ""), n.get("Description", {}).get("Engine", {}).get("EngineVersion", ""))
                 for n in sorted(nodes, key=lambda n: names[n["ID"]])]
    service_rows = []
    for s in sorted(services, key=lambda s: s["Spec"]["Name"]):
        counts = s.get("ServiceStatus", {})
        spec = s["Spec"]
        image = spec.get("Labels", {}).get("io.goswarm.image") or spec["TaskTemplate"]["ContainerSpec"]["Image"]
        if live.live_binary(spec):  # dev --live has swapped binaries into its tasks: what runs is no release
            image += " (live: no release until the next redeploy)"
        desired = counts.get("DesiredTasks", "?")
        if "Global" in (spec.get("Mode") or {}):  # engine 20.10 counts 0 desired for a global service
            desired = sum(1 for t in tasks if t["ServiceID"] == s["ID"] and t.get("DesiredState") == "running")
        service_rows.append((s["Spec"]["Name"], f"{counts.get('RunningTasks', '?')}/{desired}",
                             port_cell(s, answers or {}), image))
    service_names = {s["ID"]: s["Spec"]["Name"] for s in services}
    task_rows = sorted((service_names.get(t["ServiceID"], t["ServiceID"][:12]), t.get("Slot", ""),
                        names.get(t.get("NodeID"), "-"), t["Status"]["State"], t["Status"].get("Err", ""))
                       for t in tasks)
    return {"nodes": (node_rows, ("NODE", "ROLE", "AVAILABILITY", "STATE", "ADDRESS", "ENGINE")),
            "services": (service_rows, ("SERVICE", "REPLICAS", "PORT", "IMAGE")),
            "tasks": (task_rows, ("SERVICE", "SLOT", "NODE", "STATE", "ERROR"))}


def status_report(nodes: list, services: list, tasks: list, names: dict, answers: dict = None) -> str:
    """Three tables: nodes, services, and the running tasks per node. Pure."""
    return "\n\n".join(output.table(rows, headers) for rows, headers in
                       status_tables(nodes, services, tasks, names, answers).values())


def status_document(nodes: list, services: list, tasks: list, names: dict, answers: dict = None) -> dict:
    """The same for --json. Pure."""
    return {name: report.records(rows, headers)
            for name, (rows, headers) in status_tables(nodes, services, tasks, names, answers).items()}


def probe_ports(host: str, services: list) -> dict:
    """Does each published port of a service with a running task accept a connection on `host`? A port whose
    tasks run but that refuses has lost the engine's mapping (see plan/porthealth.py)."""
    import socket

    from goswarm import parallel

    ports = sorted({port for s in services if (s.get("ServiceStatus") or {}).get("RunningTasks")
                    for port, _ in published(s)})

    def probe(port: int) -> str:
        try:
            with socket.create_connection((host, port), timeout=1):
                return ""
        except ConnectionRefusedError:
            return "refused (the engine's mapping of the port is gone: `docker service update --force` it)"
        except OSError as e:
            return "timed out" if isinstance(e, socket.timeout) else (e.strerror or str(e))

    return dict(zip(ports, parallel.each(probe, ports, 16))) if ports else {}


def with_manager(cfg, name: str):
    """The same settings, with machine `name` as the swarm's manager (the lab forms its swarm so)."""
    return dataclasses.replace(cfg, manager_name=name)


def init(sh, cfg, advertise_addr=None) -> None:
    """Make the target engine a swarm manager, keep the join tokens, create the overlay network (idempotent)."""
    client = engine.client(cfg.target_url)
    addr = advertise_addr or (cfg.manager.host if cfg.manager else cfg.advertise_addr
                              or environment.get("MANAGER_IP") or None)
    print(ensure_swarm(sh, client, addr))
    if not sh.dry:
        save_tokens(token_file(cfg), join_tokens(client))
    print(ensure_network(sh, client, cfg.network))
    if not sh.dry:
        print(f"join tokens kept in {output.shown(token_file(cfg))} (mode 0600)")


def join(sh, cfg, name: str, role: str = "worker") -> None:
    """Join machine `name` with a token fetched from the manager (idempotent)."""
    if role not in ("worker", "manager"):
        raise PipelineError(f"--role must be worker or manager, got {role!r}")
    boss = manager_client(cfg)
    node = machines.read(name)
    client = engine.client(node.url)
    state = swarm_info(client)
    with engine.errors("listing nodes"):
        nodes = engineapi.nodes(boss)
    if state.get("LocalNodeState") == "active":
        if any(n["ID"] == state.get("NodeID") for n in nodes):
            print(f"{name}: already in the swarm, no change")
            return
        raise PipelineError(f"{name} is in another swarm: run {program.run(f'swarm.leave {name}')} first")
    manager_addr = next(n["ManagerStatus"]["Addr"] for n in nodes
                        if (n.get("ManagerStatus") or {}).get("Leader"))
    token = join_tokens(boss)[role]
    with engine.errors(f"joining {name} to the swarm"):
        sh.act(f"join {name} ({node.host}) as a {role} via {manager_addr}", client.swarm.join,
               remote_addrs=[manager_addr], join_token=token, advertise_addr=node.host)
    print(f"{name}: joined as {role}")


def leave(sh, cfg, name: str) -> None:
    """The machine leaves the swarm and its node entry is removed (idempotent)."""
    boss = manager_client(cfg)
    machine = machines.read(name)
    client = engine.client(machine.url)
    if swarm_info(client).get("LocalNodeState") != "active":
        print(f"{name}: not in a swarm, no change")
        return
    with engine.errors(f"{name} leaving the swarm"):
        sh.act(f"make {name} leave the swarm", client.swarm.leave, force=True)
        node = node_of(engineapi.nodes(boss), machine)
        if node and not sh.dry:
            poll.until(lambda: True if engineapi.node_state(boss, node["ID"]) == "down" else None,
                       20, 0.3)
            engineapi.remove_node(boss, node["ID"])
    print(f"{name}: left the swarm")


def set_availability(sh, cfg, name: str, availability: str) -> None:
    boss = manager_client(cfg)
    with engine.errors(f"setting {name} to {availability}"):
        node = node_of(engineapi.nodes(boss), machines.read(name))
        if node is None:
            raise PipelineError(f"{name} is not a node of this swarm: run {program.run(f'swarm.join {name}')}")
        if node["Spec"].get("Availability") == availability:
            print(f"{name}: already {availability}, no change")
            return
        sh.act(f"set {name} to {availability}", engineapi.set_node_availability, boss, node, availability)
    print(f"{name}: {availability}")


def status(cfg, as_json: bool = False) -> str:
    client = manager_client(cfg)
    with engine.errors("reading the swarm"):
        nodes = engineapi.nodes(client)
        services = engineapi.services(client, status=True)
        tasks = engineapi.tasks(client, running=True)
    answers = probe_ports(cfg.manager_ip, services)
    if as_json:
        return report.dumps(status_document(nodes, services, tasks, node_names(nodes), answers))
    return status_report(nodes, services, tasks, node_names(nodes), answers)
