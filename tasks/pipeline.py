"""The one-shot pipelines: `inv redeploy` for the dev loop and CI, `inv setup` for a fresh machine."""
import time
import urllib.error
import urllib.request

from tasks import (
    build,
    config,
    deploy,
    engine,
    environment,
    image,
    output,
    placement,
    platforms,
    rollout,
    settings,
    ship,
    swarm,
)
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
    if service.publish_mode in ("ingress", "edge") or cfg.manager is None:
        return [cfg.manager_ip]
    client = engine.client(cfg.target_url)
    with engine.errors(f"listing the tasks of {service.name}"):
        nodes = {n["ID"]: n["Status"]["Addr"] for n in client.api.nodes()}
        tasks = client.api.tasks(filters={"service": service.name, "desired-state": "running"})
    return sorted({nodes[t["NodeID"]] for t in tasks if t["Status"]["State"] == "running" and t.get("NodeID") in nodes})


def smoke_or_roll_back(c, cfg, step, timeout: float) -> None:
    """Smoke-test one service; if an update of ours fails it, put the previous release back."""
    svc = step.service
    try:
        for host in smoke_hosts(cfg, svc):
            smoke(c, host, svc)
    except PipelineError as e:
        if step.plan.action == "none":
            raise PipelineError(f"{e}; this run did not change {svc.name}, so it left it as it was") from None
        if step.plan.action == "create":
            raise PipelineError(f"{e}; {svc.name} is new, so there is no earlier release to go back to: fix it and "
                                f"redeploy, or remove it with `inv deploy.rm --service {svc.name}`") from None
        print(f"{svc.name}: {e}; rolling back to the previous release")
        rollout.rollback(c, engine.client(cfg.target_url), svc.name, timeout)
        raise PipelineError(f"{e}; {svc.name} was rolled back to its previous release, which runs again") from None


def check_platforms(cfg) -> None:
    """Before compiling: the platforms to build are the ones the swarm's nodes run."""
    with engine.errors("listing the swarm's nodes"):
        nodes = engine.client(cfg.target_url).api.nodes()
    platforms.deployable(cfg.platforms, [placement.node_platform(n) for n in placement.usable(nodes) or nodes])


def redeploy_run(c, service=None, timeout=None, manager=None, force=False) -> output.Stages:
    """The whole pipeline for the named services (all when None). Each stage skips what did not change."""
    cfg = settings.load(c, manager)
    services = config.select(cfg.services, service)
    names = ",".join(s.name for s in services)
    stages = output.Stages()
    try:
        with deploy.locked(c, cfg, f"redeploy {names}"):
            built = config.with_edge(services, environment.SOURCE_DIR)
            check_platforms(cfg)
            with stages.stage("build"):
                compiled = {a.service.name for a in build.run(c, force=force, services=built)}
            with stages.stage("image"):
                images = image.build_all(c, quiet=True, force=force, compiled=compiled, services=built)
            if cfg.registry:
                with stages.stage("push"):
                    images = [image.push_one(c, cfg, i) for i in images]
            else:
                with stages.stage("ship"):
                    ship.ship(c, cfg, images)
            with stages.stage("deploy"):
                steps = deploy.run(c, cfg, services, {i.service: i for i in images}, timeout, force)
            with stages.stage("smoke"):
                for step in steps:
                    if step.service.smoke:
                        smoke_or_roll_back(c, cfg, step, timeout or cfg.timeout)
    finally:
        if stages.timings:
            print()
            print(stages.summary())
    return stages


@task(help={"service": "Only these services (comma-separated names from invoke.yaml).",
            "timeout": "Seconds to wait for each service to converge (default: deploy.timeout).",
            "manager": swarm.MANAGER_HELP,
            "force": "Redo every stage: compile, rebuild the image without cache, replace every task."})
def redeploy(c, service=None, timeout=None, manager=None, force=False):
    """build -> image -> push or ship -> deploy -> smoke test, skipping what did not change; timed summary."""
    redeploy_run(c, service, settings.seconds("--timeout", timeout) if timeout else None, manager, force)
