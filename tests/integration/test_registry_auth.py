"""A private registry (htpasswd auth) that a 3-node lab pulls from: credentials go with the push and with every
service create and update, a wrong password fails at the push, a deploy without credentials fails in one line
naming the pull failure and leaves the old release running, multi-platform images are one manifest list the
nodes run, and the password is written nowhere."""
import json
import shutil
import subprocess

import pytest

from helpers import SUFFIX, assert_one_line_error, free_port, http_get, lab_project, wait_for

PREFIX = f"ra{SUFFIX}"
MANAGER = f"{PREFIX}-1"
USER = "ci-bot"
CANARY = f"canary-{SUFFIX}-Zq8#pw"  # the password: grepped for in everything the tool leaves behind
CONFIG_USER = ("cfg-user", f"from-docker-config-{SUFFIX}")  # a second user, whose login is in a docker config


class AuthRegistry:
    """Debian's docker-registry with htpasswd auth, on 0.0.0.0:<free port> so that the lab's nodes reach it at
    the bridge's address."""

    def __init__(self, tmp):
        binary, htpasswd = shutil.which("docker-registry"), shutil.which("htpasswd")
        if not binary or not htpasswd:
            pytest.fail("docker-registry and htpasswd (apache2-utils) are needed: .ci/run installs them")
        self.port = free_port()
        users = tmp / "htpasswd"
        lines = [subprocess.run([htpasswd, "-Bbn", user, password], check=True, capture_output=True,
                                text=True).stdout.strip() for user, password in ((USER, CANARY), CONFIG_USER)]
        users.write_text("\n".join(lines) + "\n")
        config = tmp / "registry.yml"
        config.write_text(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {tmp / 'registry'}\n"
                          f"http:\n  addr: 0.0.0.0:{self.port}\n"
                          f"auth:\n  htpasswd:\n    realm: goswarm-test\n    path: {users}\n")
        self.log = tmp / "registry.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=log)

        def answers_401():
            import urllib.error
            try:
                http_get(f"http://127.0.0.1:{self.port}/v2/")
            except urllib.error.HTTPError as e:
                return e.code == 401
            return False
        wait_for(answers_401, 20, "the registry to ask for credentials")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture(scope="module")
def lab(tmp_path_factory, engine):
    from goswarm.io import netns

    tmp = tmp_path_factory.mktemp("authlab")
    project = lab_project(tmp, engine, PREFIX)
    (tmp / "docker-config").mkdir()  # the docker CLI config of the runs: none of the user's credentials
    project.extra_env["DOCKER_CONFIG"] = str(tmp / "docker-config")
    registry = AuthRegistry(tmp)
    project.registry = registry
    project.config["image"].update(registry=f"127.0.0.1:{registry.port}",
                                   node_registry=f"{netns.GATEWAY}:{registry.port}")
    project.logs = []
    try:
        project.inv("lab.up", "--nodes", "3")
        yield project
    finally:
        project.logs = [p.read_text(errors="replace") for p in project.machines_dir.rglob("*.log")]
        project.inv("lab.down", check=False)
        registry.stop()


CREDENTIALS = {"REGISTRY_USERNAME": USER, "REGISTRY_PASSWORD": CANARY}
NONE = {"REGISTRY_USERNAME": "", "REGISTRY_PASSWORD": ""}


def manager_client(lab):
    import docker

    record = json.loads((lab.machines_dir / MANAGER / "machine.json").read_text())
    return docker.DockerClient(base_url=f"unix://{record['extras']['socket']}")


def rename_accounts(project, prefix: str) -> None:
    import re

    main_go = project.source("accountservice")
    main_go.write_text(re.sub(r'"\w+_" \+ strconv', f'"{prefix}" + strconv', main_go.read_text()))


def bodies(lab, name) -> set:
    """What the service answers on each node that runs a task of it."""
    client = manager_client(lab)
    nodes = {n["ID"]: n["Status"]["Addr"] for n in client.api.nodes()}
    tasks = client.api.tasks(filters={"service": name, "desired-state": "running"})
    port = lab.config["services"][name]["publish"]
    return {http_get(f"http://{nodes[t['NodeID']]}:{port}/accounts/10000") for t in tasks}


def test_workers_pull_from_the_private_registry_with_the_credentials(lab):
    name = lab.add_service("accountservice", port=6767, publish=free_port(), replicas=3, smoke="/accounts/10000")
    rename_accounts(lab, "Private_")
    result = lab.inv("redeploy", "--service", name, env=CREDENTIALS)
    assert f"pushed 127.0.0.1:{lab.registry.port}/it/{name}:" in result.output
    client = manager_client(lab)
    tasks = client.api.tasks(filters={"service": name, "desired-state": "running"})
    assert len({t["NodeID"] for t in tasks}) == 3  # one task per node: the workers had to pull
    assert all(t["Status"]["State"] == "running" for t in tasks)
    assert bodies(lab, name) == {'{"id":"10000","name":"Private_0"}\n'}
    spec = client.api.inspect_service(name)["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
    assert spec.startswith(f"10.77.0.1:{lab.registry.port}/it/{name}:") and "@sha256:" in spec


def test_a_wrong_password_fails_at_the_push_in_one_line(lab):
    name = lab.add_service("quotes-service", port=8080)
    lab.inv("build", "--service", name)
    wrong = lab.inv("image.push", "--service", name, env={"REGISTRY_USERNAME": USER,
                                                           "REGISTRY_PASSWORD": CANARY + "x"}, check=False)
    assert_one_line_error(wrong, f"cannot push to registry 127.0.0.1:{lab.registry.port}: it refused the credentials",
                          USER)
    assert CANARY not in wrong.output


def test_a_deploy_without_credentials_names_the_pull_failure_and_keeps_the_old_release(lab):
    name = lab.add_service("accountservice", "-nocred", port=6767, publish=free_port(), replicas=3,
                           smoke="/accounts/10000")
    rename_accounts(lab, "Kept_")
    lab.inv("redeploy", "--service", name, env=CREDENTIALS)
    before = manager_client(lab).api.inspect_service(name)
    rename_accounts(lab, "Unpulled_")
    release = lab.tmp / "unpulled.json"
    lab.inv("build", "--service", name)
    lab.inv("image.push", "--service", name, "--release-file", str(release), env=CREDENTIALS)
    refused = lab.inv("deploy", "--release", str(release), env=NONE, check=False)
    assert_one_line_error(refused, "nodes cannot pull", "nothing was changed")
    assert "no basic auth credentials" in refused.stderr or "unauthorized" in refused.stderr, refused.stderr
    after = manager_client(lab).api.inspect_service(name)
    assert after["Version"] == before["Version"]
    assert bodies(lab, name) == {'{"id":"10000","name":"Kept_0"}\n'}
    lab.inv("deploy", "--release", str(release), env=CREDENTIALS)  # with them, the same release goes out
    assert bodies(lab, name) == {'{"id":"10000","name":"Unpulled_0"}\n'}


def test_nodes_that_cannot_pull_during_the_rollout_are_named_and_the_old_release_runs_again(lab):
    """The manager reaches the registry (so the check before the deploy passes) but the workers cannot: their
    tasks are rejected ("No such image"), the engine rolls the update back, and the one line says a node could
    not pull the release's reference."""
    name = lab.add_service("accountservice", "-blocked", port=6767, publish=free_port(), replicas=3,
                           smoke="/accounts/10000")
    rename_accounts(lab, "Before_")
    lab.inv("redeploy", "--service", name, env=CREDENTIALS)
    rename_accounts(lab, "Blocked_")
    release = lab.tmp / "blocked.json"
    lab.inv("build", "--service", name)
    lab.inv("image.push", "--service", name, "--release-file", str(release), env=CREDENTIALS)
    workers = [json.loads(p.read_text())["extras"]["netns"] for p in sorted(lab.machines_dir.glob("*/machine.json"))
               if p.parent.name != MANAGER]
    rule = ["OUTPUT", "-p", "tcp", "-d", "10.77.0.1", "--dport", str(lab.registry.port), "-j", "REJECT",
            "--reject-with", "tcp-reset"]
    try:
        for netns in workers:
            subprocess.run(["nsenter", f"--net=/run/netns/{netns}", "iptables", "-I", *rule], check=True)
        failed = lab.inv("deploy", "--release", str(release), env=CREDENTIALS, check=False)
    finally:
        for netns in workers:
            subprocess.run(["nsenter", f"--net=/run/netns/{netns}", "iptables", "-D", *rule], check=False)
    entry = json.loads(release.read_text())["services"][name]
    assert_one_line_error(failed, "the node could not pull", entry["digest"].split("@")[1])
    assert "previous release" in failed.stderr, failed.stderr
    wait_for(lambda: bodies(lab, name) == {'{"id":"10000","name":"Before_0"}\n'}, 30, "the old release on every node")


def test_credentials_from_the_docker_config(lab, tmp_path):
    """No REGISTRY_* at all: the login a docker config holds (as `docker login` leaves it) is used for the push
    and sent with the service create, so the nodes pull with it, at the registry's address as they name it."""
    import base64

    config = tmp_path / "docker-config"  # outside the project: the user's own config, not one goswarm writes
    config.mkdir()
    token = base64.b64encode(":".join(CONFIG_USER).encode()).decode()
    (config / "config.json").write_text(json.dumps({"auths": {f"127.0.0.1:{lab.registry.port}": {"auth": token}}}))
    name = lab.add_service("accountservice", "-cfg", port=6767, publish=free_port(), replicas=3,
                           smoke="/accounts/10000")
    rename_accounts(lab, "Configured_")
    result = lab.inv("redeploy", "--service", name, env={**NONE, "DOCKER_CONFIG": str(config)})
    assert f"pushed 127.0.0.1:{lab.registry.port}/it/{name}:" in result.output
    assert bodies(lab, name) == {'{"id":"10000","name":"Configured_0"}\n'}
    assert len({t["NodeID"] for t in manager_client(lab).api.tasks(filters={"service": name})}) == 3


LISTS = "application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.index.v1+json"
IMAGE = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json"


def registry_get(lab, path: str, accept: str = "*/*"):
    """(the JSON, the Docker-Content-Digest header) of a registry API GET, with the test's credentials."""
    import base64
    import urllib.request

    token = base64.b64encode(f"{USER}:{CANARY}".encode()).decode()
    request = urllib.request.Request(f"http://127.0.0.1:{lab.registry.port}{path}",
                                     headers={"Accept": accept, "Authorization": f"Basic {token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read()), response.headers.get("Docker-Content-Digest")


def test_multi_platform_images_are_one_index_that_the_amd64_nodes_run(lab):
    name = lab.add_service("quotes-service", "-multi", port=8080, replicas=3)
    lab.config["build"]["platforms"] = "linux/amd64,linux/arm64"
    try:
        lab.inv("build", "--service", name)
        assert {p.name for p in (lab.tmp / "dist").glob(f"{name}-linux-*")} == {
            f"{name}-linux-amd64", f"{name}-linux-arm64"}
        release = lab.tmp / "multi.json"
        push = lab.inv("image.push", "--service", name, "--release-file", str(release), env=CREDENTIALS)
        assert "a manifest list of linux/amd64, linux/arm64" in push.output, push.output
        entry = json.loads(release.read_text())["services"][name]
        assert set(entry["platforms"]) == {"linux/amd64", "linux/arm64"}

        index, digest = registry_get(lab, f"/v2/it/{name}/manifests/{entry['tag']}", LISTS)
        assert f"{entry['image']}@{digest}" == entry["digest"]
        assert index["mediaType"] in LISTS.split(", ")
        listed = {f"{m['platform']['os']}/{m['platform']['architecture']}": m["digest"] for m in index["manifests"]}
        assert listed == entry["platforms"]
        latest, latest_digest = registry_get(lab, f"/v2/it/{name}/manifests/latest", LISTS)
        assert latest_digest == digest
        arm, _ = registry_get(lab, f"/v2/it/{name}/manifests/{entry['platforms']['linux/arm64']}", IMAGE)
        config, _ = registry_get(lab, f"/v2/it/{name}/blobs/{arm['config']['digest']}")
        assert (config["os"], config["architecture"]) == ("linux", "arm64")
        amd, _ = registry_get(lab, f"/v2/it/{name}/manifests/{entry['platforms']['linux/amd64']}", IMAGE)
        config, _ = registry_get(lab, f"/v2/it/{name}/blobs/{amd['config']['digest']}")
        assert (config["os"], config["architecture"]) == ("linux", "amd64")

        lab.inv("deploy", "--release", str(release), env=CREDENTIALS)
        client = manager_client(lab)
        image = client.api.inspect_service(name)["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
        assert image == f"10.77.0.1:{lab.registry.port}/it/{name}:{entry['tag']}@{digest}"
        tasks = client.api.tasks(filters={"service": name, "desired-state": "running"})
        assert len(tasks) == 3 and all(t["Status"]["State"] == "running" for t in tasks)
        assert len({t["NodeID"] for t in tasks}) == 3

        again = lab.inv("image.push", "--service", name, "--release-file", str(release), env=CREDENTIALS)
        assert "already in the registry" in again.output and "pushed" not in again.output, again.output
        assert json.loads(release.read_text())["services"][name] == entry
    finally:
        lab.config["build"]["platforms"] = "linux/amd64"


def test_the_password_is_written_nowhere(lab):
    files = [p for p in lab.tmp.rglob("*") if p.is_file()]
    assert files and lab.all_output
    for path in files:
        assert CANARY.encode() not in path.read_bytes(), path
    for output in lab.all_output:
        assert CANARY not in output
    logs = [p.read_text(errors="replace") for p in lab.machines_dir.rglob("*.log")]
    assert len(logs) >= 6  # each machine's dockerd and sshd
    for log in logs:
        assert CANARY not in log
