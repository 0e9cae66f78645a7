"""What the swarm holds, read once per run: its nodes, the services and their tasks, the overlay network.

A no-op redeploy decides "no change" from one snapshot, in a fixed number of API calls whatever the number of
services: one list of services (the list gives what each inspect gives) and one of their tasks, where asking
per service costs two or three calls each. A run that has something to change reads a fresh one under the lock.
"""
from dataclasses import dataclass
from typing import Optional

from goswarm.io import engine, engineapi
from goswarm.ops import swarm


@dataclass(frozen=True)
class Snapshot:
    nodes: list  # the engine's node records
    services: dict  # name -> the service as inspect gives it
    tasks: list  # the tasks of those services
    network: str  # the overlay network's id

    def service(self, name: str) -> Optional[dict]:
        return self.services.get(name)

    def tasks_of(self, service: dict) -> list:
        return [t for t in self.tasks if t.get("ServiceID") == service["ID"]]

    def down(self) -> set:
        """Ids of the nodes the manager sees as down."""
        return {n["ID"] for n in self.nodes if n["Status"]["State"] == "down"}


def by_name(services: list, names) -> dict:
    """name -> service, for the names asked about (the engine's name filter also matches prefixes). Pure."""
    wanted = set(names)
    return {s["Spec"]["Name"]: s for s in services if s["Spec"]["Name"] in wanted}


def read(client, network: str, names, nodes: Optional[list] = None) -> Snapshot:
    """The nodes (unless given: read earlier in the same run), the services named and their tasks, the network."""
    names = sorted(set(names))
    with engine.errors("listing the swarm's nodes"):
        nodes = engineapi.nodes(client) if nodes is None else nodes
    with engine.errors("listing services"):
        services = by_name(engineapi.services(client, names), names) if names else {}
    with engine.errors("listing tasks"):
        tasks = engineapi.tasks(client, sorted(services)) if services else []
    return Snapshot(nodes, services, tasks, swarm.network_id(client, network))
