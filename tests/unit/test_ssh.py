"""The SSH factory: which keys a route offers, and how a connection that cannot be made says why, in one line.
(Real hosts, host keys, ProxyJump and the docker transport: tests/integration/test_engines.py and test_lab.py.)"""
import pytest

from goswarm.errors import PipelineError
from goswarm.io import ssh, sshconfig
from goswarm.io.sshconfig import Route


def test_a_given_key_is_the_only_one_offered():
    params = ssh.connect_params(sshconfig.route("h", "", key="/k"))
    assert (params["key_filename"], params["look_for_keys"], params["allow_agent"]) == ("/k", False, False)


def test_without_a_key_the_agent_and_the_default_keys_are_tried():
    params = ssh.connect_params(sshconfig.route("h", "", port=2222, user="me"))
    assert (params["hostname"], params["port"], params["username"]) == ("h", 2222, "me")
    assert (params["key_filename"], params["look_for_keys"], params["allow_agent"]) == (None, True, True)


def test_identity_files_that_exist_are_offered_instead_of_the_default_keys(tmp_path):
    key = tmp_path / "id_box"
    key.write_text("not read here")
    route = sshconfig.route("box", f"Host box\n  IdentityFile {key}\n  IdentityFile {tmp_path / 'gone'}\n")
    params = ssh.connect_params(route)
    assert (params["key_filename"], params["look_for_keys"], params["allow_agent"]) == ([str(key)], False, True)


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No ~/.ssh of the user's, and a project known_hosts of the test's own."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("MACHINES_DIR", str(tmp_path / "machines"))
    return tmp_path


def test_a_proxy_command_carries_the_connection_and_its_failure_is_one_line(isolated, capfd):
    route = Route("piped", "10.0.0.7", 22, "root", proxy_command="echo no route to 10.0.0.7 >&2; exit 3")
    with pytest.raises(PipelineError) as e:
        ssh.open_route(route)
    assert str(e.value) == "ssh root@10.0.0.7 (piped): its ProxyCommand exited with status 3: no route to 10.0.0.7"
    assert "Traceback" not in capfd.readouterr().err  # paramiko's own logging stays quiet


def test_a_jump_host_that_fails_names_itself(isolated):
    jump = Route("bastion", "jump", 22, "ops", proxy_command="exit 3")
    with pytest.raises(PipelineError, match=r"^ssh ops@jump \(bastion\): its ProxyCommand exited with status 3$"):
        ssh.open_route(Route("inner", "127.0.0.1", 2201, "root", jump=jump))


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


def test_every_wait_of_a_connection_is_bounded():
    params = ssh.connect_params(sshconfig.route("h", ""))
    assert params["timeout"] == params["banner_timeout"] == params["auth_timeout"] == ssh.TIMEOUT


def test_openssh_carries_bulk_data_with_our_key_and_host_keys_and_never_prompts(tmp_path, monkeypatch):
    monkeypatch.setenv("MACHINES_DIR", str(tmp_path / "machines"))
    monkeypatch.setattr("shutil.which", lambda name: "/usr/bin/ssh" if name == "ssh" else None)
    argv = ssh.openssh_argv(sshconfig.route("10.0.0.5", "", port=2222, user="me", key="/k"), ["docker", "load"])
    assert argv[:7] == ["/usr/bin/ssh", "-F", "none", "-p", "2222", "-l", "me"]
    assert argv[-4:] == ["10.0.0.5", "--", "docker", "load"] and argv[argv.index("-i") + 1] == "/k"
    options = [a for a in argv if a.startswith("-o")]
    assert {"-oBatchMode=yes", "-oStrictHostKeyChecking=yes", "-oIdentitiesOnly=yes"} <= set(options)
    known = next(o for o in options if o.startswith("-oUserKnownHostsFile="))
    assert str(tmp_path / "machines" / "known_hosts") in known and ".ssh/known_hosts" in known


def test_a_route_through_a_jump_host_or_a_proxy_command_or_no_ssh_stays_with_paramiko(monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: "/usr/bin/ssh")
    jumped = sshconfig.route("box", "Host box\n  HostName 10.0.0.5\n  ProxyJump gate\n")
    proxied = sshconfig.route("box", "Host box\n  ProxyCommand nc %h %p\n")
    assert ssh.openssh_argv(jumped, ["true"]) is None and ssh.openssh_argv(proxied, ["true"]) is None
    monkeypatch.setattr("shutil.which", lambda name: None)
    assert ssh.openssh_argv(sshconfig.route("10.0.0.5", ""), ["true"]) is None
