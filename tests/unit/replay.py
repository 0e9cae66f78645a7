"""An engine that answers from recorded payloads (tests/fixtures/engine), through the real docker SDK.

`engine()` is a docker.DockerClient like the ones goswarm.io.engine makes, with a transport mounted on it
that serves the recorded JSON for the Engine API paths it knows, as a real engine would (filters, 404s),
and keeps every request it was sent, so that a test can say what an operation asked the engine to do.
Nothing of goswarm is patched: the operations run as they do against a real engine, down to the SDK's
HTTP requests.
"""
import json
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import docker
import requests

from .recorded import payload

BASE = "http://replay.invalid:2375"
VERSION = "1.41"  # what the recorded engine (20.10) speaks


@dataclass
class Request:
    method: str
    path: str  # without the version prefix: /services/ID/update
    query: dict  # name -> its one value (JSON filters decoded)
    body: object  # decoded JSON, or None


@dataclass
class Recorded:
    """What the engine holds: the recorded payloads, which a test may change first."""

    services: list = field(default_factory=lambda: payload("services"))
    inspect: dict = field(default_factory=lambda: payload("service-inspect"))
    tasks: list = field(default_factory=lambda: payload("tasks"))
    nodes: list = field(default_factory=lambda: payload("nodes"))
    containers: dict = field(default_factory=dict)  # ID -> inspect
    listed: list = field(default_factory=list)  # what GET /containers/json lists
    configs: list = field(default_factory=list)  # swarm configs: what GET /configs lists, POST adds to
    taken: set = field(default_factory=set)  # config names another run creates just before this one does
    sent: list = field(default_factory=list)  # every Request, in order

    def writes(self) -> list:
        return [r for r in self.sent if r.method != "GET"]


class _Adapter(requests.adapters.BaseAdapter):
    def __init__(self, state: Recorded):
        super().__init__()
        self.state = state

    def send(self, request, **kwargs):
        url = urlsplit(request.url)
        path = re.sub(r"^/v[0-9.]+", "", url.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if "filters" in query:
            query["filters"] = json.loads(query["filters"])
        body = json.loads(request.body) if request.body else None
        self.state.sent.append(Request(request.method, path, query, body))
        status, answer = _answer(self.state, request.method, path, query, body)
        response = requests.Response()
        response.status_code, response.url, response.request = status, request.url, request
        response.headers["Content-Type"] = "application/json"
        response._content = json.dumps(answer).encode()
        response.encoding = "utf-8"
        return response

    def close(self):
        pass


def _values(filters: dict, key: str) -> list:
    value = (filters or {}).get(key)
    if value is None:
        return []
    return list(value) if isinstance(value, (list, dict)) else [value]


def _labelled(labels: dict, wanted: str) -> bool:
    key, equals, value = wanted.partition("=")
    return key in labels and (not equals or labels[key] == value)


def _service_matches(service: dict, wanted: list) -> bool:
    """As the engine filters by `service`: an ID, or a name (also a prefix of one)."""
    return any(service["ID"] == w or service["Spec"]["Name"].startswith(w) for w in wanted)


def _answer(state: Recorded, method: str, path: str, query: dict, body=None) -> tuple:
    filters = query.get("filters")
    if method == "GET" and path == "/services":
        names, ids = _values(filters, "name"), _values(filters, "id")
        return 200, [s for s in state.services if (not names or _service_matches(s, names))
                     and (not ids or s["ID"] in ids)]
    if method == "GET" and (found := re.fullmatch(r"/services/([^/]+)", path)):
        wanted = found.group(1)
        if wanted in (state.inspect["ID"], state.inspect["Spec"]["Name"]):
            return 200, state.inspect
        return 404, {"message": f"service {wanted} not found"}
    if method == "GET" and path == "/tasks":
        wanted = _values(filters, "service")
        by_id = {s["ID"]: s for s in state.services}
        running = "running" in _values(filters, "desired-state")
        return 200, [t for t in state.tasks
                     if (not wanted or _service_matches(by_id.get(t["ServiceID"], {"ID": t["ServiceID"],
                                                                                    "Spec": {"Name": ""}}), wanted))
                     and (not running or t["DesiredState"] == "running")]
    if method == "GET" and path == "/nodes":
        return 200, state.nodes
    if method == "GET" and (found := re.fullmatch(r"/nodes/([^/]+)", path)):
        node = next((n for n in state.nodes if found.group(1) in (n["ID"], n["Description"]["Hostname"])), None)
        return (200, node) if node else (404, {"message": f"node {found.group(1)} not found"})
    if method == "GET" and path == "/containers/json":
        labels = _values(filters, "label")
        return 200, [c for c in state.listed if all(_labelled(c.get("Labels") or {}, w) for w in labels)]
    if method == "DELETE" and (found := re.fullmatch(r"/containers/([^/]+)", path)):
        known = found.group(1) in state.containers or any(c["Id"] == found.group(1) for c in state.listed)
        return (204, None) if known else (404, {"message": f"No such container: {found.group(1)}"})
    if method == "GET" and (found := re.fullmatch(r"/containers/([^/]+)/json", path)):
        container = state.containers.get(found.group(1))
        return (200, container) if container else (404, {"message": f"No such container: {found.group(1)}"})
    if method == "GET" and path == "/configs":
        labels, names = _values(filters, "label"), _values(filters, "name")
        return 200, [c for c in state.configs if all(_labelled(c["Spec"].get("Labels") or {}, w) for w in labels)
                     and (not names or any(c["Spec"]["Name"].startswith(n) for n in names))]
    if method == "POST" and path == "/configs/create":
        name = body["Name"]
        if name in state.taken or any(c["Spec"]["Name"] == name for c in state.configs):
            if name in state.taken:  # the other run's config is there now
                state.configs.append({"ID": f"other-{name}", "Spec": {**body, "Name": name}})
                state.taken.discard(name)
            return 409, {"message": f"rpc error: code = AlreadyExists desc = config {name} already exists"}
        state.configs.append({"ID": f"id-{name}", "Spec": body})
        return 201, {"ID": f"id-{name}"}
    if method == "POST" and re.fullmatch(r"/(services|nodes)/[^/]+/update", path):
        return 200, {"Warnings": None}
    if method == "POST" and path == "/services/create":
        return 201, {"ID": "new0service0id0000000000", "Warnings": None}
    if method == "DELETE" and re.fullmatch(r"/(services|nodes)/[^/]+", path):
        return 200, None
    return 501, {"message": f"the replay engine has no answer recorded for {method} {path}"}


def engine(state: Recorded = None):
    """(a DockerClient answering from `state`, that state)."""
    state = state or Recorded()
    client = docker.DockerClient(base_url=BASE.replace("http://", "tcp://"), version=VERSION)
    client.api.mount(BASE, _Adapter(state))
    return client, state
