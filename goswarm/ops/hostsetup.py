"""Make this machine ready to build and deploy: Go, a running Docker engine, a swarm."""
import os
import platform
import shutil
from pathlib import Path

from goswarm import poll, program
from goswarm.errors import PipelineError
from goswarm.io import engine
from goswarm.ops import swarm
from goswarm.plan import edgeproxy

PACKAGES = {"go": "golang-go", "dockerd": "docker.io", "haproxy": "haproxy"}
ENGINE_LOG = "/var/log/dockerd.log"


def debian_like(os_release: str) -> bool:
    """From /etc/os-release text. Pure."""
    fields = dict(line.split("=", 1) for line in os_release.splitlines() if "=" in line)
    ids = (fields.get("ID", "") + " " + fields.get("ID_LIKE", "")).replace('"', "").split()
    return "debian" in ids or "ubuntu" in ids


def needed(cfg) -> list:
    """Go and Docker, and HAProxy when a service's HTTP edge is made of it (publish_mode: edge)."""
    edged = any(s.publish_mode == "edge" and s.protocol == "http" for s in cfg.services.values())
    return ["go", "dockerd", *(["haproxy"] if edged else [])]


def missing_tools(tools: list) -> list:
    return [tool for tool in tools if not shutil.which(tool) and not Path(f"/usr/sbin/{tool}").is_file()]


def manual_steps(missing: list) -> str:
    where = {"go": "Go (https://go.dev/doc/install)",
             "dockerd": "Docker (Docker Desktop, or https://docs.docker.com/engine/install/)"}
    return "install " + " and ".join(where[t] for t in missing) + f", then run {program.run('setup')} again"


def install(sh, missing: list) -> None:
    """With apt (Debian/Ubuntu, root), every missing tool; else say what to install. HAProxy is optional there:
    without it the edge is built FROM the official HAProxy image, which the engine pulls."""
    release = Path("/etc/os-release")
    can_apt = (platform.system() == "Linux" and os.geteuid() == 0 and shutil.which("apt-get")
               and release.is_file() and debian_like(release.read_text()))
    if not can_apt:
        required = [t for t in missing if t != "haproxy"]
        if required:
            raise PipelineError(manual_steps(required))
        print(f"haproxy: not installed here, so the HTTP edge will be built FROM {edgeproxy.EDGE_BASE}, pulled "
              f"by the engine (or install HAProxy, or set image.edge_base)")
        return
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
    """Install Go and Docker (and HAProxy for an edge) when missing (Debian/Ubuntu, root), start the engine,
    and run swarm.init."""
    missing = missing_tools(needed(cfg))
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
