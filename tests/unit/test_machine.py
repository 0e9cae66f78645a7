"""ops/machine.py, its pure part: what `eval $(goswarm machine.env NAME)` runs, from the machine's record.
(Creating, listing, reaching and removing machines is tests/integration's.)"""
import subprocess

import pytest

from goswarm.errors import PipelineError
from goswarm.io import machines, ssh
from goswarm.io.machines import Machine
from goswarm.ops import machine


@pytest.fixture(autouse=True)
def machines_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MACHINES_DIR", str(tmp_path / "my machines"))
    return tmp_path / "my machines"


def test_env_lines_point_docker_at_the_machine_and_tell_how_its_cli_gets_the_key_and_host_key(machines_dir):
    machines.save(Machine("lab-1", "netns", "10.77.0.2", key=str(machines_dir / "lab-1" / "id_ed25519")))
    ssh.trust("10.77.0.2", 22, "ssh-ed25519 AAAAhost")
    assert machine.env_lines("lab-1", "inv") == [
        "export DOCKER_HOST=ssh://root@10.77.0.2",
        "# run this command to configure your shell: eval $(inv machine.env lab-1)",
        f"# for the docker CLI as well: ssh-add '{machines_dir}/lab-1/id_ed25519'",
        f"# and its host key: awk '$1 == \"10.77.0.2\"' '{machines_dir}/known_hosts' >> ~/.ssh/known_hosts",
    ]


def test_env_lines_of_a_host_with_the_users_own_keys_and_no_recorded_host_key():
    machines.save(Machine("box", "ssh", "10.0.0.5", user="deploy", port=2222))
    ssh.trust("10.0.0.50", 2222, "ssh-ed25519 AAAAother")  # another host: a prefix of the entry is no match
    assert machine.env_lines("box") == [
        "export DOCKER_HOST=ssh://deploy@10.0.0.5:2222",
        "# run this command to configure your shell: eval $(goswarm machine.env box)",
    ]


def host_key_hint(lines: list) -> str:
    """What the command that env_lines suggests finds in the project's known_hosts (run as printed)."""
    hint, = [line for line in lines if line.startswith("# and its host key: ")]
    command = hint.removeprefix("# and its host key: ").removesuffix(" >> ~/.ssh/known_hosts")
    return subprocess.run(command, shell=True, capture_output=True, text=True, timeout=10).stdout


def test_the_host_key_hint_finds_the_host_key():
    machines.save(Machine("lab-1", "netns", "10.77.0.2"))
    ssh.trust("10.77.0.2", 22, "ssh-ed25519 AAAAhost")
    ssh.trust("10.77.0.20", 22, "ssh-ed25519 AAAAother")
    assert host_key_hint(machine.env_lines("lab-1")) == "10.77.0.2 ssh-ed25519 AAAAhost\n"


def test_the_host_key_hint_finds_the_host_key_of_a_host_on_another_port():
    machines.save(Machine("box", "ssh", "10.0.0.5", port=2222))
    ssh.trust("10.0.0.5", 2222, "ssh-ed25519 AAAAhost")
    assert host_key_hint(machine.env_lines("box")) == "[10.0.0.5]:2222 ssh-ed25519 AAAAhost\n"


def test_env_lines_of_an_unknown_machine_is_one_error():
    with pytest.raises(PipelineError, match="unknown machine 'nosuch'"):
        machine.env_lines("nosuch")
