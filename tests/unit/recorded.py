"""Engine payloads recorded from a real engine: tests/fixtures/engine/record.py says how they were made.

nodes.json: a one-node swarm (the engine on this host). lab-nodes.json: a lab of three netns machines
(lab-1 the manager; lab-2 with labels; lab-3 drained). service-inspect.json: fx-account, deployed by
goswarm with publish_mode: edge and 2 replicas, then updated once. services.json: it and its edge as
`services(status=True)` lists them. tasks.json: their tasks, the update's shut-down ones included.
"""
import json
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "engine"


def payload(name: str):
    """A fresh copy of a recorded payload, free to change in a test."""
    return json.loads((FIXTURES / f"{name}.json").read_text())
