"""The Docker Engine API in the words goswarm's operations use: services, tasks, nodes, swarm configs, trial
containers, images and the registry. Every `client.api` call and the engine's JSON paths that name one thing
(a node's address, a task's state, a descriptor's digest) live here, so that ops/ speaks in domain terms.

Each function takes a docker SDK client (goswarm.io.engine.client()) and answers with the engine's own
payloads (dicts, as plan/ reads them) or with the one value asked for. Errors are the SDK's: the callers
wrap them with engine.errors(...) into one line that says what they were doing.
"""
import io
import tarfile
import time
from collections.abc import Iterable
from typing import Optional

from goswarm.io import engine

# --- services ------------------------------------------------------------------------------------------


def service(client, name_or_id: str) -> Optional[dict]:
    """The service's inspect, or None when there is none."""
    return engine.unless_missing(f"inspecting service {name_or_id}", client.api.inspect_service, name_or_id)


def services(client, names: Iterable = None, ids: Iterable = None, status: bool = False) -> list:
    """Every service (names/ids: only those; a name filter also matches names that merely start with it)."""
    filters = {**({"name": list(names)} if names is not None else {}), **({"id": list(ids)} if ids else {})}
    return client.api.services(filters=filters or None, status=status)


def service_status(client, service_id: str) -> dict:
    """{RunningTasks, DesiredTasks} as the engine counts them ({} when it does not say)."""
    return next((s.get("ServiceStatus") or {} for s in services(client, ids=[service_id], status=True)), {})


def create_service(client, **arguments) -> None:
    """docker service create, from servicespec.sdk_arguments()."""
    client.api.create_service(**arguments)


def update_service(client, current: dict, **arguments) -> None:
    """docker service update of the service as `current` (its inspect) saw it: refused if it changed since."""
    client.api.update_service(current["ID"], current["Version"]["Index"], **arguments)


def roll_back_service(client, current: dict) -> None:
    """docker service rollback: the engine puts back the service's PreviousSpec.
    The SDK's update_service cannot ask for this; the Engine API can (rollback=previous)."""
    api = client.api
    response = api._post_json(api._url("/services/{0}/update", current["ID"]), data=current["Spec"],
                              params={"version": current["Version"]["Index"], "rollback": "previous"})
    api._raise_for_status(response)


def remove_service(client, service_id: str) -> None:
    client.api.remove_service(service_id)


def service_logs(client, name: str, follow: bool, tail: Optional[int]):
    """The service's stdout and stderr, as chunks of bytes (follow: until the stream is closed)."""
    return client.api.service_logs(name, stdout=True, stderr=True, follow=follow,
                                   tail=tail if tail is not None else "all", details=False)


# --- tasks ---------------------------------------------------------------------------------------------


def tasks(client, service=None, running: bool = False) -> list:
    """Tasks (service: a name, an ID or a list of them, which the engine also matches by prefix; running: only
    those the swarm wants running)."""
    filters = {**({"service": service} if service is not None else {}),
               **({"desired-state": "running"} if running else {})}
    return client.api.tasks(filters=filters or None)


def tasks_of(client, service_id: str) -> list:
    """The tasks of one service by its ID, also once the service is gone (the engine then refuses the filter)."""
    return [t for t in client.api.tasks() if t["ServiceID"] == service_id]


def task_states(tasks_: list) -> list:
    return [t["Status"]["State"] for t in tasks_]


def task_container(task: dict) -> Optional[str]:
    """The ID of the container a task runs in, once the engine has made it."""
    return (task["Status"].get("ContainerStatus") or {}).get("ContainerID")


# --- nodes ---------------------------------------------------------------------------------------------


def nodes(client) -> list:
    return client.api.nodes()


def node_state(client, node_id: str) -> str:
    """ready, down, unknown or disconnected, as the managers see it."""
    return client.api.inspect_node(node_id)["Status"]["State"]


def down_node_ids(client) -> set:
    """The IDs of the nodes the managers see as down: their tasks keep their last reported state forever."""
    return {n["ID"] for n in nodes(client) if n["Status"]["State"] == "down"}


def node_addresses(client) -> dict:
    """Node ID -> the address it joined with."""
    return {n["ID"]: n["Status"]["Addr"] for n in nodes(client)}


def set_node_availability(client, node: dict, availability: str) -> None:
    """active, pause or drain, for `node` as its inspect saw it."""
    client.api.update_node(node["ID"], node["Version"]["Index"], {**node["Spec"], "Availability": availability})


def remove_node(client, node_id: str) -> None:
    client.api.remove_node(node_id, force=True)


# --- swarm configs (goswarm's deploy lock and release history are swarm configs) ------------------------


def swarm_config(client, name_or_id: str, doing: str = "") -> Optional[dict]:
    """The swarm config's inspect, or None when there is none."""
    return engine.unless_missing(doing or f"inspecting swarm config {name_or_id}", client.api.inspect_config,
                                 name_or_id)


def create_swarm_config(client, name: str, data: bytes, labels: dict) -> str:
    """Its ID. An APIError with status 409 when one of that name exists."""
    return client.api.create_config(name, data, labels=labels)["ID"]


def remove_swarm_config(client, config_id: str, doing: str = "") -> bool:
    """False: it was already gone."""
    return engine.unless_missing(doing or f"removing swarm config {config_id}", client.api.remove_config,
                                 config_id) is not None


# --- containers (init's and the rollout's trial runs) ---------------------------------------------------


def containers(client, label: str) -> list:
    """Every container with the label (KEY or KEY=VALUE), running or not."""
    return client.api.containers(all=True, filters={"label": label})


def create_container(client, **settings) -> str:
    """The new container's ID (not started). docker.errors.ImageNotFound when the engine lacks the image."""
    return client.api.create_container(**settings)["Id"]


def start_container(client, container: str, files: bytes = None) -> None:
    """Start it, with `files` (a tar archive) put into its root first."""
    if files:
        put_files(client, container, files)
    client.api.start(container)


def put_files(client, container: str, archive: bytes) -> None:
    """Put a tar's files into the container's root, running or not; a file there is replaced (a program that
    runs from it keeps the old one)."""
    client.api.put_archive(container, "/", archive)


def signal_container(client, container: str, signal: str) -> None:
    """Send a signal to the container's PID 1, like docker kill -s."""
    client.api.kill(container, signal)


def processes(client, container: str) -> list:
    """(pid, command line) of each process in the running container, as the engine's `top` lists them."""
    found = client.api.top(container)
    titles = found.get("Titles") or []
    pid, command = titles.index("PID"), len(titles) - 1  # ps lists CMD (or COMMAND) last
    return [(row[pid], row[command]) for row in found.get("Processes") or []]


def remove_container(client, container: str) -> None:
    """Kill and remove it. Already gone, or being removed by another run (a 409 from the engine), is as good."""
    docker = engine.sdk()

    def remove(container_id):
        try:
            client.api.remove_container(container_id, force=True)
        except docker.errors.APIError as e:
            if e.status_code != 409:
                raise

    engine.unless_missing(f"removing container {container[:12]}", remove, container)


def container_state(client, container: str) -> Optional[dict]:
    """Its State (Status, ExitCode, Health…), or None when it is gone."""
    found = engine.unless_missing(f"inspecting container {container[:12]}", client.api.inspect_container, container)
    return (found.get("State") or {}) if found is not None else None


def run_in(client, container: str, argv: list) -> tuple:
    """(exit code, what it printed) of argv run inside the running container, like docker exec."""
    run = client.api.exec_create(container, argv)["Id"]
    said = client.api.exec_start(run).decode(errors="replace")
    return client.api.exec_inspect(run).get("ExitCode"), said


def run_detached_in(client, container: str, argv: list, timeout: float, every: float = 0.01) -> Optional[int]:
    """The exit code of argv run inside the running container, started detached and polled (None when it still
    ran after `timeout` s). Its output is not kept. Unlike run_in, this sends no hijacked stream, which ends the
    connection that carried it. Over SSH each new connection is a channel and a `docker system dial-stdio` on
    the node, about 0.3 s, while a poll on the kept one takes a few ms."""
    run = client.api.exec_create(container, argv, stdout=False, stderr=False)["Id"]
    client.api.exec_start(run, detach=True)
    deadline = time.monotonic() + timeout
    while True:
        state = client.api.exec_inspect(run)
        if not state.get("Running") and state.get("ExitCode") is not None:
            return state["ExitCode"]
        if time.monotonic() > deadline:
            return None
        time.sleep(every)


def read_in(client, container: str, path: str) -> Optional[bytes]:
    """The file at `path` in the container, or None when it has none."""
    docker = engine.sdk()
    try:
        stream, _ = client.api.get_archive(container, path)
    except docker.errors.NotFound:
        return None
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
        member = tar.next()
        found = tar.extractfile(member) if member is not None else None
        return found.read() if found is not None else None


# --- networks ------------------------------------------------------------------------------------------


def network(client, name: str) -> Optional[dict]:
    """The network's inspect, or None when there is none."""
    return engine.unless_missing(f"inspecting network {name}", client.api.inspect_network, name)


# --- images and the registry ---------------------------------------------------------------------------


def tag(client, image_id: str, repository: str, tag_: str) -> None:
    client.api.tag(image_id, repository, tag_)


def image(client, ref: str) -> dict:
    """The image's inspect."""
    return client.api.inspect_image(ref)


def build(client, **arguments):
    """docker build, as decoded events (the SDK's APIClient.build arguments)."""
    return client.api.build(decode=True, **arguments)


def import_image(client, layer: bytes, repository: str, tag_: str, changes: list):
    """docker import of one layer: the engine's last answer (a dict, or its text)."""
    return client.api.import_image_from_data(layer, repository=repository, tag=tag_, changes=changes)


def push(client, repository: str, tag_: str):
    """docker push, as decoded events."""
    return client.api.push(repository, tag_, stream=True, decode=True)


def add_images(client, tarball) -> None:
    """docker load of a `docker save` tarball (bytes or a file; plain or gzipped)."""
    client.api.load_image(tarball)


def registry_descriptor(client, ref: str) -> dict:
    """What the registry holds under ref, asked through the engine (its credentials): the descriptor, with
    `digest` and `mediaType`. An APIError when the registry does not have it or refuses."""
    return client.api.inspect_distribution(ref)["Descriptor"]


def registry_digest(client, ref: str) -> str:
    return registry_descriptor(client, ref)["digest"]


# --- the client ----------------------------------------------------------------------------------------


def set_read_timeout(client, seconds: float) -> None:
    """A hung engine then fails a call after `seconds` instead of freezing its caller."""
    client.api.timeout = seconds
