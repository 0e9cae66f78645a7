"""Integration fixtures: a real Docker engine (started here when none answers), and a throw-away project
config so the tests never touch the user's services."""
import os
import shutil
import subprocess
from pathlib import Path

import docker
import pytest

from helpers import Project, wait_for

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    """Every test in this directory is an integration test: `pytest -m "not integration"` runs the unit tests
    alone. (pytest calls this hook with every collected test, so the path decides.)"""
    for item in items:
        if HERE in item.path.resolve().parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def engine():
    """The local engine; started as root when none answers. Never skipped: no engine is a failure."""
    try:
        client = docker.from_env()
        client.ping()
        return client
    except docker.errors.DockerException:
        pass
    if os.geteuid() != 0 or not shutil.which("dockerd"):
        pytest.fail("no Docker engine answers and this user cannot start dockerd: run `inv setup` first")
    log = open("/tmp/goswarm-test-dockerd.log", "ab")
    subprocess.Popen(["dockerd"], stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
    return wait_for(lambda: docker.from_env() if docker.from_env().ping() else None, 60, "dockerd to start")


@pytest.fixture
def project(tmp_path, engine):
    p = Project(tmp_path, engine)
    yield p
    p.cleanup()


@pytest.fixture
def swarm(engine, project):
    """An active swarm with the test network (swarm.init itself is tested in test_pipeline)."""
    project.inv("swarm.init")
    return project
