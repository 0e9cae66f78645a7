import pytest

from goswarm.plan import porthealth


def test_the_edge_holds_an_edge_apps_port_and_a_host_app_its_own():
    assert porthealth.holder("web", "edge") == "web-edge"
    assert porthealth.holder("web", "host") == "web"


@pytest.mark.parametrize("problem, states, hinted", [
    ("[Errno 111] Connection refused", ["running"], True),
    ("Connection reset by peer", ["running", "running"], True),
    ("[Errno 111] Connection refused", ["running", "starting"], False),  # a task not up: the usual failure
    ("[Errno 111] Connection refused", [], False),  # no task at all: nothing holds the port
    ("HTTP 500", ["running"], False),  # the port answers: the app is at fault
    ("timed out", ["running"], False),
])
def test_a_port_that_refuses_while_its_tasks_run_is_said_to_be_the_engines(problem, states, hinted):
    hint = porthealth.silent_port(problem, "web-edge", 8080, states)
    assert bool(hint) == hinted
    if hinted:
        assert "port 8080" in hint and "docker service update --force web-edge" in hint and "\n" not in hint
