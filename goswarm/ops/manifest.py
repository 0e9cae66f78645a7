"""Push a manifest list (an image index) of a service's per-platform images with the docker CLI's own
`docker manifest create` / `docker manifest push`.

Why the docker CLI: it is maintained with the engine, already on every machine that runs docker, and speaks
the registry's auth and insecure-registry rules as `docker push` does (skopeo could do the same, but is one
more tool to install; a hand-written registry client is what we must not keep). Its manifest commands keep
state in $DOCKER_CONFIG/manifests, and would read (or store) credentials in $DOCKER_CONFIG/config.json: each
run gets a private DOCKER_CONFIG, removed afterwards, whose only credential is a helper that hands the CLI
the credentials goswarm already has, from its own environment: the password is written to no file.
"""
import json
import os
import shlex
import shutil
import stat
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

from goswarm.errors import PipelineError
from goswarm.io import engine, engineapi, environment
from goswarm.ops import registry
from goswarm.plan import manifest

HELPER = "goswarm"  # docker-credential-goswarm
USER_VAR, SECRET_VAR = "GOSWARM_REGISTRY_USERNAME", "GOSWARM_REGISTRY_SECRET"


def helper_script(python: str) -> str:
    """A docker credential helper (the protocol: `get` reads the server on stdin, prints JSON) that answers
    with the credentials in its environment, and stores or erases nothing."""
    return (f"#!{python}\nimport json, os, sys\n"
            f"if sys.argv[1:] == ['get']:\n    sys.stdin.read()\n"
            f"    print(json.dumps({{'Username': os.environ['{USER_VAR}'], 'Secret': os.environ['{SECRET_VAR}']}}))\n"
            f"elif sys.argv[1:] == ['list']:\n    print('{{}}')\n")


@contextmanager
def private_config(host: str, credentials):
    """(a DOCKER_CONFIG directory of this run's own, the environment to run the CLI with); removed after."""
    folder = Path(tempfile.mkdtemp(prefix="goswarm-docker-"))  # 0700
    env = {"DOCKER_CONFIG": str(folder), "DOCKER_CONTEXT": "default"}
    try:
        config = {}
        if credentials:
            helper = folder / "bin" / f"docker-credential-{HELPER}"
            helper.parent.mkdir()
            helper.write_text(helper_script(sys.executable))
            helper.chmod(stat.S_IRWXU)
            config = {"credHelpers": {host: HELPER}}
            env.update({"PATH": f"{helper.parent}{os.pathsep}{os.environ.get('PATH', '')}",
                        USER_VAR: credentials[0], SECRET_VAR: credentials[1]})
        (folder / "config.json").write_text(json.dumps(config))
        yield folder, env
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def listed(client, ref: str) -> str:
    """The digest of the manifest list the registry has under `ref`, else ""."""
    docker = engine.sdk()
    with engine.errors(f"asking the registry for {ref}"):
        try:
            descriptor = engineapi.registry_descriptor(client, ref)
        except docker.errors.APIError:
            return ""
    return descriptor["digest"] if manifest.is_list(descriptor) else ""


def push_list(sh, cfg, client, image, pushed: list) -> str:
    """The manifest list of `pushed` ((platform, digest) of each platform's image in image.repository) under
    image.tag and latest; its digest. A list the registry already has under that tag is not pushed again."""
    index = listed(client, image.ref)
    tags = [t for t, have in ((image.tag, index), ("latest", listed(client, f"{image.repository}:latest")))
            if not have or have != index]
    if not tags:
        print(f"{image.ref}: the manifest list is already in the registry ({index[:19]})")
        return index
    docker_cli = shutil.which("docker")
    if not docker_cli:
        raise PipelineError("a multi-platform push needs the docker CLI (`docker manifest`): install docker.io "
                            "or docker-ce-cli")
    host = registry.host(cfg.registry)
    with engine.errors("reading the engine's registry settings"):
        insecure = manifest.insecure(host, client.info().get("RegistryConfig") or {})
    flag = " --insecure" if insecure else ""
    sources = " ".join(shlex.quote(f"{image.repository}@{digest}") for _, digest in pushed)
    with private_config(host, environment.registry_credentials(host)) as (_, env):
        for tag in tags:
            ref = shlex.quote(f"{image.repository}:{tag}")
            run(sh, "create", f"{docker_cli} manifest create{flag} {ref} {sources}", env, image)
            said = run(sh, "push", f"{docker_cli} manifest push --purge{flag} {ref}", env, image)
            digest = manifest.pushed_digest(said)
            if not digest:
                raise PipelineError(f"docker manifest push {image.repository}:{tag} printed no digest")
            if tag == image.tag:
                index = digest
    return index


def run(sh, step: str, command: str, env: dict, image) -> str:
    result = sh.run(command, env=env, hide=True, warn=True)
    if not result.ok:
        said = environment.redact(" ".join((result.stderr or result.stdout).split()))[:300]
        raise PipelineError(f"docker manifest {step} of {image.ref} failed: {said}; nothing was deployed")
    return result.stdout
