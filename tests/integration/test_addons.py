"""The blog's add-ons and `image:` services on the real engine. The add-ons' images cannot be pulled here, so
the test builds a stand-in (tests/fixtures/nodelister: a static Go server, FROM scratch, that lists the
engine's nodes through the mounted socket) under the add-on's image name, and removes that tag again."""
import os
import subprocess

import docker
import pytest

from helpers import ROOT, SUFFIX, assert_one_line_error, free_port, http_get, wait_for

ADDONS = {"visualizer": ("dockersamples/visualizer:latest", 8080), "dvizz": ("eriklupander/dvizz:latest", 6969)}
SOCKET = "/var/run/docker.sock"


@pytest.fixture
def stand_in(engine, tmp_path):
    """Builds the stand-in; `tag(ref)` gives it an add-on's name. Every tag it gave is removed afterwards."""
    build = tmp_path / "nodelister"
    build.mkdir()
    subprocess.run(["go", "build", "-o", str(build / "nodelister"), "."], check=True,
                   cwd=ROOT / "tests" / "fixtures" / "nodelister", env={**os.environ, "CGO_ENABLED": "0"})
    (build / "Dockerfile").write_text('FROM scratch\nCOPY nodelister /nodelister\nENTRYPOINT ["/nodelister"]\n')
    image, _ = engine.images.build(path=str(build), tag=f"it/nodelister:{SUFFIX}")
    given = []

    def tag(ref: str):
        repository, _, version = ref.rpartition(":")
        image.tag(repository, version)
        given.append(ref)

    yield tag
    for ref in given:
        try:
            engine.images.remove(ref)
        except docker.errors.APIError:
            pass


@pytest.fixture
def addons(swarm, engine):
    """The swarm project with both add-ons on free ports; their services removed afterwards."""
    swarm.config["addons"] = {name: {"publish": free_port()} for name in ADDONS}
    swarm.names += list(ADDONS)
    yield swarm


def absent(engine, ref: str) -> None:
    """No image by that name here (a stand-in left by a run that was killed): the pull must be tried."""
    try:
        engine.images.remove(ref)
    except docker.errors.ImageNotFound:
        pass


def test_a_socket_mount_needs_the_opt_in_and_the_refusal_points_at_viz(addons):
    result = addons.inv("addons.deploy", "visualizer", check=False)
    assert_one_line_error(result, "visualizer mounts the Docker socket", "root on the node", "--allow-docker-socket",
                          "viz")
    assert addons.service("visualizer") is None


def test_an_image_that_cannot_be_pulled_is_one_line(addons, engine):
    absent(engine, ADDONS["dvizz"][0])
    result = addons.inv("addons.deploy", "dvizz", "--allow-docker-socket", check=False)
    assert_one_line_error(result, "addons.dvizz.image eriklupander/dvizz", "cannot be pulled",
                          "nothing was changed")
    assert "warning: dvizz mounts the Docker socket" in result.stdout
    assert addons.service("dvizz") is None


def test_dry_shows_the_spec_and_creates_nothing(addons, stand_in):
    stand_in(ADDONS["visualizer"][0])
    result = addons.inv("addons.deploy", "visualizer", "--allow-docker-socket", "--dry")
    assert "[dry] visualizer would run as this service spec:" in result.output
    assert '"Source": "/var/run/docker.sock"' in result.output and "node.role==manager" in result.output
    assert f'"PublishedPort": {addons.config["addons"]["visualizer"]["publish"]}' in result.output
    assert "[dry] would create service visualizer" in result.output
    assert addons.service("visualizer") is None


@pytest.mark.parametrize("name", sorted(ADDONS))
def test_an_addon_runs_as_the_blog_deploys_it_and_reads_the_swarm_through_the_socket(addons, engine, stand_in,
                                                                                     name):
    image, port = ADDONS[name]
    stand_in(image)
    published = addons.config["addons"][name]["publish"]
    result = addons.inv("addons.deploy", name, "--allow-docker-socket")
    assert f"warning: {name} mounts the Docker socket" in result.output
    assert f"{name}: http://127.0.0.1:{published}/" in result.output

    service = addons.service(name)
    task = service["Spec"]["TaskTemplate"]
    assert task["ContainerSpec"]["Image"] == image
    assert task["ContainerSpec"]["Mounts"] == [{"Type": "bind", "Source": SOCKET, "Target": SOCKET}]
    assert task["Placement"]["Constraints"] == ["node.role==manager"]
    assert service["Spec"]["EndpointSpec"]["Ports"] == [
        {"Protocol": "tcp", "TargetPort": port, "PublishedPort": published, "PublishMode": "host"}]
    network = engine.networks.get(addons.network).id
    assert [n["Target"] for n in task["Networks"]] == [network]

    me = engine.info()["Swarm"]["NodeID"]
    hostname = engine.api.inspect_node(me)["Description"]["Hostname"]
    body = wait_for(lambda: http_get(f"http://127.0.0.1:{published}/"), 30, f"{name} to answer")
    assert f"{hostname} manager ready" in body.splitlines()

    assert f"{name}: no change" in addons.inv("addons.deploy", name, "--allow-docker-socket").output
    listed = addons.inv("addons.ls").output
    row = next(line for line in listed.splitlines() if line.startswith(name))
    assert image.split(":")[0] in row and "yes" in row and "1/1 running" in row

    addons.inv("addons.rm", name)
    assert addons.service(name) is None
    row = next(line for line in addons.inv("addons.ls").output.splitlines() if line.startswith(name))
    assert "not deployed" in row


def test_an_image_service_is_deployed_as_it_is_never_built(swarm, engine, stand_in):
    ref = f"it/standin-{SUFFIX}:1"
    stand_in(ref)
    name = f"it{SUFFIX}-standin"
    published = free_port()
    swarm.names.append(name)
    swarm.config["services"][name] = {"image": ref, "port": 8080, "publish": published,
                                      "mounts": [f"{SOCKET}:{SOCKET}:ro"]}
    result = swarm.inv("redeploy", "--service", name)
    assert "go build" not in result.output and "built " not in result.output
    assert f"create service {name}" in result.output
    spec = swarm.service(name)["Spec"]["TaskTemplate"]["ContainerSpec"]
    assert spec["Image"] == ref and spec["Mounts"][0]["ReadOnly"] is True
    assert "manager ready" in wait_for(lambda: http_get(f"http://127.0.0.1:{published}/"), 30, "the stand-in")
    assert f"{name}: no change" in swarm.inv("redeploy", "--service", name).output

    missing = f"it/never-built-{SUFFIX}:1"
    swarm.config["services"][name]["image"] = missing
    failed = swarm.inv("redeploy", "--service", name, check=False)
    assert_one_line_error(failed, f"services.{name}.image {missing} is not on", "cannot be pulled")
    assert swarm.service(name)["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"] == ref  # left as it was
