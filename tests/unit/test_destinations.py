"""`goswarm -d DEST`: goswarm.DEST.yaml merged over goswarm.yaml and .env.DEST read before .env, as `goswarm
config` shows them; each destination is a project of its own (label, lock, release file). A destination with
neither file, or a bad name, is one line."""
import json
import os
import subprocess
import sys

import pytest
import yaml

CONFIG = {"services": {"api": {"path": ".", "port": 80, "publish": 8080, "replicas": 1,
                               "env": {"MODE": "dev", "DB_PASSWORD": "hunter2", "API_KEY": "k"}}}}


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "shop"
    root.mkdir()
    (root / "goswarm.yaml").write_text(yaml.safe_dump(CONFIG))
    (root / "goswarm.staging.yaml").write_text(yaml.safe_dump(
        {"services": {"api": {"publish": 9090, "replicas": 2, "env": {"MODE": "staging"}}}, "deploy": {"timeout": 90}}))
    (root / ".env").write_text("GOSWARM_DEPLOY_LOCK_TTL=100\nGOSWARM_IMAGE_PREFIX=from-env\n")
    (root / ".env.staging").write_text("GOSWARM_IMAGE_PREFIX=from-staging\n")
    return root


def goswarm(root, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOSWARM_", "INVOKE_"))}
    result = subprocess.run([sys.executable, "-m", "goswarm", "-r", str(root), *args], capture_output=True, text=True,
                            env=env, stdin=subprocess.DEVNULL, timeout=60)
    return result


def test_the_destinations_file_goes_over_the_projects_and_config_shows_it(project):
    own = json.loads(goswarm(project, "config", "--json").stdout)
    assert own["services"]["api"]["publish"] == 8080 and own["project"] == "shop" and "destination" not in own
    staging = json.loads(goswarm(project, "-d", "staging", "config", "--json").stdout)
    api = staging["services"]["api"]
    assert (api["publish"], api["replicas"], api["port"], api["env"]["MODE"]) == (9090, 2, 80, "staging")
    assert staging["deploy"]["timeout"] == 90 and staging["destination"] == "staging"
    assert staging["project"] == "shop-staging"  # its own label and lock on the swarm


def test_env_values_that_look_secret_are_masked(project):
    shown = goswarm(project, "config").stdout
    assert "hunter2" not in shown and "DB_PASSWORD: '********'" in shown and "API_KEY: '********'" in shown
    assert "MODE: dev" in shown


@pytest.mark.parametrize("args, message", [
    (["-d", "prod", "config"], "error: destination prod: there is no goswarm.prod.yaml or .env.prod in "),
    (["-d", "Prod!", "config"], "error: --destination 'Prod!': a destination is a name of lower-case letters"),
])
def test_an_unknown_destination_is_one_line(project, args, message):
    result = goswarm(project, *args)
    assert result.returncode == 1 and result.stderr.startswith(message) and len(result.stderr.splitlines()) == 1, \
        result.stderr


def test_the_destinations_env_file_wins_over_env_and_its_release_file_is_its_own(project):
    from goswarm import settings
    from goswarm.ops import release

    code = ("import os; from goswarm import settings; from goswarm.io import environment; environment.read_dotenv(); "
            "print(os.environ['GOSWARM_IMAGE_PREFIX'], os.environ['GOSWARM_DEPLOY_LOCK_TTL'])")
    env = {"GOSWARM_ROOT": str(project), "GOSWARM_DESTINATION": "staging", "PATH": "/usr/bin:/bin"}
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert shown.stdout.split() == ["from-staging", "100"]
    assert settings.default_lock("shop-staging") == "goswarm-deploy-lock-shop-staging"
    assert len(settings.default_lock("x" * 40 + "-staging")) == 64
    cfg = type("Cfg", (), {"root": project, "dist": project / "dist", "destination": "staging"})
    assert release.path_of(cfg) == project / "dist" / "release.staging.json"
