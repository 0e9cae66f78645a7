"""What init tries in its trial run (the engine side runs in tests/integration/test_corpus.py)."""
from goswarm.ops import initproof
from goswarm.plan import gosource, proposal

MAIN = gosource.Main("svc", "svc")


def guess(value):
    return gosource.Found(value, "svc/main.go", 1, "code")


def test_the_health_route_on_its_own_listener_and_the_smoke_path_on_the_service_port():
    p = proposal.Proposal("svc", MAIN, port=guess(80), health=guess("/healthz"), health_port=guess(81),
                          smoke=guess("/"))
    assert initproof.trial_paths(p) == [("health", 81, "/healthz"), ("smoke", 80, "/")]


def test_an_image_healthcheck_is_not_tried_and_nothing_to_try_is_nothing():
    p = proposal.Proposal("svc", MAIN, port=guess(80), health=guess("/health"), image_healthcheck="CMD x")
    assert initproof.trial_paths(p) == []
