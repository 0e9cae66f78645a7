"""Plan every service against what runs, check placement, prove the releases an update would expose, then
create, update or remove each one and wait for its rollout (rollout.py); undo a rollout that fails."""
import contextlib
import errno
import socket
import time
from dataclasses import dataclass, field
from typing import Optional

from goswarm import parallel, program
from goswarm.errors import Interrupted, PipelineError
from goswarm.io import engine, engineapi, environment, terminal
from goswarm.ops import edge as edges
from goswarm.ops import (
    external,
    history,
    hooks,
    image,
    lock,
    proof,
    registry,
    rollout,
    secrets,
    ship,
    snapshot,
    summary,
    swarm,
)
from goswarm.ops import release as releases
from goswarm.plan import config, converge, output, ownership, placement, report, servicespec
from goswarm.plan import history as history_plan
from goswarm.plan import secrets as secrets_plan


@dataclass
class Step:
    service: config.Service
    want: dict
    current: dict  # the engine's inspect, or None
    plan: servicespec.Plan
    image_check: Optional[dict] = None  # the image's own HEALTHCHECK, if it declares one
    check: str = ""  # the health check that applies, in words
    group: int = 0  # the steps of one configured service (it, its edge) share one, and roll out in turn
    # An edge reloaded in place (ops/edge.py): the tasks that take the files, the files, the tasks running then,
    # and the update that replaces them if one cannot
    stale: list = field(default_factory=list)
    layer: Optional[bytes] = None
    running: list = field(default_factory=list)
    replaced: Optional[servicespec.Plan] = None


def port_in_use(cfg, port: int) -> bool:
    """Is anything already listening on this port where the service would publish it?"""
    if cfg.manager is None and environment.engine_is_local(environment.docker_host()):
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("0.0.0.0", port))
            except OSError as e:
                return e.errno == errno.EADDRINUSE
            return False
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((cfg.manager_ip, port)) == 0


def check_port(client, cfg, step: Step, steps: list) -> None:
    """A port the new spec publishes must be free, or already ours (an app handing it to its edge)."""
    port = servicespec.published_port(step.want)
    if port is None or servicespec.publishes(step.current, port):
        return
    with engine.errors("listing services"):
        owner = servicespec.port_conflicts(port, engineapi.services(client), {s.service.name for s in steps})
    if owner:
        raise PipelineError(f"port {port} is already published by service {owner}; "
                            f"change the publish port of {step.service.name}")
    if any(servicespec.publishes(s.current, port) for s in steps):
        return
    if port_in_use(cfg, port):
        raise PipelineError(f"port {port} is already taken on {cfg.manager_ip} by something "
                            f"outside the swarm; free it or change the publish port of {step.service.name}")


def service_names(services) -> list:
    """The swarm services a deploy of `services` may touch: each one and its edge. Pure."""
    return [n for s in services for n in (s.name, config.edge_of(s, environment.GO_SOURCES).name)]


def prepare(sh, client, cfg, services, images: dict, force: bool = False, seen: snapshot.Snapshot = None,
            look: bool = False) -> Optional[list]:
    """Read the state and decide everything before changing anything. force: replace every app task anyway
    (never an edge's: it holds the port, and --force is about the app's code).

    A service in edge mode comes with a second step, its edge, right after it. A rollout that an earlier
    run left going is waited out first, so the plan compares against what really runs. seen: the swarm as
    read earlier in this run (default: read now). look: decide without the lock, changing nothing: None as
    soon as there is something to change or to wait for, the steps when there is nothing.
    """
    seen = seen or snapshot.read(client, cfg.network, service_names(services))
    if look and any(rollout.in_flight(client, s, seen.tasks_of(s), seen.down()) for s in seen.services.values()):
        return None
    nodes, net = seen.nodes, seen.network
    start_interval = engine.api_version(client) >= servicespec.START_INTERVAL_API
    names = swarm.node_names(nodes)
    steps = []
    for group, service in enumerate(services):
        versions = [(service, images[service.name], force)]
        edge = config.edge_of(service, environment.GO_SOURCES)
        if service.publish_mode == "edge":
            versions.append((edge, images[config.edge_image(service)], False))
        elif orphan := seen.service(edge.name):  # left from publish_mode: edge, holding the app's port
            steps.append(Step(edge, {}, orphan, servicespec.Plan(
                edge.name, "remove", why=f"{service.name} no longer uses publish_mode: edge"), group=group))
        for svc, release, forcing in versions:
            check = servicespec.check_of(svc, release.healthcheck).describe(svc.port)
            current, failed = settled(sh, client, seen, svc.name, cfg.timeout, check)
            forced = ((current or {}).get("Spec", {}).get("TaskTemplate") or {}).get("ForceUpdate") or 0
            files = secrets.ensure(sh, client, cfg.project, svc, create=not look)
            want = servicespec.desired(svc, release.deploy_ref, release.ref, net, forced + bool(forcing and current),
                                       release.healthcheck, start_interval, cfg.project,
                                       swarm.extra_networks(client, svc), files)
            step = Step(svc, want, current, servicespec.plan(svc, want, current), release.healthcheck, check, group)
            if svc is edge and config.edge_image(service) == config.EDGE:  # an HTTP edge: HAProxy
                step = edges.in_place(cfg, step, running_tasks(seen, current), release)
            if failed and step.plan.action == "update" and servicespec.same_release(want, failed[0]):
                raise PipelineError(f"{failed[1]}; this run would deploy that same release again, so it stops "
                                    f"here: fix it and redeploy")
            steps.append(step)
    if look:  # a service of another project differs in its label, so it is never taken for a no-op
        return None if changes(steps) else steps
    adopted = [ownership.check(s.service.name, s.current, cfg.project, cfg.adopt) for s in steps]
    for step in steps:
        if step.plan.action in ("create", "update"):
            built = cfg.platforms if step.service.built else []  # an image's platforms are its own affair
            refusal = placement.refusal(step.service, nodes, built, names)
            if refusal:
                raise PipelineError(f"{refusal}; nothing was changed")
            check_port(client, cfg, step, steps)
    for note in filter(None, adopted):  # what --adopt takes over, once nothing stands in the way
        print(note)
    return steps


def running_tasks(seen: snapshot.Snapshot, current: Optional[dict]) -> list:
    return [t for t in seen.tasks_of(current) if t["Status"]["State"] == "running"
            and t.get("DesiredState") == "running"] if current else []


def settled(sh, client, seen: snapshot.Snapshot, name: str, timeout: float, check: str):
    """(the service's inspect or None, and when a rollout an earlier run left going failed: (its spec,
    how it ended)); a rollout still going is waited out first."""
    current = seen.service(name)
    if current is None:
        return None, None
    spec = current["Spec"]
    current, outcome = rollout.settle(sh, client, current, timeout, check, seen.tasks_of(current), seen.down())
    return current, (spec, outcome) if outcome else None


def changes(steps: list) -> bool:
    """Is there anything to create, update or remove? Pure."""
    return any(s.plan.action != "none" for s in steps)


def apply(sh, client, step: Step) -> bool:
    """Create, update or remove one service; True when there is a rollout to wait for."""
    action, want = step.plan.action, step.want
    if action == "none":
        print(f"{step.plan.describe()}: it already runs {want['Labels'][f'{servicespec.LABEL}.image']}")
        return False
    with engine.errors(f"{action} of service {step.service.name}"):
        if action == "remove":
            sh.act(step.plan.describe(), engineapi.remove_service, client, step.current["ID"])
            if not sh.dry:
                rollout.wait_gone(client, step.service.name, step.current["ID"], 60)
            return False
        args = servicespec.sdk_arguments(want)
        if action == "create":
            sh.act(step.plan.describe(), engineapi.create_service, client, **args)
        else:
            sh.act(step.plan.describe(), engineapi.update_service, client, step.current, **args)
    return True


def undo(sh, client, step: Step, failure: rollout.RolloutFailed, timeout: float) -> PipelineError:
    """A rollout of ours that did not converge leaves nothing half-applied: an update goes back to the
    previous release (the engine does that itself only for a task that fails, not one never placed),
    a service this run created is removed again. Returns the error to raise."""
    name = step.service.name
    if failure.by_engine:
        return PipelineError(f"{failure}; the previous release runs again")
    if step.plan.action == "update":
        print(f"{failure}; rolling back to the previous release")
        rollout.back(sh, client, name, failure, timeout)
        return PipelineError(f"{failure}; {name} was rolled back to its previous release, which runs again")
    current = rollout.inspect(client, name)
    if current is not None:
        print(f"{failure}; removing {name} again, as this run created it")
        with engine.errors(f"removing service {name}"):
            engineapi.remove_service(client, current["ID"])
        rollout.wait_gone(client, name, current["ID"], timeout)
    return PipelineError(f"{failure}; {name} was new and has been removed again")


def trials(steps: list) -> list:
    """The releases to prove in a trial container before they replace a working one: a stop-first update
    (its old task stops before the new one runs), and a start-first update of a service with a smoke path
    whose health check cannot read it (a command or the image's own: the engine gates only on the check).
    With goswarm's probe, a new task's first check reads the smoke path itself, so a start-first update needs
    no trial: the old task serves until the new one passed both. (service, image, image's check). Pure."""
    return [(s.service, s.want["TaskTemplate"]["ContainerSpec"]["Image"], s.image_check) for s in steps
            if s.plan.action == "update" and (s.plan.order == "stop-first" or (
                s.service.smoke and not servicespec.gates_smoke(s.service, s.image_check)))]


def run(sh, cfg, services, images, timeout=None, force=False, what: str = None,
        seen: snapshot.Snapshot = None) -> list:
    """Library entry: plan all without the lock; when nothing is to change, say so and write nothing (no
    lock either). Else, holding the deploy lock (taken for `what`), plan again on a fresh read, prove the
    releases an update would expose, then apply and wait, services side by side (ROLLOUTS at once, a
    service's edge after it); a rollout that fails is undone, the others run to their end. Returns the steps.
    seen: the swarm as this run read it before building."""
    client = registry.target_client(cfg)
    timeout = timeout or cfg.timeout
    unchanged = None if sh.dry else prepare(sh, client, cfg, services, images, force, seen, look=True)
    if unchanged is not None:
        for step in unchanged:
            apply(sh, client, step)
        return unchanged
    with locked(sh, cfg, what or f"deploy {names(services)}"):
        return _run(sh, client, cfg, services, images, timeout, force)


def _run(sh, client, cfg, services, images, timeout, force) -> list:
    # Planned again under the lock: another run may have changed the swarm since the look.
    steps = prepare(sh, client, cfg, services, images, force)
    releases_run = {s.service.name: (s.want["Labels"][f"{servicespec.LABEL}.image"],
                                     s.want["TaskTemplate"]["ContainerSpec"]["Image"]) for s in steps if s.want}
    hooks.run(sh, cfg, "pre-deploy", releases_run)
    releases.check_pullable(client, [(s.service.name, s.want["TaskTemplate"]["ContainerSpec"]["Image"])
                                     for s in steps if s.plan.action in ("create", "update")])
    proof.sweep(sh, client)
    removals = proof.prove_all(sh, client, trials(steps), cfg.network)
    try:
        try:
            lanes = parallel.Lanes()  # over SSH, a connection per PER_CONNECTION rollouts (sshd's MaxSessions)
            rolls = chains(steps)
            at_once = parallel.workers(len(rolls), ROLLOUTS)
            every = rollout.poll_every(at_once)
            for lane in range(1, -(-at_once // parallel.PER_CONNECTION)):  # made here, one at a time, not in threads
                registry.target_client(cfg, lane)

            def roll_on_a_lane(chain):
                with lanes.one() as lane:
                    roll(sh, cfg, registry.target_client(cfg, lane), chain, timeout, every)

            parallel.each(roll_on_a_lane, rolls, ROLLOUTS)
        except KeyboardInterrupt:  # in the middle of several rollouts at once (one alone says it itself)
            changing = [s.service.name for s in steps if s.plan.action != "none"]
            raise Interrupted("; ".join(converge.after_interrupt(name, rollout.inspect(client, name))
                                        for name in changing)) from None
    finally:
        for removal in removals:
            removal.join(30)
    for step in steps:  # every rollout went through: the secrets and configs no spec mounts any more go
        if step.service.secrets or step.service.configs or secrets_plan.referenced((step.current or {}).get("Spec")):
            secrets.prune(sh, client, cfg.project, step.service)
    if changes(steps):
        keys = {s.name for s in services} | {config.edge_image(s) for s in services if s.publish_mode == "edge"}
        history.record(sh, client, cfg.project, {k: v for k, v in images.items() if k in keys})
    hooks.run(sh, cfg, "post-deploy", releases_run)
    return steps


# Rollouts at once: each mostly waits on the engine (tasks starting, health checks), and they look less often
# when many wait (rollout.poll_every). 20 services of 3 replicas all changed, on the 10-node lab: the deploy stage
# took 32-36 s with 16 at once, 37-48 s with 20 and 48-56 s with 4 (bench/RESULTS.md section 12).
ROLLOUTS = 16


def chains(steps: list) -> list:
    """The steps of each configured service, in order (an edge after its app); services apart. Pure."""
    grouped = {}
    for step in steps:
        grouped.setdefault(step.group, []).append(step)
    return list(grouped.values())


def roll(sh, cfg, client, chain: list, timeout: float, every: float = rollout.POLL) -> None:
    """Apply one service's steps in turn, waiting for each rollout (looking every `every` seconds); a rollout that
    fails is undone. An edge that cannot reload in place has its tasks replaced instead."""
    for step in chain:
        if step.plan.action == "reload":
            try:
                edges.reload(sh, cfg, client, step)
                continue
            except PipelineError as e:
                print(f"{e}; replacing the tasks of {step.service.name} instead")
                fallback = edges.replacement(step)  # in the step itself: the run's summary reads it
                step.plan, step.want = fallback.plan, fallback.want
        try:
            changed = apply(sh, client, step)
        except KeyboardInterrupt:  # did the engine get the update before it?
            ref = ((step.want.get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("Image")
            raise Interrupted(converge.after_interrupt(
                step.service.name, rollout.inspect(client, step.service.name), ref)) from None
        if changed:
            try:
                rollout.wait(sh, client, step.service.name, timeout, check=step.check, every=every)
            except rollout.RolloutFailed as failure:
                raise undo(sh, client, step, failure, timeout) from None


@contextlib.contextmanager
def locked(sh, cfg, what: str):
    """Hold the swarm's deploy lock for a mutation (not under --dry, which changes nothing)."""
    if sh.dry:
        yield
        return
    with lock.held(engine.client(cfg.target_url), what, cfg.lock_ttl, cfg.lock_name):
        yield


def names(services) -> str:
    return ",".join(s.name for s in services)


def summarised(title: str, body, as_json: bool = False) -> list:
    """Run a deploy (`body()` returns its steps), timed, and append how it went to GitHub's step summary.
    as_json: the progress goes to stderr, and the same document (redeploy's shape) to stdout."""
    stages, steps, error = output.Stages(time.monotonic), [], None
    try:
        with terminal.progress_to_stderr(as_json), stages.stage("deploy"):
            steps = body()
        return steps
    except PipelineError as e:
        error = str(e)
        raise
    finally:
        document = report.pipeline(stages.timings, summary.results(steps), error)
        if as_json:
            print(report.dumps(document))
        summary.append(title, document)


def deploy(sh, cfg, services: list, timeout=None, force=False, as_json: bool = False) -> list:
    """Create or rolling-update the services from their latest images (shipped to nodes without a registry)."""
    return summarised("goswarm deploy", lambda: _deploy(sh, cfg, services, timeout, force), as_json)


def _deploy(sh, cfg, services: list, timeout=None, force=False) -> list:
    images = {svc.name: image.latest(cfg, svc) for svc in config.with_edge(services, environment.GO_SOURCES)}
    if not cfg.registry:
        ship.ship(sh, cfg, list(images.values()))
    images.update(external.resolve_all(sh, cfg, services))
    return run(sh, cfg, services, images, timeout, force, f"deploy {names(services)}")


def deploy_release(sh, cfg, path, wanted=None, timeout=None, force=False, as_json: bool = False) -> list:
    """Deploy exactly the digests of a release file (`release.read`): no tag is resolved and no local image is
    needed; a digest the registry does not give the swarm is refused before any service changes."""
    return summarised(f"goswarm deploy --release {output.shown(path)}",
                      lambda: _deploy_release(sh, cfg, path, wanted, timeout, force), as_json)


def _deploy_release(sh, cfg, path, wanted=None, timeout=None, force=False) -> list:
    entries = releases.read(path)
    services = releases.services_of(cfg, entries, wanted)
    images = releases.images_of(cfg, entries)
    return run(sh, cfg, services, images, timeout, force, f"deploy {names(services)} from {output.shown(path)}")


def rollback(sh, cfg, services: list, timeout=None, to: int = None) -> None:
    """Put each service's previous release back, as `docker service rollback` does, and wait until it runs.
    to: go back that many releases of each service in the project's release history instead (a deploy of
    those images, with the config as it is now)."""
    client = registry.target_client(cfg)
    for svc in services:
        ownership.must_be_ours(svc.name, rollout.inspect(client, svc.name), cfg.project, "roll back")
    if to is not None:
        images = releases_back(client, cfg, services, to)
        run(sh, cfg, services, images, timeout, what=f"rollback --to {to} {names(services)}")
        return
    with locked(sh, cfg, f"rollback {names(services)}"):
        for svc in services:
            rollout.rollback(sh, client, svc.name, timeout or cfg.timeout)


def releases_back(client, cfg, services: list, to: int) -> dict:
    """The images `to` releases back of each service (and its edge: the one it ran then, else today's)."""
    entries = history.read(client, cfg.project)
    images = {}
    for svc in services:
        release = history_plan.back(entries, svc.name, to)
        if release is None:
            raise PipelineError(f"{svc.name} is in no release of the history of project {cfg.project}: nothing "
                                f"to go back to")
        edge = config.edge_image(svc) if svc.publish_mode == "edge" else None
        for key, found in ((svc.name, release), (edge, edge and history_plan.ran_with(entries, edge, release["seq"]))):
            if key is None:
                continue
            if found is None:  # the edge of a release from before edge mode: today's
                images[key] = image.latest(cfg, config.Service(key, None, 1))
                continue
            runs = found["runs"]
            local = runs if runs.startswith("sha256:") else ""
            kept = engine.find_image(client, runs) if local else None
            images[key] = image.Image(key, found["repository"], found["tag"], id=local,
                                      digest="" if local else runs,
                                      healthcheck=image.own_check(kept.attrs) if kept else None)
            if key == svc.name:
                print(f"{key}: {to} release(s) back is {found['repository']}:{found['tag']} (deployed {found['at']})")
    return images


def unlock(sh, cfg) -> None:
    lock.unlock(sh, engine.client(cfg.target_url), cfg.lock_name)


def remove(sh, cfg, services: list) -> None:
    """Remove the services (an edge first: it forwards to its app) and wait until their tasks are gone."""
    client = engine.client(cfg.target_url)
    found = {name: rollout.inspect(client, name) for svc in services
             for name in ([f"{svc.name}-edge"] if svc.publish_mode == "edge" else []) + [svc.name]}
    for name, current in found.items():  # all checked before any is removed
        ownership.must_be_ours(name, current, cfg.project, "remove")
    for svc in services:
        edge = [f"{svc.name}-edge"] if svc.publish_mode == "edge" else []
        for name in edge + [svc.name]:
            current = found[name]
            if current is None:
                print(f"{name}: not deployed, no change")
                continue
            with engine.errors(f"removing service {name}"):
                sh.act(f"remove service {name}", engineapi.remove_service, client, current["ID"])
            if not sh.dry:
                rollout.wait_gone(client, name, current["ID"], cfg.timeout)
        if not sh.dry and found[svc.name] is not None:
            secrets.prune(sh, client, cfg.project, svc)  # the service is gone: so are its secrets and configs


def scale(sh, cfg, name: str, replicas: int) -> None:
    """Change only the replica count of a deployed service, and wait until it converges."""
    client = registry.target_client(cfg)
    current = rollout.inspect(client, name)
    if current is None:
        raise PipelineError(f"{name} is not deployed: run {program.run(f'deploy --service {name}')}")
    ownership.must_be_ours(name, current, cfg.project, "scale")
    spec = current["Spec"]
    if spec["Mode"].get("Replicated", {}).get("Replicas") == replicas:
        print(f"{name}: already {replicas} replicas, no change")
        return
    with engine.errors(f"scaling {name}"):
        sh.act(f"scale {name} to {replicas}", engineapi.update_service, client, current,
               **servicespec.sdk_arguments({**spec, "Mode": {"Replicated": {"Replicas": replicas}}}))
    rollout.wait(sh, client, name, cfg.timeout)


TASK_HEADERS = ("SERVICE", "SLOT", "NODE", "DESIRED", "STATE", "SINCE", "ERROR")


def tasks_table(cfg, services: list, as_json: bool = False) -> str:
    """The services' tasks: node, desired and current state, since when, error."""
    client = engine.client(cfg.target_url)
    rows = []
    with engine.errors("listing tasks"):
        nodes = swarm.node_names(engineapi.nodes(client))
        for svc in services:
            current = rollout.inspect(client, svc.name)
            for t in engineapi.tasks(client, svc.name) if current else []:
                if t["ServiceID"] == current["ID"]:  # the filter also matches names that merely start with it
                    status = t["Status"]
                    rows.append((svc.name, t.get("Slot", ""), nodes.get(t.get("NodeID"), "-"), t["DesiredState"],
                                 status["State"], status.get("Timestamp", "")[:19], status.get("Err", "")))
    if as_json:
        return report.dumps(report.records(sorted(rows), TASK_HEADERS))
    return output.table(sorted(rows), TASK_HEADERS)


def logs(cfg, name: str, follow: bool = False, tail=None) -> None:
    """Print the logs of all of a service's tasks; with `follow`, until Ctrl-C."""
    client = engine.client(cfg.target_url)
    if rollout.inspect(client, name) is None:
        raise PipelineError(f"{name} is not deployed")
    with engine.errors(f"reading logs of {name}"):
        stream = engineapi.service_logs(client, name, follow, tail)
        try:
            for chunk in stream:
                print(chunk.decode(errors="replace"), end="")
        except KeyboardInterrupt:
            pass
