"""ops/lab.py, its pure part: the machines' names, and which records belong to a lab."""
import pytest

from goswarm.errors import PipelineError
from goswarm.io import machines
from goswarm.io.machines import Machine
from goswarm.ops import lab


def test_lab_names():
    assert lab.names("lab", 3) == ["lab-1", "lab-2", "lab-3"]
    assert lab.names("it42", 1) == ["it42-1"]
    with pytest.raises(PipelineError, match="--nodes must be 1 or more, got 0"):
        lab.names("lab", 0)


def test_a_labs_machines_are_the_netns_machines_named_for_its_prefix(tmp_path, monkeypatch):
    monkeypatch.setenv("MACHINES_DIR", str(tmp_path))
    for name, driver in (("lab-1", "netns"), ("lab-2", "netns"), ("lab-3", "ssh"), ("lab2-1", "netns"),
                         ("labx", "netns"), ("other-1", "netns")):
        machines.save(Machine(name, driver, "10.77.0.2"))
    assert [m.name for m in lab.lab_machines("lab")] == ["lab-1", "lab-2"]
    assert [m.name for m in lab.lab_machines("lab2")] == ["lab2-1"]
    assert lab.lab_machines("none") == []
