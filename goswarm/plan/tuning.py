"""A service's tuning, as compose and stack files spell it: resources, command and args, labels, named volumes,
extra networks, placement preferences, stop grace and signal, and how updates and rollbacks roll. Pure: parses
goswarm.yaml's keys into a Tuning, and gives the Engine API's ServiceSpec pieces for it.

Every key is optional, and what is left out keeps goswarm's defaults (servicespec.py): one task at a time, each
watched for a second, start-first where the port allows it, 15 s to stop.
"""
import re
import shlex
from dataclasses import dataclass, field
from typing import Optional

from goswarm.errors import ConfigError

SECOND = 1_000_000_000
KEYS = ("resources", "command", "args", "labels", "volumes", "networks", "preferences", "stop_grace_period",
        "stop_signal", "update", "rollback")
ROLLOUT_KEYS = ("parallelism", "delay", "order", "monitor", "failure_action", "max_failure_ratio")
FAILURE_ACTIONS = {"update": ("rollback", "pause", "continue"), "rollback": ("pause", "continue")}
ORDERS = ("start-first", "stop-first")
RESERVED_LABEL = "io.goswarm"  # goswarm's own labels: a user's may not take that prefix
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": SECOND, "m": 60 * SECOND, "h": 3600 * SECOND}
_MEMORY = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$", re.I)
_VOLUME_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_SIGNAL = re.compile(r"^(SIG[A-Z0-9+-]+|\d{1,2})$")


@dataclass(frozen=True)
class Rollout:
    """How an update (or a rollback) rolls: None keeps goswarm's default for that field."""
    parallelism: Optional[int] = None
    delay: Optional[int] = None  # nanoseconds
    order: Optional[str] = None
    monitor: Optional[int] = None  # nanoseconds
    failure_action: Optional[str] = None
    max_failure_ratio: Optional[float] = None

    def apply(self, default: dict) -> dict:
        given = {"Parallelism": self.parallelism, "Delay": self.delay, "Order": self.order,
                 "Monitor": self.monitor, "FailureAction": self.failure_action,
                 "MaxFailureRatio": self.max_failure_ratio}
        return {**default, **{k: v for k, v in given.items() if v is not None}}


@dataclass(frozen=True)
class Tuning:
    limits: tuple = ()  # (("NanoCPUs", n), ("MemoryBytes", n))
    reservations: tuple = ()
    command: tuple = ()
    args: tuple = ()
    labels: tuple = ()  # ((name, value), ...)
    volumes: tuple = ()  # ((volume name, target, read only), ...)
    networks: tuple = ()  # names of networks besides swarm.network
    preferences: tuple = ()  # spread descriptors, e.g. node.labels.zone
    stop_grace: Optional[int] = None  # nanoseconds
    stop_signal: str = ""
    update: Rollout = field(default_factory=Rollout)
    rollback: Rollout = field(default_factory=Rollout)

    def resources(self) -> Optional[dict]:
        """TaskTemplate.Resources, or None when neither limits nor reservations are set."""
        if not self.limits and not self.reservations:
            return None
        return {"Limits": dict(self.limits), "Reservations": dict(self.reservations)}

    def mounts(self) -> list:
        return [{"Type": "volume", "Source": name, "Target": target, "ReadOnly": read_only}
                for name, target, read_only in self.volumes]


def parse(where: str, raw: dict) -> Tuning:
    """The tuning keys of one service's raw config (KEYS; the others are config.py's)."""
    resources = raw.get("resources")
    limits, reservations = _resources(f"{where}.resources", resources) if resources is not None else ((), ())
    return Tuning(
        limits=limits, reservations=reservations,
        command=_argv(f"{where}.command", raw.get("command")),
        args=_argv(f"{where}.args", raw.get("args")),
        labels=_labels(f"{where}.labels", raw.get("labels")),
        volumes=_volumes(f"{where}.volumes", raw.get("volumes")),
        networks=_names(f"{where}.networks", raw.get("networks"), "network names, like [backend]"),
        preferences=_preferences(f"{where}.preferences", raw.get("preferences")),
        stop_grace=duration(f"{where}.stop_grace_period", raw["stop_grace_period"])
        if raw.get("stop_grace_period") is not None else None,
        stop_signal=_signal(f"{where}.stop_signal", raw.get("stop_signal")),
        update=rollout(f"{where}.update", raw.get("update"), "update"),
        rollback=rollout(f"{where}.rollback", raw.get("rollback"), "rollback"),
    )


def duration(where: str, value, allow_zero: bool = True) -> int:
    """Seconds as a number (1.5), or Go's and compose's spelling ("1m30s", "500ms"), in nanoseconds."""
    if isinstance(value, bool) or value is None:
        raise ConfigError(f"{where} must be a duration: seconds (10) or like 10s, 500ms, 1m30s; got {value!r}")
    if isinstance(value, (int, float)):
        nanoseconds = round(value * SECOND)
    else:
        text = str(value).strip()
        parts = _DURATION.findall(text)
        if not parts or "".join(n + u for n, u in parts) != text:
            raise ConfigError(f"{where} must be a duration: seconds (10) or like 10s, 500ms, 1m30s; got {value!r}")
        nanoseconds = round(sum(float(n) * _UNITS[u] for n, u in parts))
    if nanoseconds < 0 or nanoseconds == 0 and not allow_zero:
        raise ConfigError(f"{where} must be more than 0, got {value!r}")
    return nanoseconds


def memory(where: str, value) -> int:
    """Bytes, as a number or as docker spells it (256M, 1.5g, 512MiB: powers of 1024)."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    match = _MEMORY.match(str(value).strip()) if isinstance(value, str) else None
    if not match or float(match.group(1)) <= 0:
        raise ConfigError(f"{where} must be an amount of memory like 256M, 1G or 512MiB; got {value!r}")
    return int(float(match.group(1)) * 1024 ** " kmgt".index(match.group(2).lower() or " "))


def _resources(where: str, value) -> tuple:
    if not isinstance(value, dict) or set(value) - {"limits", "reservations"}:
        raise ConfigError(f"{where} must be a mapping with limits and/or reservations, each {{cpus: 0.5, "
                          f"memory: 256M}}; got {value!r}")
    return tuple(_amounts(f"{where}.{part}", value.get(part)) for part in ("limits", "reservations"))


def _amounts(where: str, value) -> tuple:
    if value is None:
        return ()
    if not isinstance(value, dict) or not value or set(value) - {"cpus", "memory"}:
        raise ConfigError(f"{where} must be a mapping like {{cpus: 0.5, memory: 256M}}; got {value!r}")
    amounts = []
    if "cpus" in value:
        cpus = value["cpus"]
        try:
            nano = round(float(cpus) * SECOND) if not isinstance(cpus, bool) else 0
        except (TypeError, ValueError):
            nano = 0
        if nano <= 0:
            raise ConfigError(f"{where}.cpus must be a number of CPUs more than 0, like 0.5; got {cpus!r}")
        amounts.append(("NanoCPUs", nano))
    if "memory" in value:
        amounts.append(("MemoryBytes", memory(f"{where}.memory", value["memory"])))
    return tuple(amounts)


def _argv(where: str, value) -> tuple:
    if value is None:
        return ()
    if isinstance(value, str):
        value = shlex.split(value)
    if not isinstance(value, list) or not value or not all(isinstance(x, (str, int, float)) and
                                                           not isinstance(x, bool) for x in value):
        raise ConfigError(f"{where} must be a list like [/app, -v] (or a string split as a shell would); "
                          f"got {value!r}")
    return tuple(str(x) for x in value)


def _labels(where: str, value) -> tuple:
    if value is None:
        return ()
    if not isinstance(value, dict) or not all(isinstance(k, str) and k and isinstance(v, str)
                                              for k, v in value.items()):
        raise ConfigError(f"{where} must be a mapping of label names to quoted strings; got {value!r}")
    ours = sorted(k for k in value if k == RESERVED_LABEL or k.startswith(RESERVED_LABEL + "."))
    if ours:
        raise ConfigError(f"{where}.{ours[0]}: labels under {RESERVED_LABEL}. are goswarm's own")
    return tuple(sorted(value.items()))


def _volumes(where: str, value) -> tuple:
    """["data:/var/lib/data", "cache:/cache:ro"]: named volumes (a bind mount of a node's path is `mounts:`)."""
    if value is None:
        return ()
    usage = 'a list like ["data:/var/lib/data", "cache:/cache:ro"] (NAME:TARGET[:ro])'
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise ConfigError(f"{where} must be {usage}; got {value!r}")
    volumes, targets = [], set()
    for entry in value:
        parts = entry.split(":")
        if len(parts) not in (2, 3) or not _VOLUME_NAME.match(parts[0]) or not parts[1].startswith("/") or \
                len(parts) == 3 and parts[2] not in ("ro", "rw"):
            hint = " (a path is a bind mount: put it in mounts:)" if parts[0].startswith("/") else ""
            raise ConfigError(f"{where}: {entry!r} is not NAME:TARGET[:ro]{hint}")
        if parts[1] in targets:
            raise ConfigError(f"{where}: two volumes at {parts[1]}")
        targets.add(parts[1])
        volumes.append((parts[0], parts[1], len(parts) == 3 and parts[2] == "ro"))
    return tuple(volumes)


def _names(where: str, value, usage: str) -> tuple:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(x, str) and _VOLUME_NAME.match(x) for x in value):
        raise ConfigError(f"{where} must be a list of {usage}; got {value!r}")
    return tuple(dict.fromkeys(value))


def _preferences(where: str, value) -> tuple:
    """[{spread: node.labels.zone}] as compose writes it, or the descriptors alone."""
    if value is None:
        return ()
    usage = "a list like [{spread: node.labels.zone}]"
    if not isinstance(value, list):
        raise ConfigError(f"{where} must be {usage}; got {value!r}")
    spread = []
    for entry in value:
        descriptor = entry.get("spread") if isinstance(entry, dict) and set(entry) == {"spread"} else entry
        if not isinstance(descriptor, str) or not re.fullmatch(r"(node|engine)\.labels\.[\w.-]+|node\.\w+",
                                                               descriptor):
            raise ConfigError(f"{where} must be {usage} (node.labels.NAME); got {entry!r}")
        spread.append(descriptor)
    return tuple(spread)


def _signal(where: str, value) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or not _SIGNAL.match(value):
        raise ConfigError(f"{where} must be a signal name like SIGINT or SIGTERM; got {value!r}")
    return value


def rollout(where: str, value, kind: str) -> Rollout:
    """`update:` or `rollback:`: {parallelism, delay, order, monitor, failure_action, max_failure_ratio}."""
    if value is None:
        return Rollout()
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a mapping of {', '.join(ROLLOUT_KEYS)}; got {value!r}")
    parallelism = value.get("parallelism")
    if parallelism is not None and (isinstance(parallelism, bool) or not isinstance(parallelism, int)
                                    or parallelism < 0):
        raise ConfigError(f"{where}.parallelism must be a whole number (0: all at once); got {parallelism!r}")
    order = value.get("order")
    if order is not None and order not in ORDERS:
        raise ConfigError(f"{where}.order must be {' or '.join(ORDERS)}; got {order!r}")
    action = value.get("failure_action")
    if action is not None and action not in FAILURE_ACTIONS[kind]:
        raise ConfigError(f"{where}.failure_action must be {' or '.join(FAILURE_ACTIONS[kind])}; got {action!r}")
    ratio = value.get("max_failure_ratio")
    if ratio is not None and (isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 <= ratio <= 1):
        raise ConfigError(f"{where}.max_failure_ratio must be a fraction from 0 to 1; got {ratio!r}")
    return Rollout(
        parallelism=parallelism,
        delay=duration(f"{where}.delay", value["delay"]) if value.get("delay") is not None else None,
        order=order,
        monitor=duration(f"{where}.monitor", value["monitor"]) if value.get("monitor") is not None else None,
        failure_action=action,
        max_failure_ratio=float(ratio) if ratio is not None else None,
    )


HEALTH_TIMING = ("interval", "timeout", "retries", "start_period")


def health_timing(where: str, value: dict) -> tuple:
    """The timing keys of a healthcheck mapping, as the Engine API's (("Interval", ns), ("Retries", n)...)."""
    timing = []
    for key, api in (("interval", "Interval"), ("timeout", "Timeout"), ("start_period", "StartPeriod")):
        if key in value:
            timing.append((api, duration(f"{where}.{key}", value[key], allow_zero=key == "start_period")))
    if "retries" in value:
        retries = value["retries"]
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 1:
            raise ConfigError(f"{where}.retries must be a whole number from 1; got {retries!r}")
        timing.append(("Retries", retries))
    return tuple(timing)
