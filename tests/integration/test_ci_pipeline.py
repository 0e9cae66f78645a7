"""The CI templates, run: their own job commands, read from ci/*.yml, stage by stage, the way a runner runs them.

Each job gets a fresh `git clone` of this repository's committed HEAD, its own HOME and its own venv (what
setup-python or the job's image gives), and runs as its own process. The jobs share nothing but the registry
and the artifacts the templates pass on (dist/, then dist/release.json). The deploy job reaches the 3-node
lab's manager over ssh:// with the host key pinned from a secret, and the manager has no image of ours before
it: every node pulls the release's digests from the registry.

The first pipeline runs the GitHub workflow, the second (a one-line change) the GitLab pipeline, so both
templates are proven. What a runner provides and this machine already has is not redone: `actions/setup-*`
(Python and Go are here), a GitLab job's `image:` and its `apt-get` lines (the packages are installed), and
the `integration` job (it is this suite). The registry is Debian's docker-registry with htpasswd auth
(test_registry_auth's), its credentials handed to the jobs as the templates say, and its password appears in
no job's output and no artifact.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest
from invoke.util import yaml
from test_registry_auth import CANARY, USER, AuthRegistry

from helpers import ROOT, SUFFIX, go_env, http_get, lab_project, lab_up
from helpers import machine_records as records

PREFIX = f"cp{SUFFIX}"
MANAGER = f"{PREFIX}-1"
GITHUB_JOBS = ["unit", "build", "push", "deploy"]  # `integration` is this suite itself
GITLAB_JOBS = ["unit", "build", "push", "deploy"]
STAGE_TIMEOUT = 600


@pytest.fixture(scope="module")
def lab(tmp_path_factory, engine):
    with lab_up(lab_project(tmp_path_factory.mktemp("cilab"), engine, PREFIX)) as project:
        yield project


class Runner:
    """Runs one CI job's commands in a fresh clone, with its own HOME and venv, and times it."""

    def __init__(self, tmp: Path, origin: Path, secrets: dict, extra_env: dict):
        self.tmp, self.origin, self.secrets, self.extra_env = tmp, origin, secrets, extra_env
        self.artifacts = tmp / "artifacts"  # what upload-artifact / artifacts: paths hand to a later job
        self.timings = []
        self.outputs = []
        self.gitlab_artifacts = []  # the GitLab jobs that left artifacts, in order
        self.summaries = {}  # GitHub job -> its GITHUB_STEP_SUMMARY file

    def workspace(self, name: str) -> tuple:
        where = self.tmp / name
        home, repo = where / "home", where / "repo"
        home.mkdir(parents=True)
        subprocess.run(["git", "clone", "-q", str(self.origin), str(repo)], check=True, timeout=60)
        venv = where / "python"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
        return repo, home, venv

    def environ(self, home: Path, venv: Path, env: dict) -> dict:
        """The process's environment less what would leak this test's own project into the job."""
        base = {k: v for k, v in os.environ.items()
                if not k.startswith(("GOSWARM_", "INVOKE_", "DOCKER_", "PYTEST_")) and k not in (
                    "VIRTUAL_ENV", "MACHINES_DIR", "ENV_FILE", "MANAGER_IP", "REGISTRY_USERNAME",
                    "REGISTRY_PASSWORD", "GOPATH", "GOCACHE", "GOMODCACHE")}
        path = [p for p in os.environ["PATH"].split(os.pathsep) if not p.startswith(str(Path(sys.executable).parent))]
        return {**base, "HOME": str(home), "PATH": os.pathsep.join([str(venv / "bin"), *path]), "CI": "true",
                **self.extra_env, **env}

    def shell(self, name: str, script: str, repo: Path, env: dict) -> str:
        result = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=repo, env=env,
                                capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=STAGE_TIMEOUT)
        out = result.stdout + result.stderr
        self.outputs.append(out)
        if result.returncode != 0:
            pytest.fail(f"{name}: `{script.strip()}` exited {result.returncode}:\n{out[-4000:]}")
        return out

    def timed(self, pipeline: str, job: str, body):
        start = time.monotonic()
        out = body()
        self.timings.append((pipeline, job, time.monotonic() - start))
        return out

    def expression(self, value: str) -> str:
        """`${{ secrets.NAME }}` and `${{ vars.NAME }}`, the only expressions the templates may use in env:
        (self.secrets holds both kinds of value)."""
        def secret(match):
            return self.secrets[match.group(1)]

        rest = re.sub(r"\$\{\{\s*(?:secrets|vars)\.(\w+)\s*\}\}", secret, str(value))
        assert "${{" not in rest, f"an expression this runner does not know: {value}"
        return rest

    def github(self, workflow: dict, job_name: str) -> str:
        job = workflow["jobs"][job_name]
        where = f"github-{job_name}-{len(self.timings)}"
        repo, home, venv = self.workspace(where)
        env = {k: self.expression(v) for k, v in {**workflow.get("env", {}), **job.get("env", {})}.items()}
        # What the runner sets for every step: the job's summary file (goswarm deploy appends to it).
        self.summaries[job_name] = home.parent / "step_summary.md"
        env["GITHUB_STEP_SUMMARY"] = str(self.summaries[job_name])
        # RUNNER_TEMP, and GITHUB_PATH: the directories a step adds there are on PATH for the steps after it.
        (home.parent / "runner_temp").mkdir()
        github_path = home.parent / "github_path"
        github_path.touch()
        env.update(RUNNER_TEMP=str(home.parent / "runner_temp"), GITHUB_PATH=str(github_path))
        outputs = []
        for step in job["steps"]:
            uses = step.get("uses", "")
            if uses.startswith("actions/checkout@"):
                continue  # the clone above
            if uses.startswith(("actions/setup-python@", "actions/setup-go@")):
                continue  # this machine's own, and the job's venv
            if uses.startswith("actions/upload-artifact@"):
                self.save(step["with"]["name"], repo / step["with"]["path"])
            elif uses.startswith("actions/download-artifact@"):
                self.load(step["with"]["name"], repo / step["with"]["path"])
            elif "run" in step:
                step_env = {k: self.expression(v) for k, v in (step.get("env") or {}).items()}
                environ = self.environ(home, venv, {**env, **step_env})
                added = [line for line in github_path.read_text().splitlines() if line.strip()]
                environ["PATH"] = os.pathsep.join([*reversed(added), environ["PATH"]])
                outputs.append(self.shell(f"github {job_name}", step["run"], repo / step.get("working-directory", "."),
                                          environ))
            else:
                pytest.fail(f"github {job_name}: a step this runner does not know: {step}")
        return "".join(outputs)

    def gitlab(self, pipeline: dict, job_name: str) -> str:
        job = pipeline[job_name]
        where = f"gitlab-{job_name}-{len(self.timings)}"
        repo, home, venv = self.workspace(where)
        for needed in job["needs"] if "needs" in job else self.gitlab_artifacts:
            self.load(needed, repo)
        # What GitLab sets for every job that the pipelines name.
        variables = {**self.secrets, "CI_PROJECT_DIR": str(repo), "CI_JOB_ID": str(len(self.timings) + 1)}
        key_file = home.parent / "DEPLOY_SSH_KEY"  # a variable of type file: its value is a path
        key_file.write_text(self.secrets["DEPLOY_SSH_KEY"] + "\n")
        variables["DEPLOY_SSH_KEY"] = str(key_file)
        for name, value in (pipeline.get("variables") or {}).items():
            variables[name] = re.sub(r"\$(\w+)", lambda m: variables.get(m.group(1), ""), str(value))
        lines = [line for line in job["script"] if not line.startswith("apt-get ")]  # the job image's packages
        out = self.shell(f"gitlab {job_name}", "\n".join(lines), repo, self.environ(home, venv, variables))
        for path in (job.get("artifacts") or {}).get("paths") or []:
            self.save(job_name, repo / path, relative_to=repo)
        if (job.get("artifacts") or {}).get("paths"):
            self.gitlab_artifacts.append(job_name)
        return out

    def save(self, name: str, path: Path, relative_to: Path = None):
        """upload-artifact: a directory's contents, or a file, under `name`; GitLab keeps the path in the repo."""
        store = self.artifacts / name
        target = store / path.relative_to(relative_to) if relative_to else store / path.name
        if path.is_dir():
            shutil.copytree(path, store / path.relative_to(relative_to) if relative_to else store, dirs_exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)

    def load(self, name: str, path: Path):
        """download-artifact: the artifact's files into `path`."""
        store = self.artifacts / name
        assert store.is_dir(), f"no artifact {name}"
        shutil.copytree(store, path, dirs_exist_ok=True)


def commit(repo: Path, message: str):
    env = {**os.environ, "GIT_AUTHOR_NAME": "ci test", "GIT_AUTHOR_EMAIL": "ci@test", "GIT_COMMITTER_NAME": "ci test",
           "GIT_COMMITTER_EMAIL": "ci@test"}
    subprocess.run(["git", "commit", "-qam", message], cwd=repo, check=True, env=env)


def running_digests(client, names) -> dict:
    """{service: {the image of each running task}}."""
    out = {}
    for name in names:
        tasks = client.api.tasks(filters={"service": name, "desired-state": "running"})
        out[name] = {t["Spec"]["ContainerSpec"]["Image"] for t in tasks if t["Status"]["State"] == "running"}
    return out


def test_the_templates_ship_a_change_through_separate_jobs(lab, tmp_path):
    from goswarm.io import netns

    nodes = records(lab)
    manager = nodes[0]
    manager_engine = docker.DockerClient(base_url=f"unix://{manager['extras']['socket']}")
    origin = tmp_path / "origin"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(origin)], check=True)
    port = 6767  # the repository's own config: accountservice's edge, on each lab node
    auth = AuthRegistry(tmp_path)
    registry = auth.port
    try:
        secrets = {
            "REGISTRY": f"127.0.0.1:{registry}", "REGISTRY_USERNAME": USER, "REGISTRY_PASSWORD": CANARY,
            "DEPLOY_HOST": f"ssh://root@{manager['host']}", "MANAGER_IP": manager["host"],
            "DEPLOY_SSH_KEY": Path(manager["key"]).read_text().strip(),
            "DEPLOY_KNOWN_HOSTS": f"{manager['host']} {manager['extras']['host_key'].strip()}",
        }
        # What the real CI's machines differ in: nodes pull from the registry at the lab bridge, the lab's
        # network.
        # The Go caches are this machine's, standing in for the runners' own (setup-go's, GitLab's cache:):
        # a cold one would download and compile the edge's Caddy modules in every build job.
        extra = {"GOSWARM_IMAGE_NODE_REGISTRY": f"{netns.GATEWAY}:{registry}",
                 "GOSWARM_SWARM_NETWORK": lab.network, "GOCACHE": go_env("GOCACHE"), "GOMODCACHE": go_env("GOMODCACHE")}
        runner = Runner(tmp_path, origin, secrets, extra)
        repos = [f"{secrets['REGISTRY']}/someprefix/"]
        try:
            assert not [t for i in manager_engine.images.list() for t in i.tags if "someprefix" in t]
            workflow = yaml.safe_load((ROOT / "ci" / "github-actions.yml").read_text())
            outputs = {job: runner.timed("github", job, lambda job=job: runner.github(workflow, job))
                       for job in GITHUB_JOBS}
            first = json.loads((runner.artifacts / "release" / "release.json").read_text())["services"]
            assert sorted(first) == ["accountservice", "goswarm-edge", "quotes-service"]
            check_running(manager_engine, first, netns.GATEWAY, registry)
            assert f"smoke http://{manager['host']}:{port}/accounts/10000: 200" in outputs["deploy"]
            for node in nodes:
                assert http_get(f"http://{node['host']}:{port}/accounts/10000") == '{"id":"10000","name":"Person_0"}\n'
            summary = runner.summaries["deploy"].read_text()
            assert summary.startswith("### ✅ goswarm deploy --release dist/release.json\n"), summary
            assert f"| accountservice | create | `{first['accountservice']['digest'].split('@')[1][:19]}` |" in summary
            refused_by_pinned_key(runner, workflow, nodes, manager_engine)

            main_go = origin / "services" / "accountservice" / "main.go"
            main_go.write_text(main_go.read_text().replace('"Person_" + strconv', '"Shipped_" + strconv', 1))
            commit(origin, "accountservice: a one-line change")
            shutil.rmtree(runner.artifacts)
            pipeline = yaml.safe_load((ROOT / "ci" / "gitlab-ci.yml").read_text())
            outputs = {job: runner.timed("gitlab", job, lambda job=job: runner.gitlab(pipeline, job))
                       for job in GITLAB_JOBS}
            second = json.loads((runner.artifacts / "push" / "dist" / "release.json").read_text())["services"]
            assert second["accountservice"]["digest"] != first["accountservice"]["digest"]
            assert second["goswarm-edge"]["digest"] == first["goswarm-edge"]["digest"]
            assert second["quotes-service"]["digest"] == first["quotes-service"]["digest"]
            check_running(manager_engine, second, netns.GATEWAY, registry)
            for node in nodes:
                assert http_get(f"http://{node['host']}:{port}/accounts/10000") == (
                    '{"id":"10000","name":"Shipped_0"}\n')
            assert all(secrets["DEPLOY_SSH_KEY"].splitlines()[1] not in out for out in runner.outputs)
            assert all(CANARY not in out for out in runner.outputs)
            # Nor in any file a job left: its clone (dist/, the release), its HOME (~/.docker, ~/.ssh), the artifacts.
            skipped = {".venv", "python", ".git"}
            written = [p for p in tmp_path.glob("*-*/*/**/*")
                       if p.is_file() and not skipped & set(p.relative_to(tmp_path).parts)]
            written += [p for p in runner.artifacts.rglob("*") if p.is_file()]
            assert len(written) > 20 and not [p for p in written if CANARY in p.read_text(errors="replace")]
        finally:
            report(runner.timings)
            remove_services(manager_engine)
            for image in lab.engine.images.list():
                if any(t.startswith(tuple(repos)) for t in image.tags):
                    lab.engine.images.remove(image.id, force=True)
    finally:
        auth.stop()


def refused_by_pinned_key(runner, workflow, nodes, client):
    """The same deploy job with another host's key pinned for the manager's address: refused before it changes
    anything, in one line (the key is never accepted on first use)."""
    before = {s["Spec"]["Name"]: s["Version"]["Index"] for s in client.api.services()}
    wrong = dict(runner.secrets, DEPLOY_KNOWN_HOSTS=f"{nodes[0]['host']} {nodes[1]['extras']['host_key'].strip()}")
    impostor = Runner(runner.tmp / "wrong-key", runner.origin, wrong, runner.extra_env)
    impostor.artifacts = runner.artifacts
    with pytest.raises(pytest.fail.Exception) as refused:
        impostor.github(workflow, "deploy")
    message = str(refused.value)
    assert "goswarm deploy --release dist/release.json` exited 1" in message, message
    errors = [line for line in message.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "host key has CHANGED" in errors[0] and "Traceback" not in message, message
    assert {s["Spec"]["Name"]: s["Version"]["Index"] for s in client.api.services()} == before


def check_running(client, release: dict, gateway: str, registry: int):
    """Every service runs exactly its release file's digest, pulled through the lab's bridge."""
    want = {name: entry["digest"].replace(f"127.0.0.1:{registry}", f"{gateway}:{registry}", 1)
            for name, entry in release.items()}
    names = {"accountservice": "accountservice", "quotes-service": "quotes-service",
             "goswarm-edge": "accountservice-edge"}
    running = running_digests(client, names.values())
    for service, name in names.items():
        assert running[name] and {untagged(i) for i in running[name]} == {want[service]}, (name, running[name])


def untagged(ref: str) -> str:
    """repo:tag@sha256:x as repo@sha256:x (a registry's host:port stays)."""
    name, _, digest = ref.partition("@")
    head, _, last = name.rpartition("/")
    return f"{head}/{last.split(':')[0]}@{digest}"


def remove_services(client):
    for name in ("accountservice-edge", "accountservice", "quotes-service"):
        try:
            client.api.remove_service(name)
        except docker.errors.NotFound:
            pass


def report(timings):
    lines = [f"{pipeline:7} {job:8} {seconds:7.1f}s" for pipeline, job, seconds in timings]
    print("\nCI pipeline stages (fresh clone, HOME and venv each):\n" + "\n".join(lines))
