import subprocess
import sys

from helpers import ROOT


def test_setup_on_a_ready_machine_changes_nothing(swarm):
    result = swarm.inv("setup")
    assert "go: go version go1." in result.output
    assert "docker engine: running" in result.output
    assert "swarm: already active, no change" in result.output
    assert f"network {swarm.network}: exists, no change" in result.output


def test_every_task_has_a_docstring_and_flag_help(project):
    listing = project.inv("--list").output
    for name in ("redeploy", "setup", "build.build (build)", "image.build (image)", "image.push", "image.run",
                 "swarm.init", "swarm.status", "deploy.deploy (deploy)", "deploy.rm", "deploy.scale", "deploy.ps",
                 "deploy.logs"):
        line = next(line for line in listing.splitlines() if line.strip().startswith(name))
        assert len(line.strip()) > len(name) + 10, f"{name} has no docstring in --list"
    # tasks.py only hands inv the goswarm command's collections: both list the same tasks.
    goswarm = subprocess.run([sys.executable, "-m", "goswarm", "--list"], cwd=ROOT, env=project.environ(),
                             capture_output=True, text=True, timeout=60, check=True).stdout
    assert listing.splitlines()[1:] == goswarm.splitlines()[1:]
