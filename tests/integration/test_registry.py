"""image.push against a real registry (Debian's docker-registry), started by the test."""
import pytest

from helpers import assert_one_line_error, free_port, http_get, running_registry


@pytest.fixture
def registry(tmp_path):
    with running_registry(tmp_path, "127.0.0.1") as port:
        yield f"127.0.0.1:{port}"


def test_redeploy_pushes_and_deploys_the_pushed_digest(swarm, registry):
    name = swarm.add_service("quotes-service", port=8080)
    swarm.config["image"]["registry"] = registry
    result = swarm.inv("redeploy", "--service", name)
    assert "push" in result.output and f"pushed {registry}/it/{name}:" in result.output
    image = swarm.service(name)["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
    assert image.startswith(f"{registry}/it/{name}:") and "@sha256:" in image
    tags = http_get(f"http://{registry}/v2/it/{name}/tags/list")
    assert image.split(":")[-2].split("@")[0] in tags


def test_push_failure_is_one_line_and_deploys_nothing(swarm):
    name = swarm.add_service("quotes-service", port=8080)
    swarm.config["image"]["registry"] = f"127.0.0.1:{free_port()}"
    result = swarm.inv("redeploy", "--service", name, env={"REGISTRY_USERNAME": "ci",
                                                              "REGISTRY_PASSWORD": "hunter2-secret"}, check=False)
    assert_one_line_error(result, "push")
    assert "hunter2-secret" not in result.output
    assert swarm.service(name) is None


def test_deploy_without_the_local_image_asks_the_registry(swarm, registry, engine):
    """A CI deploy job talks to a manager that never built the image: the pushed digest is found."""
    name = swarm.add_service("quotes-service", port=8080)
    swarm.config["image"]["registry"] = registry
    swarm.inv("build", "--service", name)
    swarm.inv("image.push", "--service", name)
    pushed = next(d for d in engine.images.get(f"{registry}/it/{name}:latest").attrs["RepoDigests"]
                  if d.startswith(f"{registry}/"))
    for tag in engine.images.get(f"{registry}/it/{name}:latest").tags:
        engine.images.remove(tag)
    swarm.inv("deploy", "--service", name)
    image = swarm.service(name)["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
    assert image == pushed.replace("@", ":latest@")
    assert "no change" in swarm.inv("deploy", "--service", name).output


def test_deploy_refuses_an_image_that_was_never_pushed(swarm, registry):
    name = swarm.add_service("quotes-service", port=8080)
    swarm.config["image"]["registry"] = registry
    result = swarm.inv("deploy", "--service", name, check=False)
    assert_one_line_error(result, f"no image {registry}/it/{name}:latest here or in {registry}")
