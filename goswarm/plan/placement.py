"""Can swarm place a service's tasks? Judged before anything changes, from the nodes' inspects. Pure.

The engine does not roll back an update whose new task is never placed: the old task is already gone
(stop-first) and the new one waits in "pending" forever. So the plan refuses what the scheduler would
refuse: constraints no node meets, platforms no node runs, and more host-mode tasks than nodes.
Constraints follow swarmkit's rules: `==` and `!=`, values compared case-insensitively, a missing label
reads as the empty string, and a key swarm does not know matches no node.
"""
import ipaddress
import re
from dataclasses import dataclass
from typing import Optional

from goswarm.plan import platforms

_CONSTRAINT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*(==|!=)\s*(\S(?:.*\S)?)\s*$")
ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "armv6l": "arm", "i386": "386", "i686": "386"}


@dataclass(frozen=True)
class Constraint:
    text: str
    key: str
    op: str
    value: str

    def matches(self, node: dict) -> bool:
        found = attribute(node, self.key)
        if found is None:  # a key swarm does not know: the scheduler places nothing
            return False
        if self.key.lower() == "node.ip":
            same = _same_ip(found, self.value)
        else:
            same = found.lower() == self.value.lower()
        return same if self.op == "==" else not same


def parse(text: str) -> Constraint:
    found = _CONSTRAINT.match(text or "")
    if not found:
        raise ValueError(f"constraint {text!r} is not KEY==VALUE or KEY!=VALUE, e.g. node.role==manager")
    return Constraint(text.strip(), *found.groups())


def attribute(node: dict, key: str) -> Optional[str]:
    """A node's value for a constraint key, as swarm reads it; None for a key it does not know."""
    spec, description = node.get("Spec") or {}, node.get("Description") or {}
    lowered = key.lower()
    if lowered.startswith("node.labels.") and len(key) > len("node.labels."):
        return (spec.get("Labels") or {}).get(key[len("node.labels."):], "")  # label names are case-sensitive
    if lowered.startswith("engine.labels.") and len(key) > len("engine.labels."):
        return ((description.get("Engine") or {}).get("Labels") or {}).get(key[len("engine.labels."):], "")
    return {
        "node.id": node.get("ID", ""),
        "node.hostname": description.get("Hostname", ""),
        "node.role": spec.get("Role", ""),
        "node.ip": (node.get("Status") or {}).get("Addr", ""),
        "node.platform.os": (description.get("Platform") or {}).get("OS", ""),
        "node.platform.arch": (description.get("Platform") or {}).get("Architecture", ""),
    }.get(lowered)


def _same_ip(address: str, value: str) -> bool:
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False


def node_platform(node: dict) -> platforms.Platform:
    found = (node.get("Description") or {}).get("Platform") or {}
    arch = found.get("Architecture", "")
    return platforms.Platform(found.get("OS", "linux").lower(), ARCH.get(arch, arch))


def name(node: dict, names: dict) -> str:
    return names.get(node.get("ID")) or (node.get("Description") or {}).get("Hostname") or node.get("ID", "?")[:12]


def usable(nodes: list) -> list:
    """The nodes the scheduler gives tasks to: ready and active."""
    return [n for n in nodes if (n.get("Status") or {}).get("State") == "ready"
            and (n.get("Spec") or {}).get("Availability", "active") == "active"]


def offer(nodes: list, key: str, names: dict) -> str:
    """What the nodes have for a key, in words: `lab-1: manager, lab-2: worker`."""
    parts = []
    for node in nodes:
        value = attribute(node, key)
        parts.append(f"{name(node, names)}: {value if value else 'none'}")
    return ", ".join(parts)


def refusal(service, nodes: list, built: list, names: dict = None) -> Optional[str]:
    """Why the scheduler could not place this service's (a config.Service) tasks, in one line; None when it can.

    built: the platforms its image was built for (a node of another platform cannot run it); empty for an
    image goswarm did not build, whose platforms the engine judges.
    names: node id -> a name the user knows (its machine), else its hostname is used.
    """
    names = names or {}
    unavailable = [f"{name(n, names)} is {n['Status']['State'] if n['Status'].get('State') != 'ready' else 'drained'}"
                   for n in nodes if n not in usable(nodes)]
    candidates = usable(nodes)
    why_not = f" ({'; '.join(unavailable)})" if unavailable else ""
    if not candidates:
        return f"{service.name} cannot be placed: no node is ready and active{why_not}"
    for text in service.constraints:
        try:
            constraint = parse(text)
        except ValueError as e:
            return f"{service.name}: {e}"
        if attribute(candidates[0], constraint.key) is None:
            return (f"{service.name}: constraint {text!r} names {constraint.key!r}, which swarm does not know; use "
                    f"node.id, node.hostname, node.role, node.ip, node.platform.os, node.platform.arch, "
                    f"node.labels.NAME or engine.labels.NAME")
        left = [n for n in candidates if constraint.matches(n)]
        if not left:
            return (f"{service.name} cannot be placed: no node meets {text!r} "
                    f"({constraint.key} of the nodes: {offer(candidates, constraint.key, names)}){why_not}")
        candidates = left
    runnable = [n for n in candidates if any((p.os, p.arch) == (node_platform(n).os, node_platform(n).arch)
                                             for p in built)] if built else candidates
    if built and not runnable:
        offered = ", ".join(f"{name(n, names)}: {node_platform(n)}" for n in candidates)
        return (f"{service.name} cannot be placed: it is built for {', '.join(map(str, built))}, and the nodes "
                f"it may use run {offered}; add their platform to build.platforms")
    if service.publishes is not None and service.publish_mode == "host" and not service.global_mode \
            and service.replicas > len(runnable):
        return (f"{service.name} cannot be placed: {service.replicas} replicas with host-mode port {service.publish} "
                f"need {service.replicas} nodes (one task per node and port), and {len(runnable)} can take one "
                f"({', '.join(name(n, names) for n in runnable)}){why_not}; lower replicas, or use publish_mode: edge")
    return None
