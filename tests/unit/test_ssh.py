"""io/ssh.py: known_hosts entries and what paramiko is asked to connect with."""
import pytest

from goswarm.io import ssh


@pytest.mark.parametrize("host, port, entry", [
    ("10.77.0.2", 22, "10.77.0.2"), ("10.77.0.2", None, "10.77.0.2"), ("10.0.0.9", 2222, "[10.0.0.9]:2222"),
])
def test_host_entry_names_a_non_standard_port_as_openssh_does(host, port, entry):
    assert ssh.host_entry(host, port) == entry


def test_known_hosts_trust_and_forget(tmp_path, monkeypatch):
    monkeypatch.setenv("MACHINES_DIR", str(tmp_path))
    ssh.trust("10.77.0.2", 22, "ssh-ed25519 AAAA1")
    ssh.trust("10.77.0.2", 22, "ssh-ed25519 AAAA2")  # a re-created host replaces its old key
    ssh.trust("10.0.0.9", 2222, "ssh-ed25519 BBBB")
    assert ssh.known_hosts().read_text() == "10.77.0.2 ssh-ed25519 AAAA2\n[10.0.0.9]:2222 ssh-ed25519 BBBB\n"
    assert ssh.known_hosts().stat().st_mode & 0o777 == 0o600
    ssh.forget("10.77.0.2", 22)
    assert ssh.known_hosts().read_text() == "[10.0.0.9]:2222 ssh-ed25519 BBBB\n"


def test_forgetting_without_a_known_hosts_file_creates_none(tmp_path, monkeypatch):
    monkeypatch.setenv("MACHINES_DIR", str(tmp_path / "machines"))
    ssh.forget("10.77.0.2", 22)
    assert not (tmp_path / "machines").exists()


def test_connect_params_use_only_the_given_key():
    given = ssh.connect_params("h", None, None, "/k")
    assert (given["key_filename"], given["look_for_keys"], given["allow_agent"]) == ("/k", False, False)
    assert (given["port"], given["username"]) == (22, "root")
    default = ssh.connect_params("h", 2222, "me", None)
    assert (default["port"], default["username"], default["look_for_keys"], default["allow_agent"]) == \
        (2222, "me", True, True)


def test_every_wait_of_a_connection_is_bounded():
    params = ssh.connect_params("h", None, None, None)
    assert params["timeout"] == params["banner_timeout"] == params["auth_timeout"] == ssh.TIMEOUT
