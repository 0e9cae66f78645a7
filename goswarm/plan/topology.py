"""The swarm as `goswarm viz` shows it: node, service and task payloads in, a view model out, and the
same picture as an SVG string. Pure: the engine's payloads and the time come in as plain values.

The view model is plain JSON data (the page renders it in the browser). It holds no age, only when each
state began, so that it stays equal while nothing changes: the server pushes only on change.
"""
import hashlib
from datetime import datetime, timezone
from typing import Optional
from xml.sax.saxutils import escape

from goswarm.plan.servicespec import LABEL

# Tasks the swarm still wants, or is still bringing up or down.
CURRENT = ("new", "pending", "assigned", "accepted", "preparing", "ready", "starting", "running")
TROUBLE = ("failed", "rejected", "orphaned")
RECENT = 300  # seconds a failed or rejected task stays on the page after it ended
# No red: a red border means trouble.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#17a589", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf", "#393b79", "#637939")


def epoch(stamp: Optional[str]) -> Optional[float]:
    """An engine timestamp (RFC 3339 with nanoseconds) as seconds since the epoch; None for none."""
    if not stamp or stamp.startswith("0001-"):
        return None
    head, _, rest = stamp.rstrip("Z").partition(".")
    fraction = "".join(ch for ch in rest if ch.isdigit())[:6]
    offset = rest[len(fraction):] if rest and not rest[-1:].isdigit() else ""
    parsed = datetime.fromisoformat(f"{head}.{fraction or '0'}{offset}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def colour(service: str) -> str:
    """A service's colour: the same on every render and every page."""
    return PALETTE[int(hashlib.sha256(service.encode()).hexdigest(), 16) % len(PALETTE)]


def image_parts(spec: dict) -> tuple:
    """(name:tag, short digest) of a service or task spec: goswarm's label names the image that a local
    image id or a pushed digest stands for."""
    labels = spec.get("Labels") or {}
    ref = ((spec.get("TaskTemplate") or spec).get("ContainerSpec") or {}).get("Image", "")
    name, _, digest = ref.partition("@")
    if ref.startswith("sha256:"):
        name, digest = "", ref
    name = labels.get(f"{LABEL}.image") or name or "(local image)"
    return name, digest.replace("sha256:", "")[:12]


def age(seconds: Optional[float]) -> str:
    """12s, 4m, 3h, 2d."""
    if seconds is None:
        return ""
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def container_id(task: dict) -> str:
    return ((task["Status"].get("ContainerStatus") or {}).get("ContainerID")) or ""


def health(task: dict, checked: bool, check: Optional[dict] = None) -> str:
    """What the swarm says of the task's health check. The engine counts a task with a check as running
    only once it is healthy, and fails it when it turns unhealthy. check: the container's own health
    record, where it was read (see `ended_unhealthy`)."""
    state, err = task["Status"]["State"], task["Status"].get("Err", "")
    if "unhealthy" in err or (check or {}).get("status") == "unhealthy":
        return "unhealthy"
    if not checked:
        return "no check"
    if state == "running":
        return "healthy"
    if state == "starting":
        return "starting"
    return ""


def _checked(container: dict) -> bool:
    test = (container.get("Healthcheck") or {}).get("Test")
    return bool(test) and test != ["NONE"]


def _ports(task: dict, service: dict) -> list:
    """Where the task is published: its own host-mode ports, else the service's routing-mesh ports."""
    ports = ((task["Status"].get("PortStatus") or {}).get("Ports")) or []
    ports = ports or ((service.get("Endpoint") or {}).get("Ports")) or []
    seen = []
    for p in ports:
        text = f"{p.get('PublishedPort')}->{p.get('TargetPort')}/{p.get('PublishMode', 'ingress')}"
        if text not in seen:
            seen.append(text)
    return seen


def is_edge(service: dict) -> bool:
    """goswarm's edge proxy for an app in publish_mode: edge (one task per node, named <app>-edge)."""
    spec = service["Spec"]
    return spec["Name"].endswith("-edge") and "Global" in (spec.get("Mode") or {})


def releases(service: dict) -> dict:
    """The image reference of the service's spec and of its previous one -> goswarm's name for it: during an
    update, old and new tasks run different releases, and a task's own spec holds only the reference."""
    known = {}
    for spec in (service.get("PreviousSpec"), service["Spec"]):
        if spec:
            ref = ((spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("Image", "")
            named = (spec.get("Labels") or {}).get(f"{LABEL}.image")
            if ref and named:
                known[ref] = named
    return known


def task_image(task: dict, service: dict) -> tuple:
    container = (task.get("Spec") or {}).get("ContainerSpec") or {}
    named = releases(service).get(container.get("Image", ""))
    return image_parts({"Labels": {f"{LABEL}.image": named} if named else {}, "ContainerSpec": container})


def ended_unhealthy(task: dict, checks: dict) -> bool:
    """A task whose container the engine stopped for failing its health check. When the program exits 0 on
    that SIGTERM (as a service that drains does), the engine records the task as "complete" with no error:
    only the container's own health record tells why. checks: container id -> {"status", "output"}."""
    return task["Status"]["State"] == "complete" and checks.get(container_id(task), {}).get("status") == "unhealthy"


def card(task: dict, service: dict, checks: Optional[dict] = None) -> dict:
    spec = service["Spec"]
    status = task["Status"]
    image, digest = task_image(task, service)
    state = status["State"]
    check = (checks or {}).get(container_id(task))
    reason = ""
    if state in (*TROUBLE, "pending") or task["DesiredState"] == "shutdown" and status.get("Err"):
        reason = status.get("Err") or status.get("Message", "")
    if check and check.get("status") == "unhealthy" and state not in CURRENT:
        said = f"health check failed: {check.get('output') or 'no output'}"
        reason = f"{reason}; {said}" if reason else said
    return {
        "id": task["ID"],
        "service": spec["Name"],
        "slot": task.get("Slot") or "",
        "node": task.get("NodeID") or "",
        "image": image,
        "digest": digest,
        "state": state,
        "desired": task["DesiredState"],
        "since": epoch(status.get("Timestamp")),
        "health": health(task, _checked((task.get("Spec") or {}).get("ContainerSpec") or {}), check),
        "ports": _ports(task, service),
        "error": reason,
        "colour": colour(spec["Name"]),
        "edge": is_edge(service),
    }


def ended_recently(task: dict, now: float) -> bool:
    ended = epoch(task["Status"].get("Timestamp")) or 0
    return now - ended <= RECENT and task["Status"]["State"] not in CURRENT


def shown_tasks(tasks: list, now: float, checks: Optional[dict] = None) -> list:
    """The tasks the swarm wants now, and per slot the last one that failed, was rejected or was stopped
    by its health check in the last RECENT seconds (what the visualizer hides: why a replica is missing)."""
    checks = checks or {}
    current = [t for t in tasks if t["DesiredState"] != "shutdown" and t["Status"]["State"] in CURRENT]
    latest = {}
    for t in tasks:
        if t["Status"]["State"] not in TROUBLE and not ended_unhealthy(t, checks):
            continue
        ended = epoch(t["Status"].get("Timestamp")) or 0
        if now - ended > RECENT:
            continue
        key = (t["ServiceID"], t.get("Slot") or t.get("NodeID"))
        if key not in latest or (epoch(latest[key]["Status"].get("Timestamp")) or 0) < ended:
            latest[key] = t
    return current + list(latest.values())


def _networks(tasks: list, services: dict) -> list:
    found = {}
    for t in tasks:
        for attachment in t.get("NetworksAttachments") or []:
            net = attachment.get("Network") or {}
            name = (net.get("Spec") or {}).get("Name")
            if not name or (net.get("Spec") or {}).get("Ingress"):
                continue
            driver = ((net.get("DriverState") or {}).get("Name")) or "overlay"
            entry = found.setdefault(name, {"name": name, "driver": driver, "services": []})
            service = services.get(t["ServiceID"])
            if service and service["Spec"]["Name"] not in entry["services"]:
                entry["services"].append(service["Spec"]["Name"])
    for entry in found.values():
        entry["services"].sort()
    return sorted(found.values(), key=lambda n: n["name"])


def _node(node: dict, names: dict) -> dict:
    manager = node.get("ManagerStatus") or {}
    return {
        "id": node["ID"],
        "name": names.get(node["ID"]) or node["Description"]["Hostname"],
        "role": node["Spec"].get("Role", ""),
        "leader": bool(manager.get("Leader")),
        "availability": node["Spec"].get("Availability", ""),
        "state": node["Status"]["State"],
        "engine": ((node.get("Description") or {}).get("Engine") or {}).get("EngineVersion", ""),
        "addr": node["Status"].get("Addr") or manager.get("Addr", "").rsplit(":", 1)[0],
        "tasks": [],
    }


def _service(service: dict) -> dict:
    spec = service["Spec"]
    counts = service.get("ServiceStatus") or {}
    image, digest = image_parts(spec)
    mode = spec.get("Mode") or {}
    return {
        "name": spec["Name"],
        "colour": colour(spec["Name"]),
        "image": image,
        "digest": digest,
        "mode": "global" if "Global" in mode else "replicated",
        "running": counts.get("RunningTasks"),
        "desired": counts.get("DesiredTasks"),
        "edge": is_edge(service),
        "edge_for": spec["Name"][:-len("-edge")] if is_edge(service) else "",
        "ports": sorted({f"{p.get('PublishedPort')}->{p.get('TargetPort')}/{p.get('PublishMode', 'ingress')}"
                         for p in (spec.get("EndpointSpec") or {}).get("Ports") or []}),
        "updating": ((service.get("UpdateStatus") or {}).get("State") or ""),
    }


def model(nodes: list, services: list, tasks: list, now: float, names: Optional[dict] = None,
          checks: Optional[dict] = None) -> dict:
    """The view model: nodes as columns (managers first) with their tasks as cards, tasks no node took in
    a column of their own, the services (the legend) and the networks they share.

    names: node id -> a display name (a machine's name); else the node's hostname. checks: container id ->
    its health record ({"status", "output"}) for tasks that ended, where it could be read."""
    names = names or {}
    by_id = {s["ID"]: s for s in services}
    columns = {n["ID"]: _node(n, names) for n in nodes}
    pending = []
    for t in shown_tasks([t for t in tasks if t["ServiceID"] in by_id], now, checks):
        c = card(t, by_id[t["ServiceID"]], checks)
        (columns[c["node"]]["tasks"] if c["node"] in columns else pending).append(c)
    for column in [*columns.values()]:
        column["tasks"].sort(key=_card_order)
    pending.sort(key=_card_order)
    ordered = sorted(columns.values(), key=lambda n: (n["role"] != "manager", n["name"]))
    return {
        "error": None,
        "nodes": ordered,
        "pending": pending,
        "services": sorted((_service(s) for s in services), key=lambda s: s["name"]),
        "networks": _networks(tasks, by_id),
    }


def _card_order(c: dict):
    return c["service"], str(c["slot"]), c["state"] not in CURRENT, c["id"]


def unreachable(reason: str, last: Optional[dict] = None) -> dict:
    """The model while the engine does not answer: the reason, over the last picture seen (if any)."""
    base = dict(last or {"nodes": [], "pending": [], "services": [], "networks": []})
    return {**base, "error": reason}


def count_cards(view: dict) -> int:
    return sum(len(n["tasks"]) for n in view["nodes"]) + len(view["pending"])


# --- the SVG snapshot -------------------------------------------------------

COLUMN, GAP, CARD, HEADER, LINE = 250, 16, 112, 92, 15


def _text(x, y, value, size=12, weight="normal", fill="#222", anchor="start") -> str:
    return (f'<text x="{x}" y="{y}" font-size="{size}" font-weight="{weight}" fill="{fill}" '
            f'text-anchor="{anchor}">{escape(str(value))}</text>')


def card_lines(c: dict, now: float) -> list:
    """The text of a card, line by line (the page shows the same)."""
    lines = [f"{c['service']}{'.' + str(c['slot']) if c['slot'] else ''}{'  (edge)' if c['edge'] else ''}",
             c["image"], *([f"@{c['digest']}"] if c["digest"] else []),
             f"{c['state']} {age(now - c['since']) if c['since'] else ''}".strip()
             + (f" · {c['health']}" if c["health"] else "")]
    if c["ports"]:
        lines.append("port " + ", ".join(c["ports"]))
    if c["error"]:
        lines.append(c["error"])
    return lines


def _short(text: str, width: int) -> str:
    limit = max(8, width // 7)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _card_svg(c: dict, x: int, y: int, now: float) -> str:
    trouble = c["state"] in TROUBLE or c["state"] == "pending" or c["health"] == "unhealthy"
    lines = card_lines(c, now)
    parts = [f'<g class="card" data-service="{escape(c["service"])}">',
             f'<rect x="{x}" y="{y}" width="{COLUMN - 16}" height="{CARD - 8}" rx="6" fill="#fff" '
             f'stroke="{"#d62728" if trouble else c["colour"]}" stroke-width="{3 if trouble else 1.5}"/>',
             f'<rect x="{x}" y="{y}" width="6" height="{CARD - 8}" rx="3" fill="{c["colour"]}"/>']
    for i, line in enumerate(lines[:7]):
        fill = "#b00" if c["error"] and i == len(lines) - 1 else "#666" if line.startswith("@") else "#222"
        parts.append(_text(x + 12, y + 16 + i * LINE, _short(line, COLUMN - 30), 11 if i else 12,
                           "bold" if i == 0 else "normal", fill))
    parts.append("</g>")
    return "".join(parts)


def svg(view: dict, now: float) -> str:
    """The picture as one SVG document: a column per node (and one for tasks no node took), a card per
    task, the legend of services by colour and the overlay networks; the engine's error as a banner."""
    columns = [(n, n["tasks"]) for n in view["nodes"]]
    if view["pending"]:
        columns.append(({"name": "not on any node", "role": "pending", "availability": "", "state": "",
                         "engine": "", "addr": "tasks waiting for a node", "leader": False}, view["pending"]))
    top = 50 if view.get("error") else 10
    tallest = max([len(tasks) for _, tasks in columns] + [1])
    legend_y = top + HEADER + tallest * CARD + 20
    legend_rows = len(view["services"]) + len(view["networks"]) + 1
    width = max(len(columns) * (COLUMN + GAP) + GAP, 900)
    height = legend_y + legend_rows * 18 + 20
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="DejaVu Sans, Arial, sans-serif">',
           f'<rect width="{width}" height="{height}" fill="#f4f5f7"/>']
    if view.get("error"):
        out.append(f'<rect x="0" y="0" width="{width}" height="40" fill="#d62728"/>')
        out.append(_text(GAP, 25, _short(f"engine unreachable: {view['error']}", width - 2 * GAP), 14, "bold",
                         "#fff"))
    for i, (node, tasks) in enumerate(columns):
        x = GAP + i * (COLUMN + GAP)
        pending = node["role"] == "pending"
        out.append(f'<rect x="{x}" y="{top}" width="{COLUMN}" height="{HEADER + max(len(tasks), 1) * CARD}" '
                   f'rx="8" fill="{"#fff7e6" if pending else "#e9ecf1"}" stroke="#c5cad3"/>')
        role = node["role"] + (" (leader)" if node.get("leader") else "")
        out.append(_text(x + 10, top + 22, _short(node["name"], COLUMN - 20), 15, "bold"))
        if not pending:
            down = node["state"] != "ready" or node["availability"] != "active"
            out.append(_text(x + 10, top + 40, f"{role} · {node['availability']} · {node['state']}", 11, "normal",
                             "#b00" if down else "#333"))
            out.append(_text(x + 10, top + 56, f"{node['addr']} · engine {node['engine']}", 11, "normal", "#555"))
        else:
            out.append(_text(x + 10, top + 40, node["addr"], 11, "normal", "#8a5a00"))
        for j, c in enumerate(tasks):
            out.append(_card_svg(c, x + 8, top + HEADER - 20 + j * CARD, now))
    y = legend_y
    out.append(_text(GAP, y, "services", 13, "bold"))
    for s in view["services"]:
        y += 18
        out.append(f'<rect x="{GAP}" y="{y - 11}" width="12" height="12" rx="2" fill="{s["colour"]}"/>')
        extra = f" · edge for {s['edge_for']}" if s["edge"] else ""
        ports = f" · port {', '.join(s['ports'])}" if s["ports"] else ""
        out.append(_text(GAP + 18, y, f"{s['name']}  {s['running']}/{s['desired']}  {s['image']}{ports}{extra}", 12))
    for n in view["networks"]:
        y += 18
        out.append(_text(GAP, y, f"network {n['name']} ({n['driver']}): {', '.join(n['services'])}", 12, "normal",
                         "#333"))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def to_inspect(services: list, tasks: list, now: float, known) -> list:
    """(node id, container id) of the tasks that ended in the last RECENT seconds, with a health check, not
    failed by the engine's own word, whose health record is not in `known` yet. Pure."""
    checked = {s["ID"] for s in services
               if _checked(((s["Spec"].get("TaskTemplate") or {}).get("ContainerSpec")) or {})}
    return [(t.get("NodeID"), container_id(t)) for t in tasks
            if t["ServiceID"] in checked and container_id(t) and container_id(t) not in known
            and t["Status"]["State"] == "complete" and ended_recently(t, now)]


def health_record(state: dict) -> dict:
    """A container's health, from its inspect's State, as `checks` holds it: its status and the last check's
    output. Pure."""
    state = state.get("Health") or {}
    log = state.get("Log") or []
    output = " ".join((log[-1].get("Output") or "").split())[:200] if log else ""
    return {"status": state.get("Status", ""), "output": output}
