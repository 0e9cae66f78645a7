"""What a swarm service should look like, and what must change to get there. Pure.

`desired()` builds an Engine API ServiceSpec from the config; `observe()`
reduces any spec (ours or an engine's inspect, with its filled-in defaults) to
the fields we manage; `plan()` compares the two.
"""
from dataclasses import dataclass, field
from typing import Optional

from goswarm.plan.config import PROBE_PATH, Check, Service

LABEL = "io.goswarm"
PROJECT_LABEL = f"{LABEL}.project"  # the project that created the service: plan/ownership.py
SECOND = 1_000_000_000  # the Engine API counts durations in nanoseconds
# A task counts as running only once healthy. Docker's default 30 s interval would make every update
# take 30 s, so the first check comes a quarter of a second after the start (bench/breakdown.py: the check's
# interval is most of the time from a task's start to its first request). Failures in the start period do not
# count; after it, 1.5 s of failed checks (6 in a row) make a task unhealthy.
HEALTH = {"Interval": SECOND // 4, "Timeout": 2 * SECOND, "Retries": 6, "StartPeriod": 10 * SECOND}
# Once healthy, a check every half second would cost some 6 % of a core per task (each check is an exec).
# Engines with the API's StartInterval (1.44, Docker 25) check every STEADY once started; older ones get the
# probe's -steady mode, which stays in its check for STEADY (see goswarm/go/probe). Either way one exec in 10 s.
STEADY = 10 * SECOND
START_INTERVAL_API = (1, 44)
# The services drain in-flight requests on SIGTERM for up to 10 s (services/*/main.go); this covers it.
STOP_GRACE = 15 * SECOND


@dataclass(frozen=True)
class Plan:
    service: str
    action: str  # "create", "update", "reload" (an edge, in place), "remove" or "none"
    changes: list = field(default_factory=list)  # (field, before, after)
    order: str = "stop-first"

    why: str = ""  # why this update order

    def describe(self) -> str:
        if self.action == "none":
            return f"{self.service}: no change"
        if self.action == "create":
            return f"create service {self.service}"
        if self.action == "remove":
            return f"remove service {self.service}: {self.why}"
        if self.action == "reload":
            fields = "; ".join(f"{name} {_short(before)} -> {_short(after)}" for name, before, after in self.changes)
            return f"reload service {self.service} in place ({self.why}): {fields}"
        fields = "; ".join(f"{name} {_short(before)} -> {_short(after)}" for name, before, after in self.changes)
        return f"update service {self.service} ({self.order}, one task at a time: {self.why}): {fields}"


def _short(value) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:19] + "…" + text[-19:]


def update_order(service: Service) -> str:
    """start-first needs two tasks to share the published port, which only the ingress mesh allows."""
    return "stop-first" if service.publishes is not None and service.publish_mode == "host" else "start-first"


def order_reason(service: Service) -> str:
    """Why update_order chose what it chose, in words for --dry and the plan."""
    if service.publish_mode == "edge":
        return (f"{service.name}-edge holds port {service.publish} and forwards to healthy tasks, so the new "
                f"task starts before the old one stops")
    if service.publish is None:
        return "no published port, so the new task starts before the old one stops"
    if service.publish_mode == "ingress":
        return f"the ingress mesh lets old and new tasks share port {service.publish}"
    return (f"host-mode port {service.publish} can be bound by one task per node, so the old task stops "
            f"first; the new image is proven healthy before that")


def check_of(service: Service, image_check: Optional[dict]) -> Check:
    """The check that applies: the configured one; else the image's own HEALTHCHECK; else the port. Pure."""
    if service.healthcheck.kind != "image":
        return service.healthcheck
    declared = (image_check or {}).get("Test")
    if declared and declared != ["NONE"]:
        return Check("image")
    # goswarm's probe checks the port of an image it built; an `image:` service has no probe to run
    return Check("tcp") if service.built else Check("none")


def probe_test(service: Service, check: Check, steady: bool, smoke: bool = True) -> list:
    """The probe as a health check. smoke: a new task passes its first check only once the service's smoke
    path answers 2xx too (see gates_smoke)."""
    target = ["-tcp", f"127.0.0.1:{service.port}"] if check.kind == "tcp" else [
        f"http://127.0.0.1:{check.port or service.port}{check.value[0]}"]
    gate = ["-smoke", f"http://127.0.0.1:{service.port}{service.smoke}"] if smoke and service.smoke else []
    return ["CMD", PROBE_PATH, *(["-steady", f"{STEADY // SECOND}s"] if steady else []), *gate, *target]


def gates_smoke(service: Service, image_check: Optional[dict]) -> bool:
    """Does a new task's first health check read the smoke path? Then the engine, which lets a task take
    traffic only once healthy, keeps a release that answers its smoke path wrong from every request, and a
    start-first update needs no trial container to learn that first. Only goswarm's probe does it: a
    command or the image's own HEALTHCHECK does not. Pure."""
    return bool(service.smoke) and check_of(service, image_check).kind in ("http", "tcp")


def healthcheck(service: Service, image_check: Optional[dict] = None, start_interval: bool = False):
    """The task's HEALTHCHECK as the Engine API takes it; None keeps the image's own, as it declares it.

    image_check: the image's own Healthcheck (from its config), if it has one. start_interval: the engine
    takes StartInterval (API 1.44+)."""
    check = check_of(service, image_check)
    if check.kind == "image":
        return None
    if check.kind == "none":
        return {"Test": ["NONE"]}
    if check.kind == "command":
        return {"Test": ["CMD", *check.value], **HEALTH, **dict(check.timing)}
    if check.timing:  # the user's timing: the probe checks once per interval
        return {"Test": probe_test(service, check, steady=False), **HEALTH, **dict(check.timing)}
    if start_interval:
        return {"Test": probe_test(service, check, steady=False), **HEALTH, "Interval": STEADY,
                "StartInterval": HEALTH["Interval"]}
    # -steady stays in the check for up to STEADY, then one last check (up to its own 2 s timeout)
    return {"Test": probe_test(service, check, steady=True), **HEALTH, "Timeout": STEADY + 4 * SECOND}


def trial_check(service: Service, image_check: Optional[dict], interval: int) -> Optional[dict]:
    """The same check for a trial container, checked every `interval`: a trial only waits for the first
    success. None when there is no check at all."""
    check = check_of(service, image_check)
    if check.kind == "none":
        return None
    test = image_check["Test"] if check.kind == "image" else (
        ["CMD", *check.value] if check.kind == "command" else probe_test(service, check, steady=False, smoke=False))
    return {"Test": test, **HEALTH, "Interval": interval}


def endpoint_mode(service: Service) -> str:
    """VIP load balancing needs IPVS, like the ingress mesh; DNS round-robin works everywhere else."""
    return "vip" if service.publishes is not None and service.publish_mode == "ingress" else "dnsrr"


def rollout(service: Service, on_failure: str) -> dict:
    """One task at a time, each watched for a second; used for updates and for rolling back."""
    return {"Parallelism": 1, "Delay": 0, "Order": update_order(service), "FailureAction": on_failure,
            "Monitor": SECOND}


def desired(service: Service, image_ref: str, image_name: str, network_id: str, force_update: int = 0,
            image_check: Optional[dict] = None, start_interval: bool = False, project: str = "",
            networks: Optional[dict] = None, files: Optional[dict] = None) -> dict:
    """force_update: the TaskTemplate's ForceUpdate counter; a new value makes the engine replace every task.
    image_check and start_interval: see healthcheck(). project: its PROJECT_LABEL. networks: the ids of the
    service's extra `networks:` by name (default: the names, as a compose file says them). files: the
    ContainerSpec's Secrets and Configs (plan/secrets.references)."""
    tuned = service.tuning
    container = {"Image": image_ref, "Env": container_env(service),
                 "StopGracePeriod": tuned.stop_grace if tuned.stop_grace is not None else STOP_GRACE}
    container.update(files or {})
    if tuned.command:
        container["Command"] = list(tuned.command)
    if tuned.args:
        container["Args"] = list(tuned.args)
    if service.stop_signal:
        container["StopSignal"] = service.stop_signal
    mounts = [{"Type": "bind", "Source": m.source, "Target": m.target, "ReadOnly": m.read_only}
              for m in service.mounts] + tuned.mounts()
    if mounts:
        container["Mounts"] = mounts
    check = healthcheck(service, image_check, start_interval)
    if check:
        container["Healthcheck"] = check
    ports = []
    if service.publishes is not None:
        ports.append({"Protocol": "tcp", "TargetPort": service.port, "PublishedPort": service.publish,
                      "PublishMode": service.publish_mode})
    placement = {"Constraints": list(service.constraints)}
    if tuned.preferences:
        placement["Preferences"] = [{"Spread": {"SpreadDescriptor": d}} for d in tuned.preferences]
    task = {
        "ContainerSpec": container,
        "Placement": placement,
        "Networks": [{"Target": network_id, "Aliases": [service.name]}] + [
            {"Target": (networks or {}).get(name, name), "Aliases": [service.name]} for name in tuned.networks],
        "RestartPolicy": {"Condition": "any", "Delay": SECOND // 2, "MaxAttempts": 0},
        "ForceUpdate": force_update,
    }
    if tuned.resources():
        task["Resources"] = tuned.resources()
    return {
        "Name": service.name,
        "Labels": {**dict(tuned.labels), f"{LABEL}.service": service.name, f"{LABEL}.image": image_name,
                   **({PROJECT_LABEL: project} if project else {})},
        "TaskTemplate": task,
        "Mode": {"Global": {}} if service.global_mode else {"Replicated": {"Replicas": service.replicas}},
        "UpdateConfig": tuned.update.apply(rollout(service, on_failure="rollback")),
        # Without this the engine rolls back with its defaults: a 5 s monitor per task, and a pause on failure.
        "RollbackConfig": tuned.rollback.apply(rollout(service, on_failure="pause")),
        "EndpointSpec": {"Mode": endpoint_mode(service), "Ports": ports},
    }


def sdk_arguments(spec: dict) -> dict:
    """A ServiceSpec as the docker SDK's create_service/update_service keyword arguments (the one place)."""
    return dict(task_template=spec["TaskTemplate"], name=spec["Name"], labels=spec.get("Labels"), mode=spec["Mode"],
                update_config=spec.get("UpdateConfig"), rollback_config=spec.get("RollbackConfig"),
                endpoint_spec=spec.get("EndpointSpec"))


def same_release(a: dict, b: dict) -> bool:
    """Do two specs run the same release the same way (a --force counter aside)?"""
    first, second = observe(a), observe(b)
    return {k: v for k, v in first.items() if k != "forced updates"} == {
        k: v for k, v in second.items() if k != "forced updates"}


def container_env(service: Service) -> list:
    return sorted(f"{k}={v}" for k, v in {"PORT": str(service.port), **service.env}.items())


def observe(spec: dict) -> dict:
    """The managed fields of a spec, in a form that compares equal when nothing needs to change."""
    task = spec.get("TaskTemplate") or {}
    container = task.get("ContainerSpec") or {}
    endpoint = spec.get("EndpointSpec") or {}
    update = spec.get("UpdateConfig") or {}
    return {
        "image": container.get("Image"),
        "env": sorted(container.get("Env") or []),
        "replicas": ((spec.get("Mode") or {}).get("Replicated") or {}).get("Replicas", "one per node"),
        "networks": sorted(n.get("Target") for n in task.get("Networks") or []),
        "ports": sorted(
            (p.get("TargetPort"), p.get("PublishedPort"), p.get("PublishMode", "ingress"))
            for p in endpoint.get("Ports") or []
        ),
        "endpoint mode": endpoint.get("Mode", "vip"),
        "constraints": sorted((task.get("Placement") or {}).get("Constraints") or []),
        "update order": update.get("Order", "stop-first"),
        "update config": _rolling(update),
        "rollback config": _rolling(spec.get("RollbackConfig") or {}),
        "resources": _resources(task.get("Resources")),
        "command": (container.get("Command") or [], container.get("Args") or []),
        "labels": sorted((k, v) for k, v in (spec.get("Labels") or {}).items() if not k.startswith(LABEL)),
        "preferences": sorted(((p.get("Spread") or {}).get("SpreadDescriptor") or "")
                              for p in (task.get("Placement") or {}).get("Preferences") or []),
        "stop grace": container.get("StopGracePeriod"),
        "stop signal": container.get("StopSignal"),
        "mounts": sorted(f"{'volume ' if m.get('Type') == 'volume' else ''}{m.get('Source')}:{m.get('Target')}"
                         f"{':ro' if m.get('ReadOnly') else ''}" for m in container.get("Mounts") or []),
        "healthcheck": _health(container.get("Healthcheck")),
        "secrets": sorted(f"{(r.get('File') or {}).get('Name')} from {r.get('SecretName')}"
                          for r in container.get("Secrets") or []),
        "configs": sorted(f"{(r.get('File') or {}).get('Name')} from {r.get('ConfigName')}"
                          for r in container.get("Configs") or []),
        "forced updates": task.get("ForceUpdate") or 0,
        "project": (spec.get("Labels") or {}).get(PROJECT_LABEL),
    }


def _rolling(config: dict) -> str:
    """An UpdateConfig or RollbackConfig as the engine fills it in (zeros left out), in words."""
    fields = ("Parallelism", "Delay", "FailureAction", "Monitor", "MaxFailureRatio")
    return ", ".join(f"{k} {config[k]}" for k in fields if config.get(k))


def _resources(resources) -> str:
    parts = []
    for side in ("Limits", "Reservations"):
        given = {k: v for k, v in ((resources or {}).get(side) or {}).items() if v}
        if given:
            parts.append(f"{side.lower()} {', '.join(f'{k} {v}' for k, v in sorted(given.items()))}")
    return "; ".join(parts)


def _health(check):
    """None and NONE both mean no check. Readable, since --dry and the plan print it."""
    if not check or check.get("Test") in (None, [], ["NONE"]):
        return None
    timing = "/".join(f"{(check.get(k) or 0) / SECOND:g}s" for k in ("Interval", "Timeout", "StartPeriod"))
    if check.get("StartInterval"):
        timing += f", {check['StartInterval'] / SECOND:g}s while starting"
    return f"{' '.join(check['Test'][1:])} (every/timeout/start {timing}, {check.get('Retries') or 0} retries)"


def plan(service: Service, want: dict, current: Optional[dict]) -> Plan:
    """current is the engine's inspect of the service, or None when it does not exist."""
    order = update_order(service)
    why = order_reason(service)
    if current is None:
        return Plan(service.name, "create", order=order, why=why)
    before, after = observe(current.get("Spec") or {}), observe(want)
    changes = [(k, before[k], after[k]) for k in after if before[k] != after[k]]
    return Plan(service.name, "update" if changes else "none", changes, order, why)


def published_port(spec: dict) -> Optional[int]:
    """The port a spec (ours) publishes."""
    ports = (spec.get("EndpointSpec") or {}).get("Ports") or []
    return ports[0]["PublishedPort"] if ports else None


def port_conflicts(port: int, others: list, ours=()) -> Optional[str]:
    """Another swarm service, not one of `ours`, already publishing the port, from `services` inspects. Pure."""
    for other in others:
        if other["Spec"]["Name"] in ours:
            continue
        for published in (other.get("Endpoint") or {}).get("Ports") or (other["Spec"].get("EndpointSpec") or {}).get(
            "Ports"
        ) or []:
            if published.get("PublishedPort") == port:
                return other["Spec"]["Name"]
    return None


def publishes(current: Optional[dict], port: int) -> bool:
    spec_ports = ((current or {}).get("Spec", {}).get("EndpointSpec") or {}).get("Ports") or []
    return any(p.get("PublishedPort") == port for p in spec_ports)
