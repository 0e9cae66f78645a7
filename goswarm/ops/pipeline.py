"""The one-shot pipeline of the dev loop and CI: build -> image -> push or ship -> deploy -> smoke test."""
import time
import urllib.error
import urllib.request

from goswarm import poll, program
from goswarm.errors import PipelineError
from goswarm.io import engine, engineapi, environment, terminal
from goswarm.ops import build, deploy, external, image, registry, release, rollout, ship, snapshot, summary
from goswarm.plan import config, output, placement, platforms, porthealth, report

SMOKE_TIMEOUT = 15.0


def smoke_url(host: str, service: config.Service) -> str:
    return f"http://{host}:{service.publish}{service.smoke}"


def smoke(sh, host: str, service: config.Service, timeout: float = SMOKE_TIMEOUT) -> str:
    """GET the service's smoke path until it answers 2xx; the last failure is the error."""
    url = smoke_url(host, service)
    if sh.dry:
        print(f"[dry] would GET {url} and expect 2xx")
        return url
    problem = []

    def answers():
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                print(f"smoke {url}: {response.status}")
                return url
        except urllib.error.HTTPError as e:
            problem[:] = [f"HTTP {e.code}"]
        except (urllib.error.URLError, OSError) as e:
            problem[:] = [str(getattr(e, "reason", e))]
        return None

    def failed():
        raise PipelineError(f"smoke test failed: GET {url} gave {problem[0]} for {timeout:.0f}s")

    return poll.until(answers, timeout, 0.2, failed)


def smoke_hosts(cfg, service: config.Service) -> list:
    """Where the smoke test knocks: the manager for the routing mesh or a single engine; with host-mode
    ports on a swarm of machines, every node that runs a task (a node without one has nothing listening)."""
    if service.publish_mode in ("ingress", "edge") or cfg.manager is None:
        return [cfg.manager_ip]
    client = engine.client(cfg.target_url)
    with engine.errors(f"listing the tasks of {service.name}"):
        nodes = engineapi.node_addresses(client)
        tasks = engineapi.tasks(client, service.name, running=True)
    return sorted({nodes[t["NodeID"]] for t in tasks if t["Status"]["State"] == "running" and t.get("NodeID") in nodes})


def silent_port_hint(cfg, service: config.Service, error: PipelineError) -> str:
    """What a failed smoke test adds when the port refuses although the tasks that hold it run (else "")."""
    name = porthealth.holder(service.name, service.publish_mode)
    try:
        with engine.errors(f"listing the tasks of {name}"):
            tasks = engineapi.tasks(engine.client(cfg.target_url), name, running=True)
    except PipelineError:
        return ""  # the smoke test's own failure is the news; an engine that does not answer adds nothing to it
    return porthealth.silent_port(str(error), name, service.publish, engineapi.task_states(tasks))


def smoke_or_roll_back(sh, cfg, step, timeout: float) -> None:
    """Smoke-test one service; if an update of ours fails it, put the previous release back."""
    svc = step.service
    try:
        for host in smoke_hosts(cfg, svc):
            smoke(sh, host, svc)
    except PipelineError as failed:
        e = f"{failed}{silent_port_hint(cfg, svc, failed)}"
        if step.plan.action == "none":
            raise PipelineError(f"{e}; this run did not change {svc.name}, so it left it as it was") from None
        if step.plan.action == "create":
            remove = program.run(f"deploy.rm --service {svc.name}")
            raise PipelineError(f"{e}; {svc.name} is new, so there is no earlier release to go back to: fix it and "
                                f"redeploy, or remove it with {remove}") from None
        print(f"{svc.name}: {e}; rolling back to the previous release")
        with deploy.locked(sh, cfg, f"roll back {svc.name} (its smoke test failed)"):  # the deploy stage let go
            rollout.rollback(sh, registry.target_client(cfg), svc.name, timeout)
        raise PipelineError(f"{e}; {svc.name} was rolled back to its previous release, which runs again") from None


def smoke_all(sh, cfg, services: list, as_json: bool = False) -> list:
    """The smoke stage on its own (a CI deploy job's last step): each service's smoke path, where it is
    published, until it answers 2xx. No rollback here: `deploy.rollback` is one command away. The URLs.
    as_json: the progress goes to stderr, and stdout gets {"result", "error", "answered": [{service, url}]}."""
    answered, error = [], None
    try:
        with terminal.progress_to_stderr(as_json):
            for svc in services:
                for host in (smoke_hosts(cfg, svc) if svc.smoke else []):
                    try:
                        answered.append({"service": svc.name, "url": smoke(sh, host, svc)})
                    except PipelineError as e:
                        raise PipelineError(f"{e}{silent_port_hint(cfg, svc, e)}") from None
            if not answered:
                print(f"no smoke path configured for {', '.join(s.name for s in services)}: nothing to test")
    except PipelineError as e:
        error = str(e)
        raise
    finally:
        if as_json:
            print(report.dumps({"result": "failed" if error else "ok", "error": error, "answered": answered}))
    return [a["url"] for a in answered]


def check_platforms(cfg, nodes: list = None) -> None:
    """Before compiling: the platforms to build are the ones the swarm's nodes run (nodes: as read already)."""
    if nodes is None:
        with engine.errors("listing the swarm's nodes"):
            nodes = engineapi.nodes(engine.client(cfg.target_url))
    platforms.deployable(cfg.platforms, [placement.node_platform(n) for n in placement.usable(nodes) or nodes])


def redeploy(sh, cfg, services: list, timeout=None, force=False, release_file=None, as_json=False) -> output.Stages:
    """The whole pipeline for `services`, holding the deploy lock. Each stage skips what did not change;
    the timed summary is printed however it ends. With a registry the push stage writes the release file
    (release_file, default dist/release.json) before the deploy. as_json: the progress goes to stderr, and
    the summary is a JSON document on stdout (stages, each service's result and digest, the error)."""
    stages, error = output.Stages(time.monotonic), None
    try:
        with terminal.progress_to_stderr(as_json):
            _redeploy(sh, cfg, services, timeout, force, release_file, stages)
    except PipelineError as e:
        error = str(e)
        raise
    finally:
        document = report.pipeline(stages.timings, stages.services, error)
        if as_json:
            print(report.dumps(document))
        elif stages.timings:
            print()
            print(stages.summary())
        summary.append("goswarm redeploy", document)
    return stages


def _redeploy(sh, cfg, services, timeout, force, release_file, stages) -> None:
    """The stages, each timed into `stages`. Building, imaging and shipping are keyed by content and change no
    service, so the deploy lock is taken by the deploy stage, and only when it has something to change."""
    built = config.with_edge(services, environment.GO_SOURCES)
    seen = snapshot.read(engine.client(cfg.target_url), cfg.network, deploy.service_names(services))
    check_platforms(cfg, seen.nodes)
    with stages.stage("build"):
        compiled = {a.service.name for a in build.run(sh, cfg, built, force=force)}
    with stages.stage("image"):
        images = image.build_all(sh, cfg, built, quiet=True, force=force, compiled=compiled)
    if cfg.registry:
        with stages.stage("push"):
            images = [image.push_one(sh, cfg, i) for i in images]
            release.write(sh, images, release_file or release.path_of(cfg))
    else:
        with stages.stage("ship"):
            ship.ship(sh, cfg, images, seen.nodes)
    with stages.stage("deploy"):
        releases = {**{i.service: i for i in images}, **external.resolve_all(sh, cfg, services)}
        steps = deploy.run(sh, cfg, services, releases, timeout, force, f"redeploy {deploy.names(services)}", seen)
        stages.services = summary.results(steps)
    with stages.stage("smoke"):
        for step in steps:
            if step.service.smoke:
                smoke_or_roll_back(sh, cfg, step, timeout or cfg.timeout)
