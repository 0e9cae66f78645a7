"""ops/viz without a swarm: an engine that does not answer is a view with the reason, over the last one seen."""
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pytest

from goswarm.errors import PipelineError
from goswarm.ops import viz


@dataclass
class Target:
    target_url: str
    manager: Optional[object] = None


def test_an_engine_that_does_not_answer_is_the_views_error(tmp_path):
    reader = viz.Reader(Target(f"unix://{tmp_path}/no-engine.sock"))
    down = reader.observe()
    assert down["error"].startswith(f"cannot reach the Docker engine at unix://{tmp_path}/no-engine.sock")
    assert down["nodes"] == [] and down["pending"] == []
    last = {"error": None, "nodes": [{"id": "n", "tasks": []}], "pending": [], "services": [], "networks": []}
    kept = reader.observe(last)
    assert kept["error"] == down["error"] and kept["nodes"] == last["nodes"]
    assert reader.observe(kept)["nodes"] == last["nodes"]  # still the last picture that had no error


def test_a_snapshot_must_be_svg_or_png(tmp_path):
    with pytest.raises(PipelineError, match=r"--snapshot .*out\.gif: the file must end in \.svg or \.png"):
        viz.snapshot(Target("unix:///nowhere.sock"), Path(tmp_path / "out.gif"))


def test_describe():
    view = {"nodes": [{"tasks": [1, 2]}, {"tasks": [3]}], "pending": [4], "services": [1, 2]}
    assert viz.describe(view) == "2 nodes, 2 services, 4 tasks"
