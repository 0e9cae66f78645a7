"""plan/ownership.py: a project changes only its own services, on a service inspect recorded from a real engine
(fx-account, deployed by a goswarm from before projects: no io.goswarm.project label)."""
import pytest

from goswarm.plan import ownership
from goswarm.plan.servicespec import PROJECT_LABEL

from .recorded import payload


def labelled(project):
    current = payload("service-inspect")
    current["Spec"]["Labels"][PROJECT_LABEL] = project
    return current


def test_a_new_service_and_one_of_this_project_need_nothing():
    assert ownership.check("fx-account", None, "shop", adopt=False) is None
    assert ownership.check("fx-account", labelled("shop"), "shop", adopt=False) is None
    assert ownership.owner(labelled("shop")) == "shop" and ownership.owner(payload("service-inspect")) is None


def test_another_projects_service_is_refused_in_one_line():
    with pytest.raises(ownership.NotOurs) as e:
        ownership.check("fx-account", labelled("blog"), "shop", adopt=False)
    assert str(e.value) == ("service fx-account belongs to project blog, not shop (it runs fx/fx-account:3be961c3f5e0, "
                            "2 tasks): give this project's service "
                            "another name, or pass --adopt to take it over; nothing was changed")


def test_a_service_of_no_project_is_refused_and_says_how_it_may_have_come():
    with pytest.raises(ownership.NotOurs, match=r"^service fx-account exists and belongs to no goswarm project \(no "
                                                r"io\.goswarm\.project label: made by hand, or by a goswarm before "
                                                r"projects; it runs fx/fx-account:3be961c3f5e0, 2 tasks\): pass "
                                                r"--adopt to take it over for project shop; nothing was changed$"):
        ownership.check("fx-account", payload("service-inspect"), "shop", adopt=False)


def test_adopt_says_what_it_takes_over():
    assert ownership.check("fx-account", labelled("blog"), "shop", adopt=True).startswith(
        "adopting service fx-account from project blog (it runs fx/fx-account:3be961c3f5e0, 2 tasks)")
    note = ownership.check("fx-account", payload("service-inspect"), "shop", adopt=True)
    assert note.endswith(", 2 tasks, and belonged to no project) for project shop")


def test_what_runs_names_the_published_ports_and_global_mode():
    current = payload("service-inspect")
    current["Spec"]["Mode"] = {"Global": {}}
    current["Spec"]["EndpointSpec"] = {"Ports": [{"PublishedPort": 6767, "TargetPort": 6767}]}
    current["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"] = "p/a:1@sha256:abc"
    del current["Spec"]["Labels"]["io.goswarm.image"]
    assert ownership.what_runs(current) == "p/a:1, one task per node, port 6767"
    current["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"] = "sha256:" + "7" * 64
    assert ownership.what_runs(current) == "sha256:777777777777, one task per node, port 6767"


def test_rm_scale_and_rollback_leave_another_projects_service_alone():
    with pytest.raises(ownership.NotOurs) as e:
        ownership.must_be_ours("fx-account", labelled("blog"), "shop", "remove")
    assert str(e.value) == ("service fx-account belongs to project blog, not shop (it runs fx/fx-account:3be961c3f5e0, "
                            "2 tasks): remove it from project blog; nothing was changed")
    for current in (None, labelled("shop"), payload("service-inspect")):  # absent, ours, or of no project
        ownership.must_be_ours("fx-account", current, "shop", "scale")
