"""What `goswarm deploy` would create, as a compose file (version 3.8) for `docker stack deploy -c`. Pure.

The input is the Engine API ServiceSpecs that servicespec.desired() makes, so the file says exactly what a
deploy sends. Fields compose 3.8 cannot say are left out and listed in the file's header (see `dropped`).
"""
import json

from goswarm.plan.servicespec import SECOND

VERSION = "3.8"


def duration(nanoseconds) -> str:
    """Engine nanoseconds as a compose (Go) duration: 15s, 500ms."""
    value = int(nanoseconds or 0)
    if value % SECOND == 0:
        return f"{value // SECOND}s"
    if value % 1_000_000 == 0:
        return f"{value // 1_000_000}ms"
    return f"{value}ns"


def healthcheck(check) -> dict:
    if not check:
        return {}
    if check.get("Test") == ["NONE"]:
        return {"disable": True}
    out = {"test": list(check["Test"])}
    for key, name in (("Interval", "interval"), ("Timeout", "timeout"), ("StartPeriod", "start_period")):
        if check.get(key):
            out[name] = duration(check[key])
    if check.get("Retries"):
        out["retries"] = check["Retries"]
    return out


def rollout(config: dict) -> dict:
    out = {"parallelism": config.get("Parallelism", 1), "delay": duration(config.get("Delay")),
           "failure_action": config.get("FailureAction", "pause"), "monitor": duration(config.get("Monitor")),
           "order": config.get("Order", "stop-first")}
    if config.get("MaxFailureRatio"):
        out["max_failure_ratio"] = config["MaxFailureRatio"]
    return out


def service(spec: dict, network: str) -> dict:
    """One compose service for one ServiceSpec; `network` is the overlay network's name (the spec has its id)."""
    task = spec["TaskTemplate"]
    container = task["ContainerSpec"]
    mode = spec["Mode"]
    deploy = {"mode": "global"} if "Global" in mode else {"mode": "replicated",
                                                          "replicas": mode["Replicated"]["Replicas"]}
    deploy["endpoint_mode"] = spec["EndpointSpec"]["Mode"]
    deploy["labels"] = dict(spec.get("Labels") or {})
    deploy["placement"] = {"constraints": list((task.get("Placement") or {}).get("Constraints") or [])}
    preferences = [p["Spread"]["SpreadDescriptor"] for p in (task.get("Placement") or {}).get("Preferences") or []]
    if preferences:
        deploy["placement"]["preferences"] = [{"spread": d} for d in preferences]
    resources = {side.lower(): _amounts(amounts) for side, amounts in (task.get("Resources") or {}).items()
                 if _amounts(amounts)}
    if resources:
        deploy["resources"] = resources
    restart = task.get("RestartPolicy") or {}
    deploy["restart_policy"] = {"condition": restart.get("Condition", "any"), "delay": duration(restart.get("Delay")),
                                "max_attempts": restart.get("MaxAttempts", 0)}
    deploy["update_config"] = rollout(spec.get("UpdateConfig") or {})
    deploy["rollback_config"] = rollout(spec.get("RollbackConfig") or {})
    # A stack gives each task its service's key as an alias on its networks itself; the rest are written out.
    aliases = [alias for n in task.get("Networks") or [] for alias in n.get("Aliases") or [] if alias != spec["Name"]]
    out = {"image": container["Image"], "environment": list(container.get("Env") or [])}
    if container.get("Command"):
        out["entrypoint"] = list(container["Command"])
    if container.get("Args"):
        out["command"] = list(container["Args"])
    for key, field in (("Secrets", "SecretName"), ("Configs", "ConfigName")):
        if container.get(key):
            out[key.lower()] = [{"source": r[field], "target": r["File"]["Name"], "mode": r["File"]["Mode"]}
                                for r in container[key]]
    if container.get("Mounts"):
        out["volumes"] = [{"type": m.get("Type", "bind"), "source": m["Source"], "target": m["Target"],
                           "read_only": bool(m.get("ReadOnly"))} for m in container["Mounts"]]
    if container.get("StopGracePeriod"):
        out["stop_grace_period"] = duration(container["StopGracePeriod"])
    if container.get("StopSignal"):
        out["stop_signal"] = container["StopSignal"]
    if container.get("Healthcheck"):
        out["healthcheck"] = healthcheck(container["Healthcheck"])
    ports = [{"target": p["TargetPort"], "published": p["PublishedPort"], "protocol": p.get("Protocol", "tcp"),
              "mode": p.get("PublishMode", "ingress")} for p in spec["EndpointSpec"].get("Ports") or []]
    if ports:
        out["ports"] = ports
    out["networks"] = {network: {"aliases": aliases} if aliases else None,
                       **{extra: None for extra in extra_networks(spec)}}
    out["deploy"] = deploy
    return out


def extra_networks(spec: dict) -> list:
    """The networks a spec joins besides the overlay network (the first), by the names it gives them."""
    return [n["Target"] for n in (spec["TaskTemplate"].get("Networks") or [])[1:]]


def _amounts(amounts: dict) -> dict:
    out = {}
    if (amounts or {}).get("NanoCPUs"):
        out["cpus"] = f"{amounts['NanoCPUs'] / SECOND:g}"
    if (amounts or {}).get("MemoryBytes"):
        out["memory"] = amounts["MemoryBytes"]
    return out


def dropped(spec: dict) -> list:
    """What a spec says that compose 3.8 cannot: (service, field, why)."""
    out = []
    check = spec["TaskTemplate"]["ContainerSpec"].get("Healthcheck") or {}
    if check.get("StartInterval"):
        out.append((spec["Name"], "healthcheck StartInterval", "compose 3.8 has no start_interval; the engine "
                                                                "checks at `interval` from the start"))
    if spec["TaskTemplate"].get("ForceUpdate"):
        out.append((spec["Name"], "ForceUpdate", "a counter of forced updates, not a setting"))
    return out


def compose(specs: list, network: str) -> dict:
    """The compose file for these ServiceSpecs, keyed by their names, on the existing (external) network."""
    document = {"version": VERSION, "services": {spec["Name"]: service(spec, network) for spec in specs},
                "networks": {name: {"external": True, "name": name}
                             for name in dict.fromkeys([network, *(n for s in specs for n in extra_networks(s))])}}
    for key, field in (("Secrets", "SecretName"), ("Configs", "ConfigName")):
        names = sorted({r[field] for s in specs for r in s["TaskTemplate"]["ContainerSpec"].get(key) or []})
        if names:  # made by goswarm deploy (named after their content): the stack only mounts them
            document[key.lower()] = {name: {"external": True} for name in names}
    volumes = sorted({m["Source"] for s in specs for m in s["TaskTemplate"]["ContainerSpec"].get("Mounts") or []
                      if m.get("Type") == "volume"})
    if volumes:
        document["volumes"] = {name: None for name in volumes}
    return document


def render(document: dict, header: tuple = ()) -> str:
    """YAML for the plain data compose() returns (mappings, lists, strings, numbers, booleans, None); strings
    are JSON-quoted, which YAML reads as they are."""
    lines = [f"# {line}" if line else "#" for line in header]
    _emit(document, 0, lines)
    return "\n".join(lines) + "\n"


def _scalar(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(str(value))


def _emit(value, indent: int, lines: list) -> None:
    pad = " " * indent
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}{_scalar(key)}:")
                _emit(item, indent + 2, lines)
            else:
                lines.append(f"{pad}{_scalar(key)}: {_empty(item)}")
    else:
        for item in value:
            if isinstance(item, dict) and item:
                first, *rest = _block(item, indent + 2)
                lines.append(f"{pad}- {first.lstrip()}")
                lines.extend(rest)
            else:
                lines.append(f"{pad}- {_empty(item)}")


def _block(item: dict, indent: int) -> list:
    lines = []
    _emit(item, indent, lines)
    return lines


def _empty(item) -> str:
    if isinstance(item, dict):
        return "{}"
    if isinstance(item, list):
        return "[]"
    return _scalar(item)
