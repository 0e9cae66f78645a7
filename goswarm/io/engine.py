"""The one Docker client factory, and the edge where docker SDK errors become PipelineErrors.

docker (and paramiko, for ssh://) is imported here, lazily, so listing the tasks stays cheap.
"""
import contextlib
import functools
import importlib
import sys

from goswarm import program
from goswarm.errors import PipelineError
from goswarm.io import environment


class EngineLost(PipelineError):
    """The engine stopped answering in the middle of a command: what it was doing may be half done."""


def sdk():
    """The docker SDK module. It imports paramiko and cryptography for its ssh:// transport at import time,
    about 0.1 s that a local engine never needs; so import it without them (its `import paramiko` is optional).
    tasks.ssh imports that transport itself when a machine is reached over SSH."""
    if "docker" in sys.modules or "paramiko" in sys.modules:
        return importlib.import_module("docker")
    sys.modules["paramiko"] = None  # makes `import paramiko` fail at once
    try:
        return importlib.import_module("docker")
    finally:
        del sys.modules["paramiko"]


@functools.cache
def client(url: str = None):
    """A DockerClient for `url` (default DOCKER_HOST, from the environment or .env). It contacts the engine here.

    ssh:// engines go through tasks.ssh: known host keys only, and the machine's own key.
    """
    docker = sdk()

    host = url or environment.docker_host()
    if host.startswith("ssh://"):
        from goswarm.io import machines, ssh

        ssh.install_docker_transport()
        machines.register_identities()
    try:
        return docker.DockerClient(base_url=host, version="auto", timeout=60)
    except docker.errors.DockerException as e:
        raise PipelineError(
            f"cannot reach the Docker engine at {host} ({_reason(e)}); "
            f"start it ({program.run('setup')}) or fix DOCKER_HOST"
        ) from None


def _reason(error) -> str:
    text = str(error)
    for marker in ("No such file or directory", "Connection refused", "Permission denied", "timed out",
                   "Name or service not known", "Authentication failed"):
        if marker in text:
            return marker.lower()
    explanation = getattr(error, "explanation", None)
    return environment.redact(str(explanation or text).splitlines()[0][:200])


def api_version(client) -> tuple:
    """The API version the client speaks with its engine, as (major, minor)."""
    major, _, minor = str(client.api.api_version).partition(".")
    return int(major), int(minor or 0)


def find_image(client, ref: str):
    """The image, or None when this engine does not have it."""
    return unless_missing(f"inspecting image {ref}", client.images.get, ref)


def unless_missing(doing: str, call, *args):
    """call(*args) under errors(doing), or None when the engine says the thing is not there."""
    docker = sdk()

    with errors(doing):
        try:
            return call(*args)
        except docker.errors.NotFound:
            return None


@contextlib.contextmanager
def errors(doing: str):
    """Translate docker SDK and transport errors raised while `doing` something into one line."""
    import requests

    docker = sdk()

    try:
        yield
    except docker.errors.NotFound as e:
        raise PipelineError(f"{doing}: not found ({_reason(e)})") from None
    except docker.errors.APIError as e:
        if "not a swarm manager" in str(e) and e.status_code == 503:
            # What an engine says while it shuts down (or restarts) under a running command.
            raise EngineLost(f"{doing}: the engine stopped answering as a swarm manager (is it shutting down "
                             f"or restarting?)") from None
        raise PipelineError(f"{doing}: {_reason(e)}") from None
    except (docker.errors.DockerException, requests.exceptions.RequestException) as e:
        raise EngineLost(f"{doing}: lost the Docker engine ({_reason(e)})") from None
