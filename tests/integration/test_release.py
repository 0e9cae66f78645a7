"""The release file: image.push writes the digests it pushed (the edge's too), `deploy --release` runs exactly
those, with no local image, and refuses a digest the registry lacks before it changes anything."""
import json
import re
import subprocess
import urllib.request

import pytest

from helpers import assert_one_line_error, free_port, http_get, running_registry


@pytest.fixture
def registry(tmp_path):
    with running_registry(tmp_path, "127.0.0.1") as port:
        yield f"127.0.0.1:{port}"


def registry_digest(registry: str, repo: str, tag: str) -> str:
    request = urllib.request.Request(f"http://{registry}/v2/{repo}/manifests/{tag}", method="HEAD", headers={
        "Accept": "application/vnd.docker.distribution.manifest.v2+json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.headers["Docker-Content-Digest"]


def forget_local_images(engine, registry: str):
    for img in engine.images.list():
        for tag in img.tags:
            if tag.startswith(f"{registry}/"):
                engine.images.remove(tag)


def running_digests(swarm, names) -> dict:
    return {n: swarm.service(n)["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"] for n in names}


def test_push_writes_the_release_and_deploy_runs_exactly_it(swarm, registry, engine):
    app = swarm.add_service("accountservice", port=6767, publish=free_port(), publish_mode="edge",
                            smoke="/accounts/10000")
    swarm.names.append(f"{app}-edge")
    swarm.config["image"]["registry"] = registry
    head = git_commit(swarm)
    swarm.inv("build", "--service", app)
    push = swarm.inv("image.push", "--service", app)
    assert "wrote " in push.output
    path = swarm.tmp / "dist" / "release.json"
    data = json.loads(path.read_text())
    assert set(data["services"]) == {app, "goswarm-edge"}  # the edge image is built and pushed too
    for entry in data["services"].values():
        repo = entry["image"].split("/", 1)[1]
        sha = registry_digest(registry, repo, entry["tag"])
        assert entry["digest"] == f"{registry}/{repo}@{sha}" and entry["platforms"] == {"linux/amd64": sha}
        assert len(entry["source_hash"]) == 64
    assert data["services"][app]["revision"] == head

    forget_local_images(engine, registry)  # the deploy job's engine never built them
    swarm.inv("deploy", "--release", str(path))
    images = running_digests(swarm, [app, f"{app}-edge"])
    for name, service in ((app, app), (f"{app}-edge", "goswarm-edge")):
        entry = data["services"][service]
        assert images[name] == f"{entry['image']}:{entry['tag']}@{entry['digest'].split('@')[1]}"
    port = swarm.config["services"][app]["publish"]
    assert http_get(f"http://127.0.0.1:{port}/accounts/10000").startswith('{"id":"10000"')
    assert "no change" in swarm.inv("deploy", "--release", str(path)).output

    # A second release, then back: deploy.rollback works on a release deploy
    edit_name(swarm, "Second_")
    swarm.inv("build", "--service", app)
    second = swarm.tmp / "second.json"
    swarm.inv("image.push", "--service", app, "--release-file", str(second))
    dry = swarm.inv("deploy", "--release", str(second), "--service", app, dry=True)
    assert f"[dry] would update service {app}" in dry.output and running_digests(swarm, [app]) == {app: images[app]}
    swarm.inv("deploy", "--release", str(second), "--service", app)
    assert http_get(f"http://127.0.0.1:{port}/accounts/10000") == '{"id":"10000","name":"Second_0"}\n'
    swarm.inv("deploy.rollback", "--service", app)
    assert running_digests(swarm, [app])[app] == images[app]
    assert http_get(f"http://127.0.0.1:{port}/accounts/10000") == '{"id":"10000","name":"Person_0"}\n'


def test_a_digest_the_registry_lacks_is_refused_before_any_change(swarm, registry):
    name = swarm.add_service("quotes-service", port=8080)
    swarm.config["image"]["registry"] = registry
    dry = swarm.inv("redeploy", "--service", name, dry=True)
    assert "[dry] would write" in dry.output and swarm.service(name) is None
    swarm.inv("redeploy", "--service", name)  # with a registry, redeploy writes the release too
    path = swarm.tmp / "dist" / "release.json"
    before = swarm.service(name)["Version"]["Index"]
    data = json.loads(path.read_text())
    entry = data["services"][name]
    sha = entry["digest"].split("@")[1]
    bogus = "sha256:" + "0" * 64
    entry["digest"] = entry["digest"].split("@")[0] + "@" + bogus
    path.write_text(json.dumps(data))
    refused = swarm.inv("deploy", "--release", str(path), check=False)
    assert_one_line_error(refused, f"{registry}/it/{name}@{bogus}", "nothing was changed")
    assert swarm.service(name)["Version"]["Index"] == before

    # Edited to point the service at another repository's image (a real digest): refused in one line, first.
    entry["image"], entry["digest"] = f"{registry}/it/elsewhere", f"{registry}/it/elsewhere@{sha}"
    path.write_text(json.dumps(data))
    foreign = swarm.inv("deploy", "--release", str(path), check=False)
    assert_one_line_error(foreign, f"the release's image for {name} is {registry}/it/elsewhere, not {name}'s "
                                   f"repository {registry}/it/{name}", "nothing was changed")
    assert swarm.service(name)["Version"]["Index"] == before

    path.write_text(json.dumps({"services": {name: {"image": "x"}}})[:-3])
    assert_one_line_error(swarm.inv("deploy", "--release", str(path), check=False), "is not JSON")
    unknown = swarm.inv("deploy", "--release", str(swarm.tmp / "nope.json"), check=False)
    assert_one_line_error(unknown, "nope.json does not exist")


def git_commit(project) -> str:
    """Make the project a git repository of its sources; the short revision."""
    (project.tmp / ".gitignore").write_text("/*\n!/src\n!/.gitignore\n")
    git = ["git", "-C", str(project.tmp), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "sources"], check=True)
    return subprocess.run([*git, "rev-parse", "--short", "HEAD"], check=True, capture_output=True,
                          text=True).stdout.strip()


def edit_name(project, prefix: str):
    main_go = project.source("accountservice")
    main_go.write_text(re.sub(r'"\w+_" \+ strconv', f'"{prefix}" + strconv', main_go.read_text()))


def test_several_platforms_without_a_registry_build_the_binaries_and_say_a_list_needs_one(project, engine):
    name = project.add_service("quotes-service", port=8080)
    project.config["build"]["platforms"] = "linux/amd64,linux/arm64"
    project.inv("build", "--service", name)
    assert {p.name for p in (project.tmp / "dist").glob(f"{name}-linux-*")} == {
        f"{name}-linux-amd64", f"{name}-linux-arm64"}
    built = project.inv("image.build", "--service", name)
    assert "a multi-platform image (a manifest list) needs a registry: set image.registry" in built.output
    image = engine.images.get(f"it/{name}:latest")
    assert (image.attrs["Os"], image.attrs["Architecture"]) == ("linux", "amd64")
    refused = project.inv("image.push", "--service", name, check=False)
    assert_one_line_error(refused, "no registry is configured")
