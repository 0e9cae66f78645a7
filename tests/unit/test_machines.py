"""io/machines.py: machine records in .machines/ (MACHINES_DIR), and their names and engine URLs."""
import pytest

from goswarm.errors import PipelineError
from goswarm.io import machines
from goswarm.io.machines import Machine


def test_machine_url_is_ssh_and_names_the_port_only_when_needed():
    assert Machine("m", "ssh", "10.0.0.5").url == "ssh://root@10.0.0.5"
    assert Machine("m", "ssh", "10.0.0.5", user="deploy", port=2222).url == "ssh://deploy@10.0.0.5:2222"


def test_a_machine_made_from_an_ssh_config_alias_is_reached_by_it():
    machine = Machine("m", "ssh", "10.0.0.5", user="deploy", port=2222, alias="box")
    assert (machine.ssh_host, machine.url) == ("box", "ssh://deploy@box:2222")
    assert Machine("m", "ssh", "10.0.0.5").ssh_host == "10.0.0.5"
    # the flags that made it won over the alias's Port: its URL says so
    assert Machine("m", "ssh", "10.0.0.5", port=22, alias="box").url == "ssh://root@box:22"


@pytest.mark.parametrize("name", ["", "Lab", "lab_1", "-lab", "a" * 22])
def test_bad_machine_names(name):
    with pytest.raises(PipelineError, match="machine name"):
        machines.check_name(name)


def test_records_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("MACHINES_DIR", str(tmp_path))
    machines.save(Machine("node1", "netns", "10.77.0.2", key="/k", extras={"pids": {"sshd": 1}}))
    assert machines.read("node1").extras == {"pids": {"sshd": 1}}
    assert machines.by_host("10.77.0.2").name == "node1"
    assert (tmp_path / "node1").stat().st_mode & 0o777 == 0o700
    with pytest.raises(PipelineError, match="unknown machine 'node2'; known machines: node1"):
        machines.read("node2")
    machines.delete("node1")
    assert machines.all_machines() == []
