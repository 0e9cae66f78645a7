"""The one-shot pipelines: `inv redeploy` for the dev loop and CI, `inv setup` for a fresh machine."""
import time
import urllib.error
import urllib.request

from tasks import build, config, deploy, engine, image, output, settings, ship, swarm
from tasks.errors import PipelineError, task

SMOKE_TIMEOUT = 15.0


def smoke_url(host: str, service: config.Service) -> str:
    return f"http://{host}:{service.publish}{service.smoke}"


def smoke(c, host: str, service: config.Service, timeout: float = SMOKE_TIMEOUT) -> str:
    """GET the service's smoke path until it answers 2xx; the last failure is the error."""
    url = smoke_url(host, service)
    if output.is_dry(c):
        print(f"[dry] would GET {url} and expect 2xx")
        return url
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                print(f"smoke {url}: {response.status}")
                return url
        except urllib.error.HTTPError as e:
            problem = f"HTTP {e.code}"
        except (urllib.error.URLError, OSError) as e:
            problem = str(getattr(e, "reason", e))
        if time.monotonic() > deadline:
            raise PipelineError(f"smoke test failed: GET {url} gave {problem} for {timeout:.0f}s")
        time.sleep(0.2)


def smoke_hosts(cfg, service: config.Service) -> list:
    """Where the smoke test knocks: the manager for the routing mesh or a single engine; with host-mode
    ports on a swarm of machines, every node that runs a task (a node without one has nothing listening)."""
    if service.publish_mode == "ingress" or cfg.manager is None:
        return [cfg.manager_ip]
    client = engine.client(cfg.target_url)
    with engine.errors(f"listing the tasks of {service.name}"):
        nodes = {n["ID"]: n["Status"]["Addr"] for n in client.api.nodes()}
        tasks = client.api.tasks(filters={"service": service.name, "desired-state": "running"})
    return sorted({nodes[t["NodeID"]] for t in tasks if t["Status"]["State"] == "running" and t.get("NodeID") in nodes})


def redeploy_run(c, service=None, timeout=None, manager=None) -> output.Stages:
    cfg = settings.load(c, manager)
    services = config.select(cfg.services, service)
    names = ",".join(s.name for s in services)
    stages = output.Stages()
    try:
        with stages.stage("build"):
            build.run(c, names)
        with stages.stage("image"):
            images = image.build_all(c, names, quiet=True)
        if cfg.registry:
            with stages.stage("push"):
                images = [image.push_one(c, cfg, i) for i in images]
        else:
            with stages.stage("ship"):
                ship.ship(c, cfg, images)
        with stages.stage("deploy"):
            deploy.run(c, cfg, services, {i.service: i for i in images}, timeout)
        with stages.stage("smoke"):
            for svc in services:
                for host in smoke_hosts(cfg, svc) if svc.smoke else []:
                    smoke(c, host, svc)
    finally:
        if stages.timings:
            print()
            print(stages.summary())
    return stages


@task(help={"service": "Only these services (comma-separated names from invoke.yaml).",
            "timeout": "Seconds to wait for each service to converge (default: deploy.timeout).",
            "manager": swarm.MANAGER_HELP})
def redeploy(c, service=None, timeout=None, manager=None):
    """build -> image -> push or ship -> deploy -> wait -> smoke test, with a timed summary."""
    redeploy_run(c, service, settings.seconds("--timeout", timeout) if timeout else None, manager)
