"""Projects on one swarm, on a real engine: every service goswarm creates (the edge included) carries its
project's label; another project's service, or one made by hand, is only taken over with --adopt, which says
what it takes; and each project has its own deploy lock by default."""
from goswarm.ops import lock
from goswarm.plan.servicespec import PROJECT_LABEL
from helpers import SUFFIX, Project, assert_one_line_error, free_port, http_get


def labels(project: Project, name: str) -> dict:
    return project.service(name)["Spec"]["Labels"]


def test_a_project_takes_over_another_projects_service_only_with_adopt(swarm, engine, tmp_path):
    shop = swarm
    shop.config["project"] = f"shop{SUFFIX}"
    del shop.config["deploy"]["lock"]  # the project's own, by default
    port, moved = free_port(), free_port()
    name = shop.add_service("accountservice", port=6767, publish=port, publish_mode="edge")
    (tmp_path / "blog").mkdir()
    blog = Project(tmp_path / "blog", engine)
    blog.config["project"] = f"blog{SUFFIX}"
    del blog.config["deploy"]["lock"]
    assert blog.add_service("accountservice", port=6767, publish=moved, publish_mode="edge") == name
    try:
        shop.inv("redeploy", "--service", name)
        assert labels(shop, name)[PROJECT_LABEL] == f"shop{SUFFIX}"
        assert labels(shop, f"{name}-edge")[PROJECT_LABEL] == f"shop{SUFFIX}"
        before = shop.service(name)["Version"]["Index"], shop.service(f"{name}-edge")["Version"]["Index"]

        refused = blog.inv("redeploy", "--service", name, check=False)
        assert_one_line_error(refused, f"service {name} belongs to project shop{SUFFIX}, not blog{SUFFIX}",
                              "pass --adopt to take it over; nothing was changed")
        # Nor may blog remove, scale or roll back shop's service, though its config names one of that name.
        for task, args, verb in (("deploy.rm", ["--service", name], "remove"),
                                 ("deploy.scale", ["--service", name, "--replicas", "3"], "scale"),
                                 ("deploy.rollback", ["--service", name], "roll back")):
            assert_one_line_error(blog.inv(task, *args, check=False),
                                  f"belongs to project shop{SUFFIX}, not blog{SUFFIX}",
                                  f"{verb} it from project shop{SUFFIX}; nothing was changed")
        after = shop.service(name)["Version"]["Index"], shop.service(f"{name}-edge")["Version"]["Index"]
        assert after == before and http_get(f"http://127.0.0.1:{port}/health")

        # Each project deploys under its own lock: shop's, held by a live run here, stops shop and not blog.
        with lock.held(engine, "a long deploy of shop", 60, f"goswarm-deploy-lock-shop{SUFFIX}"):
            waiting = shop.inv("deploy", "--service", name, "--force", check=False)
            assert_one_line_error(waiting, "deploy lock is held by", "wait for it: that run (pid")
            assert "unlock" not in waiting.output
            adopted = blog.inv("redeploy", "--service", name, "--adopt")
        assert f"adopting service {name} from project shop{SUFFIX} (it runs it/{name}:" in adopted.output
        assert f"adopting service {name}-edge from project shop{SUFFIX}" in adopted.output
        assert f", port {port}) for project blog{SUFFIX}" in adopted.output
        assert labels(blog, name)[PROJECT_LABEL] == f"blog{SUFFIX}"
        assert labels(blog, f"{name}-edge")[PROJECT_LABEL] == f"blog{SUFFIX}"
        assert http_get(f"http://127.0.0.1:{moved}/health")
        assert f"{name}: no change" in blog.inv("redeploy", "--service", name).output  # its own now
    finally:
        blog.inv("deploy.rm", "--service", name, check=False)


def test_a_service_made_by_hand_is_adopted_only_with_adopt(swarm, engine):
    swarm.config["project"] = f"hand{SUFFIX}"
    name = swarm.add_service("quotes-service", healthcheck={"tcp": True}, port=8080)
    swarm.inv("build", "--service", name)
    swarm.inv("image.build", "--service", name)
    engine.api.create_service({"ContainerSpec": {"Image": f"it/{name}:latest"}}, name=name)  # no labels: by hand
    version = swarm.service(name)["Version"]["Index"]

    refused = swarm.inv("deploy", "--service", name, check=False)
    assert_one_line_error(refused, f"service {name} exists and belongs to no goswarm project (no {PROJECT_LABEL} "
                                   f"label: made by hand", f"it runs it/{name}:latest, 1 task)",
                          f"pass --adopt to take it over for project hand{SUFFIX}; nothing was changed")
    assert swarm.service(name)["Version"]["Index"] == version

    adopted = swarm.inv("deploy", "--service", name, "--adopt")
    assert f"adopting service {name} (it runs it/{name}:latest, 1 task, and belonged to no project) for project " \
           f"hand{SUFFIX}" in adopted.output
    assert labels(swarm, name)[PROJECT_LABEL] == f"hand{SUFFIX}"
    assert f"{name}: no change" in swarm.inv("deploy", "--service", name).output
