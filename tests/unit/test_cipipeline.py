"""plan/cipipeline.py and ops/cipipeline.py: the pipelines `goswarm init --ci` writes pass the checkers their CI
systems' users run (check-jsonschema's vendored schemas, actionlint, zizmor offline at its default severity),
and say what the issue asks of them. tests/integration/test_user_ci.py runs their commands."""
import re
from pathlib import Path

import pytest
from invoke.util import yaml

from goswarm import __version__
from goswarm.errors import ConfigError
from goswarm.ops import cipipeline as ops
from goswarm.plan import cipipeline

from .test_ci_templates import check, schema, tool, zizmor

PROJECT = cipipeline.Project("1.2.3", ("api", "."), "1.24", edge=True)


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict:
    where = tmp_path_factory.mktemp("ci")
    files = {}
    for kind in cipipeline.KINDS:
        files[kind] = where / Path(cipipeline.PATHS[kind]).name
        files[kind].write_text(cipipeline.render(kind, PROJECT))
    return files


def test_the_github_workflow_passes_its_schema_actionlint_and_zizmor(written):
    for result in (schema("vendor.github-workflows", written["github"]),
                   check(tool("actionlint"), "-no-color", str(written["github"])), zizmor(written["github"])):
        assert result.returncode == 0, result.stdout + result.stderr


def test_the_gitlab_pipeline_passes_its_schema(written):
    result = schema("vendor.gitlab-ci", written["gitlab"])
    assert result.returncode == 0, result.stdout + result.stderr


def test_github_installs_goswarm_pinned_and_tests_each_module(written):
    text = written["github"].read_text()
    workflow = yaml.safe_load(text)
    assert workflow["env"]["GOSWARM_VERSION"] == "1.2.3"
    test = workflow["jobs"]["test"]["steps"]
    assert [(s.get("working-directory"), s.get("run")) for s in test if "run" in s] == [
        ("api", "go vet ./... && go test ./..."), (".", "go vet ./... && go test ./...")]
    installs = [s["run"] for job in ("push", "deploy") for s in workflow["jobs"][job]["steps"]
                if "goswarm==" in s.get("run", "")]
    assert len(installs) == 2 and all('install --quiet "goswarm==$GOSWARM_VERSION"' in r for r in installs)
    assert not re.search(r"pip install ['\"]?\.", text)  # never the user's own repository


def test_github_pins_actions_by_commit_and_keeps_no_credentials(written):
    text = written["github"].read_text()
    workflow = yaml.safe_load(text)
    used = re.findall(r"uses: (\S+) # (v[\d.]+)\n", text)
    assert len(used) == text.count("uses: ") >= 6
    assert all(re.fullmatch(r"actions/[\w-]+@[0-9a-f]{40}", ref) for ref, _ in used)
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False


def test_github_secrets_only_through_env_and_the_rest_as_vars(written):
    workflow = yaml.safe_load(written["github"].read_text())
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            assert "${{" not in step.get("run", "")
            for name, value in (step.get("env") or {}).items():
                kind = "secrets" if name in cipipeline.SECRETS else "vars"
                assert value.startswith(f"${{{{ {kind}."), (name, value)
    assert workflow["env"]["GOSWARM_IMAGE_REGISTRY"] == "${{ vars.REGISTRY }}"


def test_github_cancels_superseded_pull_request_runs_but_never_a_deploy(written):
    workflow = yaml.safe_load(written["github"].read_text())
    assert workflow["concurrency"]["cancel-in-progress"] == "${{ github.event_name == 'pull_request' }}"
    assert "pull_request.number" in workflow["concurrency"]["group"]
    assert workflow["jobs"]["deploy"]["concurrency"] == {"group": "production", "cancel-in-progress": False}
    assert workflow["jobs"]["push"]["if"] == "github.event_name == 'push'"


def test_gitlab_caches_go_and_pip_tests_each_module_and_deploys_the_release(written):
    pipeline = yaml.safe_load(written["gitlab"].read_text())
    assert pipeline["default"]["cache"]["paths"] == [".cache/"]
    for name in ("GOMODCACHE", "GOCACHE", "PIP_CACHE_DIR"):
        assert pipeline["variables"][name].startswith("$CI_PROJECT_DIR/.cache/")
    assert pipeline["default"]["image"] == "golang:1.24-bookworm"
    assert pipeline["test"]["script"] == ["(cd api && go vet ./... && go test ./...)",
                                          "(cd . && go vet ./... && go test ./...)"]
    assert pipeline["test"]["interruptible"] is True
    assert pipeline["workflow"]["auto_cancel"]["on_new_commit"] == "interruptible"
    assert "goswarm image.push" in pipeline["push"]["script"]
    assert 'DOCKER_HOST="$DEPLOY_HOST" goswarm deploy --release dist/release.json' in pipeline["deploy"]["script"]
    assert pipeline["push"]["artifacts"]["paths"] == ["dist/release.json"]
    assert pipeline["variables"]["GOSWARM_VERSION"] == "1.2.3"


@pytest.mark.parametrize("text, version", [("module x\n\ngo 1.24.2\n", "1.24"), ("module x\ngo 1.22\n", "1.22"),
                                           ("module x\n", "1.26")])
def test_the_go_version_comes_from_go_mod(text, version):
    assert cipipeline.go_version(text) == version


def test_the_module_of_a_service_is_its_nearest_go_mod(tmp_path):
    (tmp_path / "svc" / "cmd" / "api").mkdir(parents=True)
    (tmp_path / "svc" / "go.mod").write_text("module x\n")
    assert ops.module_of(tmp_path / "svc" / "cmd" / "api", tmp_path) == "svc"
    assert ops.module_of(tmp_path / "svc", tmp_path) == "svc"
    (tmp_path / "other").mkdir()
    assert ops.module_of(tmp_path / "other", tmp_path) == "."


def test_ci_takes_github_or_gitlab():
    assert ops.kind("github") == "github"
    with pytest.raises(ConfigError, match="^--ci takes github or gitlab, got 'jenkins'$"):
        ops.kind("jenkins")
    assert __version__  # what the pipeline pins


def test_the_push_job_installs_haproxy_only_for_an_http_edge(written):
    github = yaml.safe_load(written["github"].read_text())["jobs"]["push"]["steps"]
    assert any("sudo apt-get install -y -qq haproxy" in step.get("run", "") for step in github)
    gitlab = yaml.safe_load(written["gitlab"].read_text())["push"]["script"]
    assert any(line.startswith("command -v haproxy") for line in gitlab)
    plain = cipipeline.Project("1.2.3", (".",), "1.24")
    assert "haproxy" not in cipipeline.render("github", plain) + cipipeline.render("gitlab", plain)


def test_a_gopath_project_gets_no_pipeline_but_the_step_to_make_it_a_module(tmp_path):
    from types import SimpleNamespace

    from goswarm.errors import PipelineError
    from goswarm.plan import config

    service = config.Service("hello", tmp_path, 80, main="./hello", gopath="github.com/you/app")
    cfg = SimpleNamespace(root=tmp_path, services={"hello": service})
    with pytest.raises(PipelineError, match=r"^hello builds in GOPATH mode \(gopath: github.com/you/app\), .*"
                                            r"`go mod init github.com/you/app`.*\(nothing was written\)$"):
        ops.project_of(cfg)
