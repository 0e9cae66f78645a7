"""The CI templates in ci/ are valid for their CI systems: each against its schema (check-jsonschema's vendored
copies, so no network), GitHub's also through actionlint and zizmor. A missing checker fails: `pip install -e '.[test]'`
installs both. tests/integration/test_ci_pipeline.py runs the templates' commands."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from invoke.util import yaml

ROOT = Path(__file__).resolve().parents[2]
GITHUB = ROOT / "ci" / "github-actions.yml"
GITLAB = ROOT / "ci" / "gitlab-ci.yml"


def tool(name: str) -> str:
    """A checker installed with the test extra, next to this Python first (a venv that is not activated)."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed: pip install -e '.[test]'")
    return found


def check(*argv) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def schema(name: str, path: Path) -> subprocess.CompletedProcess:
    return check(tool("check-jsonschema"), "--builtin-schema", name, str(path))


def test_the_github_workflow_fits_its_schema():
    result = schema("vendor.github-workflows", GITHUB)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_gitlab_pipeline_fits_its_schema():
    result = schema("vendor.gitlab-ci", GITLAB)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_finds_nothing_in_the_github_workflow():
    result = check(tool("actionlint"), "-no-color", str(GITHUB))
    assert result.returncode == 0, result.stdout + result.stderr


def zizmor(path: Path) -> subprocess.CompletedProcess:
    """zizmor's audits at its default severity, offline (no GitHub API: no impostor-commit check)."""
    return check(tool("zizmor"), "--offline", "--no-progress", "--format", "plain", str(path))


def test_zizmor_finds_nothing_in_the_github_workflow():
    result = zizmor(GITHUB)
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_what_it_should(tmp_path):
    """It can fail: an unpinned action and a checkout that keeps its credentials."""
    github = tmp_path / "workflow.yml"
    github.write_text("on: push\npermissions: {}\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n"
                      "      - uses: actions/checkout@v5\n")
    result = zizmor(github)
    assert result.returncode != 0 and "unpinned-uses" in result.stdout and "artipacked" in result.stdout, result


def test_the_checkers_reject_what_the_ci_systems_reject(tmp_path):
    """The checks can fail: a GitLab job named `image` (the old template's), a GitHub job without runs-on."""
    gitlab = tmp_path / "gitlab-ci.yml"
    gitlab.write_text("stages: [image]\nimage:\n  stage: image\n  script: [goswarm image.build]\n")
    assert schema("vendor.gitlab-ci", gitlab).returncode == 1
    github = tmp_path / "workflow.yml"
    github.write_text("on: push\njobs:\n  build:\n    steps:\n      - run: goswarm build\n")
    assert schema("vendor.github-workflows", github).returncode == 1
    assert check(tool("actionlint"), "-no-color", str(github)).returncode == 1


def jobs(path: Path) -> dict:
    data = yaml.safe_load(path.read_text())
    return data["jobs"] if "jobs" in data else {k: v for k, v in data.items() if isinstance(v, dict) and "script" in v}


def github_runs(job: dict) -> list:
    return [step["run"] for step in job["steps"] if "run" in step]


def test_no_secret_is_pasted_into_a_github_script():
    """An expression in a `run:` is pasted into the script before the shell sees it: secrets go through env:."""
    for name, job in jobs(GITHUB).items():
        for run in github_runs(job):
            assert "${{" not in run, f"{name}: {run}"


def test_the_stages_hand_on_a_release_and_deploy_its_digests():
    for path, push_commands, deploy_commands in (
        (GITHUB, github_runs(jobs(GITHUB)["push"]), github_runs(jobs(GITHUB)["deploy"])),
        (GITLAB, jobs(GITLAB)["push"]["script"], jobs(GITLAB)["deploy"]["script"]),
    ):
        assert "goswarm image.push" in push_commands, path
        assert any(re.search(r"goswarm deploy --release dist/release\.json\b", c) for c in deploy_commands), path
        assert any("known_hosts" in c for c in deploy_commands), path
        assert not any("image.build" in c or "goswarm build" in c for c in deploy_commands), path
    gitlab = jobs(GITLAB)
    assert gitlab["push"]["artifacts"]["paths"] == ["dist/release.json"] and gitlab["deploy"]["needs"] == ["push"]
    github = jobs(GITHUB)
    uploaded = [s["with"] for s in github["push"]["steps"] if s.get("uses", "").startswith("actions/upload-artifact")]
    downloaded = [s["with"] for s in github["deploy"]["steps"]
                  if s.get("uses", "").startswith("actions/download-artifact")]
    assert uploaded == [{"name": "release", "path": "dist/release.json"}]
    assert downloaded == [{"name": "release", "path": "dist/"}]


def test_the_github_deploy_job_gets_the_registry_credentials_and_a_pinned_host_key():
    steps = jobs(GITHUB)["deploy"]["steps"]
    deploy = next(s for s in steps if "deploy --release" in s.get("run", ""))
    assert {"REGISTRY_USERNAME", "REGISTRY_PASSWORD", "DOCKER_HOST"} <= set(deploy["env"])
    ssh = next(s for s in steps if "known_hosts" in s.get("run", ""))
    assert ssh["env"]["DEPLOY_KNOWN_HOSTS"] == "${{ secrets.DEPLOY_KNOWN_HOSTS }}"
    assert "StrictHostKeyChecking=no" not in ssh["run"] and "ssh-keyscan" not in ssh["run"]


def test_github_runs_the_integration_tests_as_root_and_the_unit_tests_as_the_runner():
    runs = {name: github_runs(job) for name, job in jobs(GITHUB).items()}
    assert [r for r in runs["unit"] if r.startswith("pytest")] == ["pytest -q -p no:cacheprovider tests/unit"]
    assert [r for r in runs["integration"] if "pytest" in r] == [
        'sudo -E env "PATH=$PATH" pytest -q -p no:cacheprovider -m integration tests/integration']
