"""`inv setup`: make this machine ready to build and deploy (Go, a running Docker engine, a swarm)."""
import os
import platform
import shutil
import time
from pathlib import Path

from tasks import engine, output, swarm
from tasks.errors import PipelineError, task

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
                                       for t in missing) + ", then run `inv setup` again")


def install(c, missing: list) -> None:
    release = Path("/etc/os-release")
    can_apt = (platform.system() == "Linux" and os.geteuid() == 0 and shutil.which("apt-get")
               and release.is_file() and debian_like(release.read_text()))
    if not can_apt:
        raise PipelineError(manual_steps(missing))
    packages = " ".join(PACKAGES[t] for t in missing)
    c.run("apt-get update -qq", env={"DEBIAN_FRONTEND": "noninteractive"})
    c.run(f"apt-get install -y -qq {packages}", env={"DEBIAN_FRONTEND": "noninteractive"})


def engine_answers() -> bool:
    engine.client.cache_clear()
    try:
        engine.client().ping()
        return True
    except PipelineError:
        return False


def start_engine(c, timeout: float = 30) -> None:
    """systemd when there is one; otherwise dockerd in the background, as on containers and CI machines."""
    if Path("/run/systemd/system").is_dir():
        c.run("systemctl start docker")
    else:
        c.run(f"setsid nohup dockerd > {ENGINE_LOG} 2>&1 < /dev/null &")
    if output.is_dry(c):
        return
    deadline = time.monotonic() + timeout
    while not engine_answers():
        if time.monotonic() > deadline:
            raise PipelineError(f"dockerd did not answer within {timeout:.0f}s; see {ENGINE_LOG}")
        time.sleep(0.5)


@task(help={"advertise_addr": "Swarm advertise address (default: MANAGER_IP or the engine's choice)."})
def setup(c, advertise_addr=None):
    """Install Go and Docker when missing (Debian/Ubuntu), start the engine, and run swarm.init."""
    missing = missing_tools()
    if missing:
        install(c, missing)
    print("go: " + c.run("go version", hide=True, dry=False, echo=False).stdout.strip())
    if engine_answers():
        print("docker engine: running")
    elif shutil.which("dockerd") and os.geteuid() == 0:
        start_engine(c)
        print("docker engine: started")
    else:
        raise PipelineError("no Docker engine answers: start Docker (Docker Desktop, or `sudo dockerd`), then retry")
    swarm.init(c, advertise_addr)
