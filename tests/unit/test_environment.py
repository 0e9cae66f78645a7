from pathlib import Path

import pytest

from goswarm.errors import ConfigError
from goswarm.io import environment


def test_parse_dotenv():
    text = "# comment\nDOCKER_HOST=ssh://root@10.0.0.5\nexport MANAGER_IP=10.0.0.5\nREGISTRY_PASSWORD='s3 cret'\n"
    assert environment.parse_dotenv(text) == {
        "DOCKER_HOST": "ssh://root@10.0.0.5", "MANAGER_IP": "10.0.0.5", "REGISTRY_PASSWORD": "s3 cret"}


def test_malformed_line_is_an_error_naming_the_line_not_the_value():
    with pytest.raises(ConfigError) as e:
        environment.parse_dotenv("A=1\nREGISTRY_PASSWORD=\"hunter2\n", "x/.env")
    assert "x/.env line 2" in str(e.value)
    assert "hunter2" not in str(e.value)


@pytest.mark.parametrize("env, ip", [
    ({}, "127.0.0.1"),
    ({"DOCKER_HOST": "ssh://root@10.1.2.3"}, "10.1.2.3"),
    ({"DOCKER_HOST": "tcp://10.1.2.3:2376", "MANAGER_IP": "10.9.9.9"}, "10.9.9.9"),
    ({"DOCKER_HOST": "tcp://localhost:2375"}, "127.0.0.1"),
    ({"DOCKER_CONTEXT": "lab-1"}, "10.77.0.2"),  # the engine a docker context names
    ({"DOCKER_HOST": "ssh://box"}, "10.77.0.5"),  # an ~/.ssh/config alias: its HostName
])
def test_manager_ip(monkeypatch, tmp_path, env, ip):
    monkeypatch.setattr(environment, "_loaded", True)
    for key in ("DOCKER_HOST", "MANAGER_IP", "DOCKER_CONTEXT"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(Path(__file__).parents[1] / "fixtures" / "engine" / "docker-config"))
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "config").write_text("Host box\n  HostName 10.77.0.5\n  User deploy\n")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    if not env:  # the recorded config's current context is lab-1: without it, the local socket
        monkeypatch.setenv("DOCKER_CONTEXT", "default")
    assert environment.manager_ip() == ip


def test_redact(monkeypatch):
    monkeypatch.setenv("REGISTRY_PASSWORD", "hunter2")
    assert environment.redact("login hunter2 refused") == "login *** refused"


def test_a_file_that_is_not_utf8_is_one_line_naming_it_and_the_line(tmp_path):
    env = tmp_path / ".env"
    env.write_bytes(b"A=1\nB=caf\xe9\n")
    with pytest.raises(ConfigError, match=r"\.env is not UTF-8 text \(byte 0xe9 on line 2\); save it as UTF-8"):
        environment.read_text(env)


def test_private_dirs_are_0700_at_every_level_they_create(tmp_path):
    import stat

    environment.private_dir(tmp_path / "store" / "machine")
    for level in (tmp_path / "store", tmp_path / "store" / "machine"):
        assert stat.S_IMODE(level.stat().st_mode) == 0o700
    environment.private_dir(tmp_path / "store" / "machine")  # twice is fine


def test_registry_credentials_come_from_the_environment_first_then_the_docker_config(monkeypatch, tmp_path):
    import base64
    import json

    monkeypatch.setattr(environment, "_loaded", True)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    monkeypatch.delenv("REGISTRY_USERNAME", raising=False)
    monkeypatch.delenv("REGISTRY_PASSWORD", raising=False)
    assert environment.registry_credentials("reg.example:5000") is None  # no config at all
    token = base64.b64encode(b"cfg-user:cfg-s3cret").decode()
    (tmp_path / "config.json").write_text(json.dumps({"auths": {"reg.example:5000": {"auth": token}}}))
    assert environment.registry_credentials("reg.example:5000") == ("cfg-user", "cfg-s3cret", "the docker config")
    assert environment.registry_credentials("other:5000") is None
    assert environment.redact("said cfg-s3cret") == "said ***"  # read from the config, kept out of messages
    monkeypatch.setenv("REGISTRY_USERNAME", "ci")
    monkeypatch.setenv("REGISTRY_PASSWORD", "env-pw")
    assert environment.registry_credentials("reg.example:5000") == ("ci", "env-pw", "REGISTRY_USERNAME")


def test_a_credential_helper_that_is_missing_is_one_line(monkeypatch, tmp_path):
    import json

    monkeypatch.setattr(environment, "_loaded", True)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("REGISTRY_USERNAME", raising=False)
    (tmp_path / "config.json").write_text(json.dumps({"credHelpers": {"reg.example:5000": "nothere"}}))
    with pytest.raises(ConfigError, match="credentials for reg.example:5000 cannot be read") as e:
        environment.registry_credentials("reg.example:5000")
    assert "\n" not in str(e.value)


def test_the_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("GOSWARM_CACHE", str(tmp_path))
    assert environment.cache_dir() == tmp_path
    monkeypatch.delenv("GOSWARM_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert environment.cache_dir() == tmp_path / "x" / "goswarm"
