"""Make this machine ready to build and deploy: Go, a running Docker engine, a swarm."""
import os
import platform
import shutil
from pathlib import Path

from goswarm import poll, program
from goswarm.errors import PipelineError
from goswarm.io import engine
from goswarm.ops import swarm

PACKAGES = {"go": "golang-go", "dockerd": "docker.io"}
ENGINE_LOG = "/var/log/dockerd.log"


def debian_like(os_release: str) -> bool:
    """From /etc/os-release text. Pure."""
    fields = dict(line.split("=", 1) for line in os_release.splitlines() if "=" in line)
    ids = (fields.get("ID", "") + " " + fields.get("ID_LIKE", "")).replace('"', "").split()
    return "debian" in ids or "ubuntu" in ids


def missing_tools() -> list:
    return [tool for tool in PACKAGES if not shutil.which(tool)]


def manual_steps(missing: list) -> str:
    return ("install " + " and ".join({"go": "Go (https://go.dev/doc/install)",
                                        "dockerd": "Docker (Docker Desktop, or https://docs.docker.com/engine/install/)"}[t]
                                       for t in missing) + f", then run {program.run('setup')} again")


def install(sh, missing: list) -> None:
    release = Path("/etc/os-release")
    can_apt = (platform.system() == "Linux" and os.geteuid() == 0 and shutil.which("apt-get")
               and release.is_file() and debian_like(release.read_text()))
    if not can_apt:
        raise PipelineError(manual_steps(missing))
    packages = " ".join(PACKAGES[t] for t in missing)
    sh.run("apt-get update -qq", env={"DEBIAN_FRONTEND": "noninteractive"})
    sh.run(f"apt-get install -y -qq {packages}", env={"DEBIAN_FRONTEND": "noninteractive"})


def engine_answers() -> bool:
    engine.forget_clients()
    try:
        engine.client().ping()
        return True
    except PipelineError:
        return False


def start_engine(sh, timeout: float = 30) -> None:
    """systemd when there is one; otherwise dockerd in the background, as on containers and CI machines."""
    if Path("/run/systemd/system").is_dir():
        sh.run("systemctl start docker")
    else:
        sh.run(f"setsid nohup dockerd > {ENGINE_LOG} 2>&1 < /dev/null &")
    if sh.dry:
        return

    def late():
        raise PipelineError(f"dockerd did not answer within {timeout:.0f}s; see {ENGINE_LOG}")

    poll.until(lambda: True if engine_answers() else None, timeout, 0.5, late)


def setup(sh, cfg, advertise_addr=None) -> None:
    """Install Go and Docker when missing (Debian/Ubuntu, root), start the engine, and run swarm.init."""
    missing = missing_tools()
    if missing:
        install(sh, missing)
    print("go: " + sh.read("go version").stdout.strip())
    if engine_answers():
        print("docker engine: running")
    elif shutil.which("dockerd") and os.geteuid() == 0:
        start_engine(sh)
        print("docker engine: started")
    else:
        raise PipelineError("no Docker engine answers: start Docker (Docker Desktop, or `sudo dockerd`), then retry")
    swarm.init(sh, cfg, advertise_addr)
