"""ops/deploy.py, its pure part: which releases are proved in a trial container first, and run names.
(Planning against the engine, applying and undoing need the engine: tests/integration.)"""
from pathlib import Path

from goswarm.ops import deploy
from goswarm.plan import servicespec
from goswarm.plan.config import Service

from .recorded import payload

RUNNING = payload("service-inspect")  # fx-account, as the engine returns it after an update
IMAGE = RUNNING["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
IMAGE_CHECK = {"Test": ["CMD", "/service", "-healthcheck"], "Interval": 1_000_000_000}


def step(name, action, order="stop-first", smoke=None, image_check=None):
    service = Service(name, Path("/p") / name, 6767, smoke=smoke)
    current = None if action == "create" else RUNNING
    return deploy.Step(service, RUNNING["Spec"], current, servicespec.Plan(name, action, order=order),
                       image_check)


def test_a_trial_proves_each_update_that_would_expose_an_unproved_release():
    steps = [
        step("stop-first", "update", image_check=IMAGE_CHECK),  # its old task stops before the new one runs
        # the engine gates on the image's own check alone, which does not read the smoke path
        step("smoked", "update", order="start-first", smoke="/health", image_check=IMAGE_CHECK),
        step("probed", "update", order="start-first", smoke="/health"),  # the probe's first check reads it
        step("gated", "update", order="start-first"),  # the engine's own health gate is enough
        step("new", "create", smoke="/health"),  # nothing runs yet that it could replace
        step("same", "none", smoke="/health"),
        step("gone", "remove"),
    ]
    trials = deploy.trials(steps)
    assert [(service.name, image, check) for service, image, check in trials] == [
        ("stop-first", IMAGE, IMAGE_CHECK), ("smoked", IMAGE, IMAGE_CHECK)]


def test_the_trial_runs_the_image_the_new_spec_names():
    trial, = deploy.trials([step("web", "update")])
    assert trial[1] == IMAGE and IMAGE.startswith("sha256:")


def test_names_for_the_lock_and_messages():
    services = [Service("a", Path("/a"), 80), Service("b", Path("/b"), 80)]
    assert deploy.names(services) == "a,b"
    assert deploy.names([]) == ""


def test_only_a_create_update_or_remove_is_a_change_that_needs_the_lock():
    assert not deploy.changes([step("same", "none"), step("also", "none")])
    assert not deploy.changes([])
    for action in ("create", "update", "remove"):
        assert deploy.changes([step("same", "none"), step("it", action)])


def test_a_deploy_may_touch_each_service_and_its_edge():
    services = [Service("a", Path("/a"), 80, publish=8080, publish_mode="edge"), Service("b", Path("/b"), 80)]
    assert deploy.service_names(services) == ["a", "a-edge", "b", "b-edge"]  # b's edge: one left from edge mode


def test_each_service_rolls_out_with_its_edge_after_it_and_services_apart():
    steps = [step("a", "update"), step("a-edge", "none"), step("b", "create"), step("old-edge", "remove"),
             step("c", "update")]
    for s, group in zip(steps, (0, 0, 1, 2, 2)):
        s.group = group
    assert [[s.service.name for s in chain] for chain in deploy.chains(steps)] == [
        ["a", "a-edge"], ["b"], ["old-edge", "c"]]
    assert deploy.chains([]) == []
