"""io/engine.py without an engine: how SDK and transport errors become one line, and the API version.
(Talking to an engine is tests/integration's.)"""
import docker
import pytest
import requests

from goswarm.errors import PipelineError
from goswarm.io import engine


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
    assert engine._reason(Exception(text)) == reason


def test_otherwise_the_reason_is_the_engines_explanation_on_one_line_without_secrets(monkeypatch):
    monkeypatch.setenv("REGISTRY_PASSWORD", "hunter2")
    error = docker.errors.APIError("500 Server Error", explanation="denied for hunter2\nsecond line")
    assert engine._reason(error) == "denied for ***"
    assert engine._reason(Exception("x" * 300)) == "x" * 200


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
    assert str(e.value).startswith(f"cannot reach the Docker engine at {url} (no such file or directory); start it")
