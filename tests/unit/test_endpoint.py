"""Which engine, by the docker CLI's rules, over plain data: an environment and a docker config directory.

tests/fixtures/engine/docker-config was made by the docker CLI 28 (`docker context create lab-1 --docker
host=ssh://root@10.77.0.2`, `tls-box` with ca=, cert= and key=, `insecure` with skip-tls-verify=true, then
`docker context use lab-1`), with DOCKER_CONFIG pointing at it; only the TLS files' contents were replaced.
"""
import json
import shutil
from pathlib import Path

import pytest

from goswarm.errors import ConfigError
from goswarm.io import endpoint
from goswarm.io.endpoint import LOCAL, Endpoint

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "engine" / "docker-config"


@pytest.fixture
def config(tmp_path) -> Path:
    """A copy of the recorded docker config, free to change."""
    return Path(shutil.copytree(RECORDED, tmp_path / "docker"))


def without_current_context(config: Path) -> Path:
    (config / "config.json").write_text(json.dumps({"auths": {}}))
    return config


@pytest.mark.parametrize("env, url, chosen_by", [
    ({"DOCKER_HOST": "tcp://10.0.0.1:2375", "DOCKER_CONTEXT": "tls-box"}, "tcp://10.0.0.1:2375", "DOCKER_HOST"),
    ({"DOCKER_CONTEXT": "insecure"}, "tcp://10.77.0.4:2376", "DOCKER_CONTEXT"),
    ({}, "ssh://root@10.77.0.2", "currentContext in {config}/config.json"),
    ({"DOCKER_HOST": "", "DOCKER_CONTEXT": ""}, "ssh://root@10.77.0.2", "currentContext in {config}/config.json"),
    ({"DOCKER_CONTEXT": "default"}, LOCAL, ""),
    ({"DOCKER_CONTEXT": "default", "DOCKER_HOST": "unix:///run/other.sock"}, "unix:///run/other.sock",
     "DOCKER_HOST"),
])
def test_docker_host_wins_then_docker_context_then_the_current_context(config, env, url, chosen_by):
    found = endpoint.resolve(env, config)
    assert (found.url, found.chosen_by) == (url, chosen_by.format(config=config))


def test_without_any_setting_it_is_the_local_socket(config):
    assert endpoint.resolve({}, without_current_context(config)) == Endpoint(LOCAL)
    assert endpoint.resolve({}, config / "nothing-here") == Endpoint(LOCAL)


def test_docker_config_moves_the_directory_and_home_is_the_default(config, tmp_path):
    assert endpoint.docker_config_dir({"DOCKER_CONFIG": str(config), "HOME": "/x"}) == config
    assert endpoint.docker_config_dir({"HOME": "/home/me"}) == Path("/home/me/.docker")
    assert endpoint.resolve({"DOCKER_CONFIG": str(config)}).url == "ssh://root@10.77.0.2"


def test_a_context_names_its_endpoint_and_how_it_was_chosen(config):
    found = endpoint.resolve({"DOCKER_CONTEXT": "lab-1"}, config)
    assert found == Endpoint("ssh://root@10.77.0.2", None, "lab-1", "DOCKER_CONTEXT")
    assert found.described == "ssh://root@10.77.0.2 (docker context 'lab-1', from DOCKER_CONTEXT)"


def test_context_meta_as_the_docker_cli_writes_it():
    meta = json.loads(next((RECORDED / "contexts" / "meta").glob("*/meta.json")).read_text())
    host, skip = endpoint.parse_meta(meta, meta["Name"])
    assert host.startswith(("ssh://", "tcp://")) and isinstance(skip, bool)
    assert endpoint.context_id("lab-1") == "49c4cf183243191282cf9931bde0f724f837c3127ff950890764c19bb21314bf"
    assert (RECORDED / "contexts" / "meta" / endpoint.context_id("lab-1") / "meta.json").is_file()
    with pytest.raises(ConfigError, match="docker context 'bare' has no docker endpoint"):
        endpoint.parse_meta({"Name": "bare", "Endpoints": {}}, "bare")


def test_a_context_with_tls_material_verifies_with_its_ca(config):
    tls = endpoint.resolve({"DOCKER_CONTEXT": "tls-box"}, config).tls
    material = config / "contexts" / "tls" / endpoint.context_id("tls-box") / "docker"
    assert (tls.ca, tls.cert, tls.key) == tuple(str(material / f"{k}.pem") for k in ("ca", "cert", "key"))
    assert tls.verify and tls.origin == "docker context 'tls-box'"


def test_a_context_that_skips_verification_speaks_tls_without_verifying(config):
    tls = endpoint.resolve({"DOCKER_CONTEXT": "insecure"}, config).tls
    assert tls is not None and not tls.verify and tls.ca is None and tls.cert is None


def test_a_context_with_half_a_client_certificate_is_one_line(config):
    (config / "contexts" / "tls" / endpoint.context_id("tls-box") / "docker" / "key.pem").unlink()
    with pytest.raises(ConfigError, match="docker context 'tls-box' has a client cert.pem but no key.pem"):
        endpoint.resolve({"DOCKER_CONTEXT": "tls-box"}, config)


def test_an_ssh_context_ignores_tls_settings(config):
    assert endpoint.context_tls("ssh://root@h", True, {"ca": "/ca.pem"}, "x") is None
    assert endpoint.resolve({"DOCKER_CONTEXT": "lab-1", "DOCKER_TLS_VERIFY": "1"}, config).tls is None


def test_an_unknown_context_names_itself_and_the_ones_that_exist(config):
    with pytest.raises(ConfigError) as e:
        endpoint.resolve({"DOCKER_CONTEXT": "lab-9"}, config)
    assert str(e.value) == ("docker context 'lab-9' (from DOCKER_CONTEXT) does not exist; contexts: default, "
                            "insecure, lab-1, tls-box")
    (config / "config.json").write_text(json.dumps({"currentContext": "gone"}))
    with pytest.raises(ConfigError, match=r"'gone' \(from currentContext in .*config.json\) does not exist"):
        endpoint.resolve({}, config)


def test_a_config_that_is_not_json_is_one_line(config):
    (config / "config.json").write_text("{")
    with pytest.raises(ConfigError, match=r"cannot read .*config.json"):
        endpoint.resolve({}, config)


def certs(directory: Path, *kinds) -> Path:
    directory.mkdir(exist_ok=True)
    for kind in kinds:
        (directory / f"{kind}.pem").write_text("placeholder")
    return directory


def test_docker_tls_verify_and_cert_path_as_docker_py_reads_them(tmp_path):
    path = certs(tmp_path / "certs", "ca", "cert", "key")
    env = {"DOCKER_HOST": "tcp://10.0.0.1:2376", "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(path)}
    tls = endpoint.resolve(env, tmp_path).tls
    assert (tls.ca, tls.cert, tls.key, tls.verify) == (str(path / "ca.pem"), str(path / "cert.pem"),
                                                       str(path / "key.pem"), True)
    assert tls.origin == "DOCKER_CERT_PATH"
    # docker-py: an empty DOCKER_TLS_VERIFY is "no"; DOCKER_CERT_PATH alone is TLS without verification
    unverified = endpoint.resolve({**env, "DOCKER_TLS_VERIFY": ""}, tmp_path).tls
    assert unverified.verify is False and unverified.ca is None
    assert endpoint.resolve({"DOCKER_HOST": "tcp://10.0.0.1:2375"}, tmp_path).tls is None
    # the docker CLI's default for DOCKER_CERT_PATH: the docker config directory
    certs(tmp_path / "docker", "ca", "cert", "key")
    assert endpoint.resolve({"DOCKER_HOST": "tcp://h:2376", "DOCKER_TLS_VERIFY": "1"},
                            tmp_path / "docker").tls.ca == str(tmp_path / "docker" / "ca.pem")


def test_a_missing_certificate_file_is_one_line_naming_it(tmp_path):
    path = certs(tmp_path / "certs", "ca", "key")
    env = {"DOCKER_HOST": "tcp://10.0.0.1:2376", "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(path)}
    with pytest.raises(ConfigError) as e:
        endpoint.resolve(env, tmp_path)
    assert str(e.value) == (f"DOCKER_CERT_PATH {path} has no cert.pem: TLS to tcp://10.0.0.1:2376 needs ca.pem, "
                            f"cert.pem and key.pem there")
    with pytest.raises(ConfigError, match=r"\(DOCKER_CERT_PATH is not set\) has no ca.pem and no cert.pem"):
        endpoint.resolve({"DOCKER_HOST": "tcp://h:2376", "DOCKER_TLS_VERIFY": "1"}, tmp_path)


def test_tls_settings_do_not_apply_to_a_local_socket_or_ssh(tmp_path):
    for host in ("unix:///var/run/docker.sock", "ssh://root@h"):
        assert endpoint.resolve({"DOCKER_HOST": host, "DOCKER_TLS_VERIFY": "1"}, tmp_path).tls is None
