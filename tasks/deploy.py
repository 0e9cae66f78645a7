"""deploy: create or roll-update each service, then wait until it has converged."""
import errno
import socket
import time
from dataclasses import dataclass

from invoke import Collection

from tasks import config, converge, engine, environment, image, output, servicespec, settings, ship, swarm
from tasks.errors import PipelineError, task

DEFAULTS = {"deploy": {"timeout": 60}}
POLL = 0.2
BLOCKED_GRACE = 5.0  # the scheduler retries placement; a placement error this old is real


@dataclass
class Step:
    service: config.Service
    want: dict
    current: dict  # the engine's inspect, or None
    plan: servicespec.Plan


def inspect(client, name: str):
    import docker

    with engine.errors(f"inspecting service {name}"):
        try:
            return client.api.inspect_service(name)
        except docker.errors.NotFound:
            return None


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


def check_port(client, cfg, service: config.Service, current) -> None:
    if service.publish is None or servicespec.publishes(current, service.publish):
        return
    with engine.errors("listing services"):
        owner = servicespec.port_conflicts(service, client.api.services())
    if owner:
        raise PipelineError(f"port {service.publish} is already published by service {owner}; "
                            f"change services.{service.name}.publish")
    if port_in_use(cfg, service.publish):
        raise PipelineError(f"port {service.publish} is already taken on {cfg.manager_ip} by something "
                            f"outside the swarm; free it or change services.{service.name}.publish")


def prepare(client, cfg, services, images: dict) -> list:
    """Read the state and decide everything before changing anything."""
    net = swarm.network_id(client, cfg.network)
    steps = []
    for service in services:
        image = images[service.name]
        want = servicespec.desired(service, image.deploy_ref, image.ref, net)
        current = inspect(client, service.name)
        steps.append(Step(service, want, current, servicespec.plan(service, want, current)))
    for step in steps:
        if step.plan.action != "none":
            check_port(client, cfg, step.service, step.current)
    return steps


def apply(c, client, step: Step) -> bool:
    """Create or update one service; False when there was nothing to do."""
    want = step.want
    args = dict(task_template=want["TaskTemplate"], name=want["Name"], labels=want["Labels"], mode=want["Mode"],
                update_config=want["UpdateConfig"], rollback_config=want["RollbackConfig"],
                endpoint_spec=want["EndpointSpec"])
    if step.plan.action == "none":
        print(step.plan.describe())
        return False
    with engine.errors(f"{step.plan.action} of service {step.service.name}"):
        if step.plan.action == "create":
            output.act(c, step.plan.describe(), client.api.create_service, **args)
        else:
            output.act(c, step.plan.describe(), client.api.update_service,
                       step.current["ID"], step.current["Version"]["Index"], **args)
    return True


def wait(c, client, name: str, timeout: float) -> None:
    """Poll until converged; a rollback, a crash loop or the timeout is an error with the reason."""
    if output.is_dry(c):
        return
    deadline = time.monotonic() + timeout
    last = None
    blocked_since = None
    while True:
        service = inspect(client, name)
        with engine.errors(f"listing tasks of {name}"):
            tasks = client.api.tasks(filters={"service": service["ID"]})
            down = swarm.down_nodes(client)
        progress = converge.evaluate(service, tasks, down)
        rolling_back = (service.get("UpdateStatus") or {}).get("State") == "rollback_started"
        if progress.failed and not (rolling_back and time.monotonic() < deadline):
            raise PipelineError(f"{name}: {progress.error}")
        if progress.failed:  # the engine is putting the previous release back: report once it has
            time.sleep(POLL)
            continue
        blocked_since = (blocked_since or time.monotonic()) if progress.blocked else None
        if blocked_since and time.monotonic() - blocked_since > BLOCKED_GRACE:
            raise PipelineError(f"{name}: {progress.blocked}")
        if progress.done:
            print(f"{name}: converged, {progress.running}/{progress.desired} running")
            return
        if (progress.running, progress.desired) != last:
            print(f"{name}: {progress.running}/{progress.desired} tasks of the new spec running")
            last = (progress.running, progress.desired)
        if time.monotonic() > deadline:
            raise PipelineError(f"{name}: not converged after {timeout:.0f}s ({progress.running}/{progress.desired} "
                                f"running); see `inv deploy.ps --service {name}`")
        time.sleep(POLL)


def run(c, cfg, services, images, timeout=None) -> list:
    """Library entry: plan all, then apply and wait one service at a time."""
    client = engine.client(cfg.target_url)
    steps = prepare(client, cfg, services, images)
    for step in steps:
        if apply(c, client, step):
            wait(c, client, step.service.name, timeout or cfg.timeout)
    return [step.plan for step in steps]


SERVICE_HELP = {"service": "Only these services (comma-separated names from invoke.yaml).",
                "manager": swarm.MANAGER_HELP}


@task(default=True, help={**SERVICE_HELP, "timeout": "Seconds to wait for convergence (default: deploy.timeout)."})
def deploy(c, service=None, timeout=None, manager=None):
    """Create or rolling-update the services from their latest images, and wait until they converge."""
    cfg = settings.load(c, manager)
    services = config.select(cfg.services, service)
    images = {svc.name: image.latest(cfg, svc) for svc in services}
    if not cfg.registry:
        ship.ship(c, cfg, list(images.values()))
    run(c, cfg, services, images, settings.seconds("--timeout", timeout) if timeout else None)


@task(help=SERVICE_HELP)
def rm(c, service=None, manager=None):
    """Remove the services and wait until their tasks are gone."""
    cfg = settings.load(c, manager)
    client = engine.client(cfg.target_url)
    for svc in config.select(cfg.services, service):
        current = inspect(client, svc.name)
        if current is None:
            print(f"{svc.name}: not deployed, no change")
            continue
        with engine.errors(f"removing service {svc.name}"):
            output.act(c, f"remove service {svc.name}", client.api.remove_service, current["ID"])
        if not output.is_dry(c):
            wait_gone(client, svc.name, current["ID"], cfg.timeout)


def wait_gone(client, name: str, service_id: str, timeout: float) -> None:
    """Until every task of the removed service has stopped, on every node that can still say so."""
    deadline = time.monotonic() + timeout
    with engine.errors(f"waiting for {name}'s tasks to stop"):
        while True:
            down = swarm.down_nodes(client)
            # The engine refuses a service filter once the service is gone, so filter here.
            left = [t for t in client.api.tasks() if t["ServiceID"] == service_id and t.get("NodeID") not in down]
            if not left:
                break
            if time.monotonic() > deadline:
                raise PipelineError(f"{name}: {len(left)} tasks still running {timeout:.0f}s after removal")
            time.sleep(POLL)
    print(f"{name}: removed")


@task(help={"service": "The service to scale (required).", "replicas": "How many tasks to run.",
            "manager": SERVICE_HELP["manager"]})
def scale(c, service, replicas, manager=None):
    """Set a service's replica count and wait until it converges."""
    cfg = settings.load(c, manager)
    svc = config.select(cfg.services, service)[0]
    client = engine.client(cfg.target_url)
    if set_replicas(c, client, svc.name, settings.whole_number("--replicas", replicas)):
        wait(c, client, svc.name, cfg.timeout)


def set_replicas(c, client, name: str, replicas: int) -> bool:
    """Change only the replica count of a deployed service; False when it already has that many."""
    current = inspect(client, name)
    if current is None:
        raise PipelineError(f"{name} is not deployed: run `inv deploy --service {name}`")
    spec = current["Spec"]
    if spec["Mode"].get("Replicated", {}).get("Replicas") == replicas:
        print(f"{name}: already {replicas} replicas, no change")
        return False
    with engine.errors(f"scaling {name}"):
        output.act(c, f"scale {name} to {replicas}", client.api.update_service, current["ID"],
                   current["Version"]["Index"], task_template=spec["TaskTemplate"], name=spec["Name"],
                   labels=spec.get("Labels"), mode={"Replicated": {"Replicas": replicas}},
                   update_config=spec.get("UpdateConfig"), rollback_config=spec.get("RollbackConfig"),
                   endpoint_spec=spec.get("EndpointSpec"))
    return True


@task(help=SERVICE_HELP)
def ps(c, service=None, manager=None):
    """List the services' tasks: node, state, error."""
    cfg = settings.load(c, manager)
    client = engine.client(cfg.target_url)
    rows = []
    with engine.errors("listing tasks"):
        nodes = swarm.node_names(client.api.nodes())
        for svc in config.select(cfg.services, service):
            current = inspect(client, svc.name)
            for t in client.api.tasks(filters={"service": svc.name}) if current else []:
                if t["ServiceID"] == current["ID"]:  # the filter also matches names that merely start with it
                    rows.append((svc.name, t.get("Slot", ""), nodes.get(t.get("NodeID"), "-"), t["DesiredState"],
                                 t["Status"]["State"], t["Status"].get("Timestamp", "")[:19], t["Status"].get("Err", "")))
    print(output.table(sorted(rows), ("SERVICE", "SLOT", "NODE", "DESIRED", "STATE", "SINCE", "ERROR")))


@task(help={"service": "The service (required).", "follow": "Keep streaming new lines.",
            "tail": "Only the last N lines of each task (default: all).", "manager": SERVICE_HELP["manager"]})
def logs(c, service, follow=False, tail=None, manager=None):
    """Print a service's logs from all of its tasks."""
    cfg = settings.load(c, manager)
    svc = config.select(cfg.services, service)[0]
    client = engine.client(cfg.target_url)
    if inspect(client, svc.name) is None:
        raise PipelineError(f"{svc.name} is not deployed")
    with engine.errors(f"reading logs of {svc.name}"):
        stream = client.api.service_logs(svc.name, stdout=True, stderr=True, follow=follow,
                                         tail=settings.whole_number("--tail", tail) if tail else "all", details=False)
        try:
            for chunk in stream:
                print(chunk.decode(errors="replace"), end="")
        except KeyboardInterrupt:
            pass


ns = Collection("deploy")
ns.add_task(deploy)
ns.add_task(rm)
ns.add_task(scale)
ns.add_task(ps)
ns.add_task(logs)
ns.configure(DEFAULTS)
