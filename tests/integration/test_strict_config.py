"""Config mistakes through the `goswarm` command, as a user meets them: each is one `error:` line, exit 1, no
traceback, and nothing built (no dist/). Named in goswarm.yaml's own words, also from a subdirectory."""
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import assert_one_line_error

SERVICE = "services:\n  api:\n    path: .\n    port: 8080\n"


def goswarm(cwd: Path, *args) -> subprocess.CompletedProcess:
    result = subprocess.run([str(Path(sys.executable).parent / "goswarm"), *args], cwd=cwd, capture_output=True,
                            text=True, stdin=subprocess.DEVNULL, timeout=60,
                            env={"PATH": "/usr/local/go/bin:/usr/bin:/bin", "HOME": str(cwd)})
    result.output = result.stdout + result.stderr
    return result


@pytest.mark.parametrize("text, fragments", [
    ("servces:\n  api: {path: ., port: 8080}\n", ["error: servces: did you mean services?"]),
    ("deploy: {timout: 120}\n" + SERVICE, ["error: deploy.timout: did you mean timeout?"]),
    (SERVICE + "    imag: x\n", ["error: services.api.imag: did you mean image?"]),
    (SERVICE + "    env: {DEBUG: yes}\n", ["services.api.env.DEBUG must be a string, but YAML read it as true"]),
    (SERVICE + "    env: {PERM: 0755}\n", ["services.api.env.PERM", "the number 493"]),
    (SERVICE + "    env: {T: 1:30}\n", ["services.api.env.T", "the number 90"]),
    (SERVICE + "    env: {NO: 1}\n", ["error: goswarm.yaml: services.api.env: a key YAML read as false"]),
    (SERVICE + "    env: {PORT: '9999'}\n", ["services.api.env.PORT is '9999' but port is 8080"]),
    ("services:\n  a.b: {path: ., port: 8080}\n", ["services.a.b: the engine takes service names"]),
    ("services:\n  api-: {path: ., port: 8080}\n", ["services.api-: the engine takes service names"]),
])
def test_each_mistake_is_one_line_before_anything_is_built(tmp_path, text, fragments):
    (tmp_path / "goswarm.yaml").write_text(text)
    (tmp_path / "go.mod").write_text("module example.com/api\n\ngo 1.22\n")
    (tmp_path / "main.go").write_text("package main\n\nfunc main() {}\n")
    result = goswarm(tmp_path, "build")
    assert_one_line_error(result, *fragments)
    assert "GOSWARM_" not in result.output and not (tmp_path / "dist").exists()


def test_from_a_subdirectory_the_error_names_goswarm_yaml_and_the_way_to_the_project(tmp_path):
    (tmp_path / "goswarm.yaml").write_text(SERVICE)
    (tmp_path / "cmd").mkdir()
    result = goswarm(tmp_path / "cmd", "deploy.ps")
    assert_one_line_error(result, f"no goswarm.yaml in {tmp_path / 'cmd'}: the project is {tmp_path}: run "
                                  f"`goswarm -r {tmp_path} ...`")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "goswarm.yaml").unlink()
    assert_one_line_error(goswarm(elsewhere, "deploy.ps"), "no goswarm.yaml in", "`goswarm init` writes one",
                          "`goswarm -r DIR ...` runs a project elsewhere")


def test_goswarm_schema_prints_the_schema_without_a_config(tmp_path):
    import json

    result = goswarm(tmp_path, "schema")
    assert result.returncode == 0 and json.loads(result.stdout)["title"] == "goswarm.yaml"
