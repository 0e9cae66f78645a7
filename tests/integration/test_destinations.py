"""`goswarm -d staging` on a real engine, as a user runs it (the goswarm command, a project of its own): the
destination's goswarm.staging.yaml and .env.staging go over the project's files, and the destination is a project
of its own on the swarm, so the project's plain config cannot take over its services."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from helpers import ROOT, SUFFIX, assert_one_line_error, free_port, http_get, wait_for


def goswarm(root, *args, check=True):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOSWARM_", "INVOKE_"))}
    result = subprocess.run([sys.executable, "-m", "goswarm", "-r", str(root), *args], cwd=root, env=env,
                            capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=600)
    result.output = result.stdout + result.stderr
    assert not check or result.returncode == 0, result.output
    return result


def test_a_destination_deploys_its_own_config_as_its_own_project(swarm, engine, tmp_path):
    root = tmp_path / "shop"
    shutil.copytree(ROOT / "services" / "quotes-service", root / "quotes")
    name, port, staging_port = f"it{SUFFIX}-dest", free_port(), free_port()
    (root / "goswarm.yaml").write_text(yaml.safe_dump({
        "project": f"shop{SUFFIX}", "image": {"prefix": f"it{SUFFIX}-shop"}, "swarm": {"network": swarm.network},
        "services": {name: {"path": "quotes", "port": 8080, "publish": port, "publish_mode": "edge",
                            "healthcheck": {"http": "/health"}, "secrets": {"token": {"env": "SHOP_TOKEN"}}}}}))
    (root / "goswarm.staging.yaml").write_text(yaml.safe_dump({
        "services": {name: {"publish": staging_port, "replicas": 2, "smoke": "/health"}}}))
    (root / ".env").write_text("SHOP_TOKEN=production-token\n")
    (root / ".env.staging").write_text("SHOP_TOKEN=staging-token\n")  # read first: it wins
    try:
        deployed = goswarm(root, "-d", "staging", "redeploy")
        assert f"create service {name}" in deployed.output
        spec = engine.api.inspect_service(name)["Spec"]
        assert spec["Labels"]["io.goswarm.project"] == f"shop{SUFFIX}-staging"
        assert spec["Mode"]["Replicated"]["Replicas"] == 2
        edge = engine.api.inspect_service(f"{name}-edge")["Spec"]
        assert edge["EndpointSpec"]["Ports"][0]["PublishedPort"] == staging_port
        assert wait_for(lambda: http_get(f"http://127.0.0.1:{staging_port}/health"), 30, "the staging port")
        task = engine.containers.list(filters={"label": f"com.docker.swarm.service.name={name}"})[0]
        assert Path(f"/proc/{task.attrs['State']['Pid']}/root/run/secrets/token").read_text() == "staging-token"
        shown = goswarm(root, "-d", "staging", "config").stdout
        assert f"publish: {staging_port}" in shown and "replicas: 2" in shown

        refused = goswarm(root, "redeploy", check=False)  # the project's own config: another project
        assert_one_line_error(refused, f"belongs to project shop{SUFFIX}-staging, not shop{SUFFIX}")
        assert engine.api.inspect_service(name)["Spec"]["Labels"]["io.goswarm.project"] == f"shop{SUFFIX}-staging"
        goswarm(root, "-d", "staging", "deploy.rm")
        assert not engine.services.list(filters={"name": name})
    finally:
        for service in engine.services.list(filters={"name": name}):
            service.remove()
        for gone in (name, f"{name}-edge"):
            wait_for(lambda gone=gone: not engine.containers.list(all=True, filters={
                "label": f"com.docker.swarm.service.name={gone}"}), 60, f"{gone}'s tasks to go")
        for image in engine.images.list(name=f"it{SUFFIX}-shop/*"):
            for tag in image.tags:
                engine.images.remove(tag)
        for secret in engine.secrets.list(filters={"label": f"io.goswarm.service={name}"}):
            secret.remove()
