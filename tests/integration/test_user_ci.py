"""The pipelines `goswarm init --ci github|gitlab` writes, run: in a user's repository (tests/fixtures/userrepo,
not this one), their own job commands, stage by stage, as test_ci_pipeline.py's runner runs them (a fresh clone,
HOME and venv per job). goswarm is installed as the jobs say, `pip install goswarm==<this version>`, from a
wheelhouse of this checkout's wheel and its dependencies (PIP_NO_INDEX: nothing comes from an index). The jobs
push to a registry with auth and deploy the release file's digests to this machine's engine (the deploy over
ssh:// to a lab is test_ci_pipeline's); the registry's password appears in no job's output.

The GitHub workflow ships the first version, the GitLab pipeline a one-line change, so both are proven."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import docker
from invoke.util import yaml
from test_ci_pipeline import Runner, commit, report
from test_registry_auth import CANARY, USER, AuthRegistry

from goswarm import __version__
from goswarm.plan.servicespec import PROJECT_LABEL
from helpers import ROOT, SUFFIX, free_port, go_env, http_get, wait_for

FIXTURE = ROOT / "tests" / "fixtures" / "userrepo"
NAME = f"uc{SUFFIX}-greeter"
NETWORK = f"uc-net-{SUFFIX}"


def goswarm(*args, cwd: Path) -> str:
    result = subprocess.run([str(Path(sys.executable).parent / "goswarm"), *args], cwd=cwd, capture_output=True,
                            text=True, stdin=subprocess.DEVNULL, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def user_repo(origin: Path, publish: int) -> None:
    """The user's repository: their Go service, their goswarm.yaml, then the pipelines init writes, committed."""
    shutil.copytree(FIXTURE, origin)
    (origin / "goswarm.yaml").write_text(
        f"project: uc{SUFFIX}\nimage:\n  prefix: it\nservices:\n  {NAME}:\n    path: greeter\n    port: 8080\n"
        f"    publish: {publish}\n    smoke: /hello\n    healthcheck: {{http: /health}}\n")
    git = ["git", "-C", str(origin), "-c", "user.name=u", "-c", "user.email=u@u"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    for kind in ("github", "gitlab"):
        said = goswarm("init", "--ci", kind, cwd=origin)
        assert f"with goswarm {__version__})" in said, said
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "greeter, and its pipelines"], check=True)


def wheelhouse(where: Path) -> Path:
    """This checkout's goswarm wheel and its dependencies' wheels: what `pip install goswarm==X` finds."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "-w", str(where), str(ROOT)], check=True,
                   timeout=300, capture_output=True)
    assert list(where.glob(f"goswarm-{__version__}-*.whl"))
    return where


class CachedRunner(Runner):
    """Jobs with their CI system's caches restored, as the pipelines ask for them: GitHub's setup-go restores the
    Go build and module caches, GitLab's `cache:` restores .cache/ (go-build, go-mod, pip). Here both are this
    machine's own caches, so that no job compiles the standard library from nothing."""

    def __init__(self, *args, caches: dict):
        super().__init__(*args)
        self.caches = caches

    def workspace(self, name: str) -> tuple:
        repo, home, venv = super().workspace(name)
        (repo / ".cache").mkdir()
        for directory, target in self.caches.items():
            (repo / ".cache" / directory).symlink_to(target)
        return repo, home, venv


def test_the_generated_pipelines_ship_a_users_repo_through_separate_jobs(engine, tmp_path):
    publish = free_port()
    origin = tmp_path / "origin"
    user_repo(origin, publish)
    network = engine.networks.create(NETWORK, driver="overlay", attachable=True)
    auth = AuthRegistry(tmp_path)
    registry = f"127.0.0.1:{auth.port}"
    values = {"REGISTRY": registry, "REGISTRY_USERNAME": USER, "REGISTRY_PASSWORD": CANARY,
              "DEPLOY_HOST": "unix:///var/run/docker.sock", "MANAGER_IP": "127.0.0.1",
              "DEPLOY_SSH_KEY": "(the engine is local: no key is used)", "DEPLOY_KNOWN_HOSTS": "(none)"}
    (tmp_path / "pip-cache").mkdir()
    caches = {"go-build": go_env("GOCACHE"), "go-mod": go_env("GOMODCACHE"), "pip": str(tmp_path / "pip-cache")}
    extra = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheelhouse(tmp_path / "wheels")),
             "GOSWARM_SWARM_NETWORK": NETWORK, "GOCACHE": caches["go-build"], "GOMODCACHE": caches["go-mod"]}
    runner = CachedRunner(tmp_path, origin, values, extra, caches=caches)
    try:
        workflow = yaml.safe_load((origin / ".github" / "workflows" / "goswarm.yml").read_text())
        outputs = {job: runner.timed("github", job, lambda job=job: runner.github(workflow, job))
                   for job in ("test", "push", "deploy")}
        assert "ok  \texample.com/greeter" in outputs["test"]
        first = json.loads((runner.artifacts / "release" / "release.json").read_text())["services"]
        assert set(first) == {NAME} and first[NAME]["image"] == f"{registry}/it/{NAME}"
        assert f"smoke http://127.0.0.1:{publish}/hello: 200" in outputs["deploy"]
        assert http_get(f"http://127.0.0.1:{publish}/hello") == "hello from the user's repo\n"
        spec = engine.api.inspect_service(NAME)["Spec"]
        assert spec["Labels"][PROJECT_LABEL] == f"uc{SUFFIX}"
        assert spec["TaskTemplate"]["ContainerSpec"]["Image"].endswith(first[NAME]["digest"].split("@")[1])

        main_go = origin / "greeter" / "main.go"
        main_go.write_text(main_go.read_text().replace("hello from the user's repo", "hello again, from GitLab"))
        commit(origin, "greeter: a one-line change")
        shutil.rmtree(runner.artifacts)
        pipeline = yaml.safe_load((origin / ".gitlab-ci.yml").read_text())
        outputs = {job: runner.timed("gitlab", job, lambda job=job: runner.gitlab(pipeline, job))
                   for job in ("test", "build", "push", "deploy")}
        second = json.loads((runner.artifacts / "push" / "dist" / "release.json").read_text())["services"]
        assert second[NAME]["digest"] != first[NAME]["digest"]
        assert f"smoke http://127.0.0.1:{publish}/hello: 200" in outputs["deploy"]
        assert http_get(f"http://127.0.0.1:{publish}/hello") == "hello again, from GitLab\n"
        assert all(CANARY not in out for out in runner.outputs)
    finally:
        report(runner.timings)
        try:
            engine.api.remove_service(NAME)
        except docker.errors.NotFound:
            pass
        wait_for(lambda: not engine.containers.list(filters={"label": f"com.docker.swarm.service.name={NAME}"}),
                 60, f"{NAME}'s containers to stop")
        wait_for(lambda: network.remove() is None, 30, f"removing network {NETWORK}")
        for image in engine.images.list():
            if any(t.startswith((f"{registry}/", f"it/{NAME}")) for t in image.tags):
                engine.images.remove(image.id, force=True)
        auth.stop()
