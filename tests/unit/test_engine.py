"""What an engine that does not answer, or whose TLS does not fit, is called: one line in the user's terms.

The error texts were recorded from docker-py 7 against a real dockerd with --tlsverify in a netns machine
(tests/integration/test_engines.py starts one), except the address mismatch, which is OpenSSL's wording."""
import docker
import pytest
import requests

from goswarm.errors import ConfigError, PipelineError
from goswarm.io import engine, environment
from goswarm.io.endpoint import TLS, Endpoint

FETCHING = "Error while fetching server API version: "
UNKNOWN_ISSUER = (FETCHING + "HTTPSConnectionPool(host='10.77.0.5', port=2376): Max retries exceeded with url: "
                  "/version (Caused by SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] "
                  "certificate verify failed: unable to get local issuer certificate (_ssl.c:1006)')))")
PLAIN_TO_TLS = (FETCHING + '400 Client Error for http://10.77.0.5:2376/version: Bad Request ("Client sent an HTTP '
                'request to an HTTPS server.")')
CLIENT_REFUSED = (FETCHING + "HTTPSConnectionPool(host='10.77.0.5', port=2376): Max retries exceeded with url: "
                  "/version (Caused by SSLError(SSLError(1, '[SSL: SSLV3_ALERT_BAD_CERTIFICATE] sslv3 alert bad "
                  "certificate (_ssl.c:2580)')))")
MISMATCH = (FETCHING + "HTTPSConnectionPool(host='10.77.0.9', port=2376): Max retries exceeded with url: /version "
            "(Caused by SSLError(SSLCertVerificationError(1, \"[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify "
            "failed: IP address mismatch, certificate is not valid for '10.77.0.9'. (_ssl.c:1006)\")))")
REFUSED = (FETCHING + "('Connection aborted.', ConnectionRefusedError(111, 'Connection refused'))")

CERT_PATH = TLS("/certs/ca.pem", "/certs/cert.pem", "/certs/key.pem", True, "DOCKER_CERT_PATH")
BY_ENV = Endpoint("tcp://10.77.0.5:2376", CERT_PATH, chosen_by="DOCKER_HOST")


def test_a_wrong_ca_names_where_the_ca_came_from():
    assert engine.unreachable(BY_ENV, UNKNOWN_ISSUER) == (
        "cannot trust the Docker engine at tcp://10.77.0.5:2376: the engine's certificate is not signed by the CA "
        "in DOCKER_CERT_PATH (/certs/ca.pem)")
    context = Endpoint("tcp://10.77.0.5:2376", TLS("/ctx/ca.pem", None, None, True, "docker context 'lab'"),
                       context="lab", chosen_by="DOCKER_CONTEXT")
    assert engine.unreachable(context, UNKNOWN_ISSUER).endswith(
        "the engine's certificate is not signed by the CA of docker context 'lab' (/ctx/ca.pem)")
    system = Endpoint("tcp://10.77.0.5:2376", TLS(None, None, None, True, "docker context 'lab'"), "lab", "x")
    assert engine.tls_trouble(system, UNKNOWN_ISSUER) == "the engine's certificate is not signed by a CA this " \
                                                         "system trusts"


def test_a_certificate_for_another_address():
    assert engine.tls_trouble(BY_ENV, MISMATCH) == ("the engine's certificate is not for 10.77.0.5 (its names and "
                                                    "addresses do not include it)")


def test_a_client_certificate_the_engine_refuses():
    assert engine.tls_trouble(BY_ENV, CLIENT_REFUSED) == (
        "the engine refused our client certificate (/certs/cert.pem, from DOCKER_CERT_PATH): it is not signed by a "
        "CA the engine trusts")


def test_plain_http_to_a_tls_engine_says_how_to_turn_tls_on():
    line = engine.unreachable(Endpoint("tcp://10.77.0.5:2376", chosen_by="DOCKER_HOST"), PLAIN_TO_TLS)
    assert line.startswith("cannot reach the Docker engine at tcp://10.77.0.5:2376: it speaks TLS; set "
                           "DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH")


@pytest.mark.parametrize("endpoint, fix", [
    (Endpoint("unix:///var/run/docker.sock"), "or set DOCKER_HOST or DOCKER_CONTEXT"),
    (Endpoint("tcp://h:2375", chosen_by="DOCKER_HOST"), "or fix DOCKER_HOST"),
    (Endpoint("tcp://h:2375", context="lab", chosen_by="DOCKER_CONTEXT"),
     "choose another context (DOCKER_CONTEXT, `docker context use`)"),
])
def test_an_engine_that_does_not_answer_says_what_chose_it(endpoint, fix):
    line = engine.unreachable(endpoint, REFUSED)
    assert line.startswith(f"cannot reach the Docker engine at {endpoint.described}: connection refused; ")
    assert line.endswith(fix)
    assert engine.tls_trouble(endpoint, REFUSED) is None


@pytest.fixture
def docker_env(tmp_path, monkeypatch):
    """An environment with nothing of the user's: no DOCKER_* variables, a docker config of its own."""
    monkeypatch.setattr(environment, "_loaded", True)
    for key in ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    return monkeypatch


def test_the_environments_engine_keeps_its_tls_and_other_urls_are_machines(docker_env, tmp_path):
    for kind in ("ca", "cert", "key"):
        (tmp_path / f"{kind}.pem").write_text("placeholder")
    docker_env.setenv("DOCKER_HOST", "tcp://10.77.0.5:2376")
    docker_env.setenv("DOCKER_TLS_VERIFY", "1")
    assert engine._endpoint(None).tls.ca == str(tmp_path / "ca.pem")
    assert engine._endpoint("tcp://10.77.0.5:2376").tls.verify is True
    assert engine._endpoint("ssh://root@10.77.0.2") == Endpoint("ssh://root@10.77.0.2")


def test_a_broken_environment_does_not_stop_a_machine_url(docker_env):
    docker_env.setenv("DOCKER_CONTEXT", "gone")
    with pytest.raises(ConfigError, match="docker context 'gone'"):
        engine._endpoint(None)
    assert engine._endpoint("ssh://root@10.77.0.2") == Endpoint("ssh://root@10.77.0.2")


class Client:
    """What api_version reads of a DockerClient: the version it agreed on with its engine."""

    def __init__(self, version):
        self.api = type("API", (), {"api_version": version})()


@pytest.mark.parametrize("version, expected", [("1.41", (1, 41)), ("1.44", (1, 44)), ("2", (2, 0))])
def test_api_version_compares_as_numbers(version, expected):
    assert engine.api_version(Client(version)) == expected
    assert engine.api_version(Client("1.9")) < engine.api_version(Client("1.41"))


@pytest.mark.parametrize("text, reason", [
    ("('Connection aborted.', FileNotFoundError(2, 'No such file or directory'))", "no such file or directory"),
    ("HTTPConnectionPool: Max retries exceeded (Connection refused)", "connection refused"),
    ("Permission denied while connecting", "permission denied"),
    ("Read timed out. (read timeout=60)", "timed out"),
    ("ssh: Authentication failed.", "authentication failed"),
])
def test_the_reason_is_the_cause_a_user_can_act_on(text, reason):
    assert engine._reason(text) == reason


def test_otherwise_the_reason_is_the_engines_explanation_on_one_line_without_secrets(monkeypatch):
    monkeypatch.setenv("REGISTRY_PASSWORD", "hunter2")
    error = docker.errors.APIError("500 Server Error", explanation="denied for hunter2\nsecond line")
    assert engine._reason(str(error), error.explanation) == "denied for ***"
    assert engine._reason("x" * 300) == "x" * 200


def response(status: int) -> requests.Response:
    answer = requests.Response()
    answer.status_code = status
    return answer


def test_a_missing_thing_is_named_with_what_was_being_done():
    with pytest.raises(PipelineError) as e, engine.errors("inspecting service web"):
        raise docker.errors.NotFound("404", response(404), explanation="service web not found")
    assert str(e.value) == "inspecting service web: not found (service web not found)"
    assert not isinstance(e.value, engine.EngineLost)


def test_an_engine_error_is_one_line():
    with pytest.raises(PipelineError) as e, engine.errors("creating network n"):
        raise docker.errors.APIError("409", response(409), explanation="network with name n already exists")
    assert str(e.value) == "creating network n: network with name n already exists"
    assert e.value.__cause__ is None and e.value.__suppress_context__  # no chained traceback


def test_a_manager_that_shuts_down_under_a_command_is_an_engine_lost():
    with pytest.raises(engine.EngineLost, match="the engine stopped answering as a swarm manager"), \
            engine.errors("listing tasks"):
        raise docker.errors.APIError("503", response(503), explanation="This node is not a swarm manager.")


@pytest.mark.parametrize("error", [requests.exceptions.ConnectionError("Connection refused"),
                                   docker.errors.DockerException("Connection refused")])
def test_a_lost_transport_is_an_engine_lost(error):
    with pytest.raises(engine.EngineLost) as e, engine.errors("listing tasks"):
        raise error
    assert str(e.value) == "listing tasks: lost the Docker engine (connection refused)"


def test_other_errors_are_not_swallowed():
    with pytest.raises(KeyError), engine.errors("reading"):
        raise KeyError("a bug is a traceback")


def test_unless_missing_is_none_for_a_missing_thing_and_the_answer_otherwise():
    def missing(name):
        raise docker.errors.NotFound(f"no such image: {name}")

    assert engine.unless_missing("inspecting image a", missing, "a") is None
    assert engine.unless_missing("inspecting image a", lambda name: {"Id": name}, "a") == {"Id": "a"}


def test_an_engine_that_is_not_there_is_one_line_that_says_how_to_start_it(tmp_path):
    url = f"unix://{tmp_path}/no-engine.sock"
    with pytest.raises(PipelineError) as e:
        engine.client(url)
    assert str(e.value).startswith(f"cannot reach the Docker engine at {url}: no such file or directory; start it")
