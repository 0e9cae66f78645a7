"""`stack.export` against `docker stack deploy`: on a fresh 3-node lab, the services a stack deploy of the exported
file creates have the specs `goswarm deploy --release` creates for the same config, field for field, but for
the few fields listed in STACK_ONLY and DIFFERENT (each with why; the README lists them too)."""
import contextlib
import json
import subprocess

import docker
import pytest

from helpers import (
    SUFFIX,
    assert_one_line_error,
    free_port,
    http_get,
    lab_project,
    lab_up,
    running_registry,
    wait_for,
)
from helpers import machine_records as records

PREFIX = f"sx{SUFFIX}"
MANAGER = f"{PREFIX}-1"
STACK = f"sx{SUFFIX}"
NAMESPACE = "com.docker.stack.namespace"

# Fields only a stack sets, and why. Paths are dotted into the ServiceSpec.
STACK_ONLY = {
    f"Labels.{NAMESPACE}": "the stack's name, how `docker stack` finds its services",
    "Labels.com.docker.stack.image": "the image as the compose file names it, kept by the CLI for `stack ps`",
    f"TaskTemplate.ContainerSpec.Labels.{NAMESPACE}": "the same label on each task's container",
    "TaskTemplate.Placement.Platforms.0.Architecture": "`docker stack deploy --resolve-image always` (its default) "
    "asks the registry for the image's platforms and pins placement to them; goswarm checks the nodes' "
    "platforms itself before it changes anything (plan/placement.py) and sends no Platforms",
    "TaskTemplate.Placement.Platforms.0.OS": "the same",
}
# Fields both set, to different values, and why.
DIFFERENT = {
    "Name": "the stack prefixes each service's name with STACK_",
}


@pytest.fixture(scope="module")
def lab(tmp_path_factory, engine):
    with lab_up(lab_project(tmp_path_factory.mktemp("stacklab"), engine, PREFIX)) as project:
        yield project


def flatten(value, prefix="") -> dict:
    """{dotted path: leaf} of a spec; lists of scalars stay whole, lists of mappings are indexed."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}{key}."))
        return out
    if isinstance(value, list) and any(isinstance(item, dict) for item in value):
        out = {}
        for index, item in enumerate(value):
            out.update(flatten(item, f"{prefix}{index}."))
        return out
    return {prefix.rstrip("."): sorted(value) if isinstance(value, list) else value}


def differences(ours: dict, theirs: dict) -> dict:
    a, b = flatten(ours), flatten(theirs)
    return {path: (a.get(path), b.get(path)) for path in sorted(set(a) | set(b)) if a.get(path) != b.get(path)}


def test_docker_stack_deploy_of_the_export_creates_what_goswarm_deploy_creates(lab, tmp_path):
    from goswarm.io import netns

    nodes = [docker.DockerClient(base_url=f"unix://{r['extras']['socket']}") for r in records(lab)]
    socket, host = records(lab)[0]["extras"]["socket"], records(lab)[0]["host"]
    manager = nodes[0]
    public = free_port()
    app = lab.add_service("accountservice", "-sx", port=6767, publish=public, publish_mode="edge", replicas=2,
                          smoke="/accounts/10000", env={"GREETING": "hello: stack"})
    worker = lab.add_service("quotes-service", "-sx", port=8080, replicas=2, constraints=["node.role==worker"],
                             healthcheck={"tcp": True})
    names = [app, f"{app}-edge", worker]
    with running_registry(tmp_path, "0.0.0.0") as registry, removed_after(lab.engine, f"127.0.0.1:{registry}/"):
        lab.config["image"].update(registry=f"127.0.0.1:{registry}", node_registry=f"{netns.GATEWAY}:{registry}")
        release = tmp_path / "release.json"
        both = f"{app},{worker}"
        lab.inv("build", "--service", both)
        lab.inv("image.push", "--service", both, "--release-file", str(release))
        compose = tmp_path / "compose.yml"
        exported = lab.inv("stack.export", "--release", str(release), "-o", str(compose))
        assert sorted(json.loads(release.read_text())["services"]) == sorted([app, worker, "goswarm-edge"])
        missing = lab.inv("stack.export", "--release", str(tmp_path / "none.json"), check=False)
        assert_one_line_error(missing, "none.json does not exist")
        unwritable = lab.inv("stack.export", "--release", str(release), "-o", str(tmp_path / "no" / "f.yml"),
                             check=False)
        assert_one_line_error(unwritable, "cannot write")
        dry = lab.inv("stack.export", "--release", str(release), "-o", str(tmp_path / "dry.yml"), dry=True)
        assert "[dry] would write" in dry.output and not (tmp_path / "dry.yml").exists()
        assert f"wrote {compose}" in exported.output
        text = compose.read_text()
        assert text.startswith("# What `goswarm deploy` creates") and '"version": "3.8"' in text

        cli_env = {"DOCKER_HOST": f"unix://{socket}", "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path)}
        deployed = subprocess.run(["docker", "stack", "deploy", "-c", str(compose), STACK], env=cli_env,
                                  capture_output=True, text=True, timeout=120)
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        try:
            wait_for(lambda: running(manager, [f"{STACK}_{n}" for n in names]), 120, "the stack's tasks")
            # running is not yet in the edge's set: it finds tasks by DNS and checks them within about a second
            answer = wait_for(lambda: http_get(f"http://{host}:{public}/accounts/10000"), 30, "the stack's edge")
            assert answer.startswith('{"id":"10000"')
            theirs = {n: manager.api.inspect_service(f"{STACK}_{n}")["Spec"] for n in names}
        finally:
            subprocess.run(["docker", "stack", "rm", STACK], env=cli_env, capture_output=True, timeout=60)
            wait_for(lambda: not manager.api.services(filters={"label": f"{NAMESPACE}={STACK}"}) and not [
                c for node in nodes for c in node.containers.list() if c.labels.get(NAMESPACE) == STACK], 90,
                "the stack's containers to go on every node")

        lab.inv("deploy", "--release", str(release))
        ours = {n: manager.api.inspect_service(n)["Spec"] for n in names}
        assert http_get(f"http://{host}:{public}/accounts/10000").startswith('{"id":"10000"')

    found = {}
    for name in names:
        diff = differences(ours[name], theirs[name])
        for path, (mine, stack) in diff.items():
            found.setdefault(path, []).append((name, mine, stack))
    print("\nstack vs goswarm deploy, fields that differ:\n" + "\n".join(
        f"  {path}: {rows}" for path, rows in found.items()))
    assert set(found) == set(STACK_ONLY) | set(DIFFERENT), found
    for path in STACK_ONLY:
        assert all(mine is None for _, mine, _ in found[path]), found[path]
    assert all(stack == f"{STACK}_{mine}" for _, mine, stack in found["Name"])
    # The fields that decide how each service runs are set on both sides, so the equality above covers them.
    for name in names:
        for field in ("TaskTemplate.ContainerSpec.Image", "TaskTemplate.ContainerSpec.Env",
                      "TaskTemplate.ContainerSpec.Healthcheck.Test", "TaskTemplate.ContainerSpec.StopGracePeriod",
                      "Mode", "EndpointSpec.Mode", "UpdateConfig.Order", "RollbackConfig.FailureAction",
                      "TaskTemplate.RestartPolicy.Delay", "TaskTemplate.Networks"):
            assert dig(ours[name], field) and dig(theirs[name], field), (name, field)
    assert dig(ours[worker], "TaskTemplate.Placement.Constraints") == ["node.role==worker"]
    assert dig(ours[f"{app}-edge"], "EndpointSpec.Ports")[0]["PublishMode"] == "host"
    assert dig(ours[f"{app}-edge"], "Mode") == {"Global": {}}


@contextlib.contextmanager
def removed_after(engine, prefix: str):
    """The images this test built on the host's engine (tagged for its registry) go when it ends."""
    try:
        yield
    finally:
        for image in engine.images.list():
            if any(tag.startswith(prefix) for tag in image.tags):
                engine.images.remove(image.id, force=True)


def dig(spec: dict, path: str):
    for key in path.split("."):
        spec = (spec or {}).get(key)
    return spec


def running(client, names) -> bool:
    for name in names:
        try:
            status = client.api.services(filters={"name": name}, status=True)
        except docker.errors.APIError:
            return False
        match = [s for s in status if s["Spec"]["Name"] == name]
        if not match or match[0]["ServiceStatus"]["RunningTasks"] != match[0]["ServiceStatus"]["DesiredTasks"]:
            return False
    return True
