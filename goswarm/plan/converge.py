"""Has a service converged? Judged from its inspect and its tasks. Pure; deploy.py polls it."""
import datetime
import re
from dataclasses import dataclass
from typing import Optional

from goswarm import program

ROLLED_BACK = ("paused", "rollback_started", "rollback_paused", "rollback_completed")
ACTIVE = ("new", "pending", "assigned", "accepted", "preparing", "ready", "starting", "running")
CRASH_LIMIT = 3  # failed tasks of the new spec before we stop waiting
START_GRACE = 120.0  # seconds a task may take to be pulled and started, beyond its health check's own time
HEALTH_DEFAULT = {"Interval": 30e9, "Timeout": 30e9, "Retries": 3}  # the engine's, for an image's HEALTHCHECK


@dataclass(frozen=True)
class Progress:
    done: bool
    running: int
    desired: int
    error: Optional[str] = None
    blocked: Optional[str] = None  # why a task waits to be placed; fatal only if it lasts
    note: Optional[str] = None  # done, but with something the user should know
    waiting: str = ""  # what the newest task of the new spec that is not running yet is doing

    @property
    def failed(self) -> bool:
        return self.error is not None


def _error(task: dict) -> str:
    status = task.get("Status") or {}
    said = status.get("Err") or status.get("Message") or status.get("State", "")
    if status.get("State") == "complete" and not status.get("Err"):
        code = (status.get("ContainerStatus") or {}).get("ExitCode", 0)
        return f"the task exited by itself (code {code}): a server should not"
    if said.startswith("No such image: ") and "@sha256:" in said:
        # A node's pull failed; the engine logs why and gives the task only this.
        return (f"the node could not pull {said[len('No such image: '):]} from the registry (no credentials "
                f"for it, a registry the node cannot reach, or a digest it does not have)")
    return said


def of_spec(task: dict, template: dict) -> bool:
    """Was this task made from this TaskTemplate? Tasks copy it without the engine-added Runtime key."""
    return all(template.get(key) == value for key, value in (task.get("Spec") or {}).items())


def evaluate(service: dict, tasks: list, down_nodes=frozenset(), rollback: bool = False) -> Progress:
    """Converged: `replicas` tasks of the current spec running, and no task of an older spec still active.

    A task on a node that is down keeps its last reported state forever; it is not waited for.
    rollback: we asked for a rollback, so a completed one is the goal rather than a failure.
    """
    spec = service["Spec"]
    lost = [t for t in tasks if t.get("NodeID") in down_nodes and t["Status"]["State"] in ACTIVE
            and of_spec(t, spec.get("TaskTemplate") or {})]
    tasks = [t for t in tasks if t.get("NodeID") not in down_nodes]
    update = service.get("UpdateStatus") or {}
    current = [t for t in tasks if of_spec(t, spec.get("TaskTemplate") or {})]
    wanted = [t for t in current if t.get("DesiredState") == "running"]
    if "Global" in (spec.get("Mode") or {}):  # one task per eligible node: as many as the engine made
        desired = max(1, len(wanted))
    else:
        desired = ((spec.get("Mode") or {}).get("Replicated") or {}).get("Replicas", 1)
    running = [t for t in current if t["Status"]["State"] == "running" and t.get("DesiredState") == "running"]
    state = update.get("State")
    if rollback and state == "rollback_paused" or not rollback and state in ROLLED_BACK:
        # By now the spec is the previous one again: the failed task belongs to the release that was refused.
        failures = [_error(t) for t in sorted(tasks, key=lambda t: t["Status"].get("Timestamp", ""))
                    if t["Status"]["State"] in ("failed", "rejected")]
        reason = update.get("Message") or update["State"]
        detail = f" (task error: {failures[-1]})" if failures else ""
        return Progress(False, len(running), desired, f"update {update['State'].replace('_', ' ')}: {reason}{detail}")
    # A server's task that completed has exited by itself: a program that exits 0 on the SIGTERM with which the
    # engine stops an unhealthy container ends so, and it failed as much as one that exits 2.
    failed = failed_to_start(service, current)
    if len(failed) >= CRASH_LIMIT:
        return Progress(False, len(running), desired,
                        f"{len(failed)} tasks failed to start; last error: {_error(failed[-1])}")
    pending = [t["Status"]["Err"] for t in current if t["Status"]["State"] == "pending" and t["Status"].get("Err")]
    # An old task still counts until it has stopped, even once it is told to shut down.
    stale = [t for t in tasks if t not in current and t["Status"]["State"] in ACTIVE
             and (t.get("DesiredState") == "running" or t["Status"]["State"] == "running")]
    # The engine watches new tasks for UpdateConfig.Monitor before it calls an update done;
    # a task that dies in that window is rolled back, so we wait it out too.
    settling = state != "rollback_completed" if rollback else state == "updating"
    placed = len(running) == desired == len(wanted) and not stale
    if placed and settling and lost and not rollback:
        # The engine replaced a new task that was on a node that went down, and its update record waits
        # for that lost task: it says "updating" until the node is back or removed, however well it runs.
        return Progress(True, len(running), desired, note=(
            f"every task runs; the engine's update record waits on {len(lost)} task(s) on a node that is down, "
            f"and completes once that node is back or removed"))
    done = placed and not settling
    # During a stop-first update the new task waits for the old one's port: that is not a failure.
    blocked = f"a task cannot be placed: {pending[-1]}" if pending and not stale else None
    return Progress(done, len(running), desired, blocked=blocked, waiting=_waiting(wanted, stale))


def failed_to_start(service: dict, tasks: list) -> list:
    """Those of these tasks that failed in the rollout of the service's spec, before they could have started
    and passed their health check. A task that ran its course and was stopped later is no such failure: an
    engine that was killed (a reboot) ends each task it ran with "non-zero exit (255)", and three reboots
    are no crash loop. So a failure counts only
    - within the service's latest update: from its start, and up to its end once it ended (a rollback to a
      spec does not inherit that spec's old failures either);
    - and within its task's start budget: START_GRACE and the time its health check takes to call it
      unhealthy (what bounds it for a service that was never updated). Pure."""
    update = service.get("UpdateStatus") or {}
    since, until = _seconds(update.get("StartedAt")), _seconds(update.get("CompletedAt")) or float("inf")
    budget = START_GRACE + _health_span((service["Spec"].get("TaskTemplate") or {}).get("ContainerSpec") or {})
    found = []
    for task in tasks:
        status = task["Status"]
        at = _seconds(status.get("Timestamp"))
        if status["State"] not in ("failed", "rejected", "complete") or at and not since <= at <= until:
            continue
        if at and task.get("CreatedAt") and at - _seconds(task["CreatedAt"]) > budget:
            continue
        found.append(task)
    return found


def _health_span(container: dict) -> float:
    """Seconds from a task's start until its health check can call it unhealthy. Pure."""
    check = {**HEALTH_DEFAULT, **{k: v for k, v in (container.get("Healthcheck") or {}).items() if v}}
    return (check.get("StartPeriod", 0) + (check["Interval"] + check["Timeout"]) * check["Retries"]) / 1e9


def _waiting(wanted: list, stale: list) -> str:
    """What a person watching the rollout wants to know: the state of the newest task that does not run
    yet, with the engine's message or error; or that old tasks are still stopping."""
    starting = [t for t in wanted if t["Status"]["State"] != "running"]
    if starting:
        task = max(starting, key=lambda t: t["Status"].get("Timestamp", ""))
        status = task["Status"]
        said = status.get("Err") or status.get("Message") or ""
        return f"a new task is {status['State']}" + (f" ({said})" if said and said != status["State"] else "")
    return f"{len(stale)} old task{'s' if len(stale) != 1 else ''} stopping" if stale else ""


def after_interrupt(name: str, service: dict, image: str = None) -> str:
    """What Ctrl-C during a deploy left behind, and how to go on, from the service's inspect.

    image: the release being deployed, when the interrupt may have come before the engine had it.
    """
    if service is None:
        return f"{name} was not created"
    running = ((service.get("Spec") or {}).get("TaskTemplate") or {}).get("ContainerSpec", {}).get("Image")
    if image and running != image:
        return f"{name} was not changed and runs its previous release"
    update = service.get("UpdateStatus") or {}
    state = update.get("State")
    follow = f"follow it with {program.run(f'deploy.ps --service {name}')}"
    if state == "updating":
        return (f"{name} is still updating on its own: the engine goes on, and rolls back by itself if a new task "
                f"fails; {follow}, or go back now with {program.run(f'deploy.rollback --service {name}')}")
    if state == "rollback_started":
        return f"{name} is rolling back to its previous release on its own; {follow}"
    if state == "completed":
        return f"{name} had finished updating and runs the new release"
    if state == "rollback_completed":
        return f"{name} was rolled back and runs its previous release"
    if state in ("paused", "rollback_paused"):
        return (f"{name}'s update is paused ({update.get('Message', state)}); resume with {program.run('redeploy')}, "
                f"or go back with {program.run(f'deploy.rollback --service {name}')}")
    return f"{name} was created and its tasks are starting on their own; {follow}"


SMOKE_GRACE = 1.0  # a release may answer its smoke path a moment after its health check passes
SMOKE_SAID = "smoke: "  # how goswarm's probe begins when a new task's smoke path failed (goswarm/go/probe)


# How the engine's own failure to run a check begins in the check's log (the task stopping as the check starts)
EXEC_FAILED = ("OCI runtime exec failed", "exec failed:")


def check_said(state: Optional[dict]) -> str:
    """What a container's health check said last, in its own words: the newest entry with output, passing over
    the engine's failures to run the check at all as it stopped the task (said only when nothing else was).
    From the container's State. Pure."""
    said = [" ".join(entry["Output"].split())[:200] for entry in reversed(((state or {}).get("Health") or {})
                                                                            .get("Log") or [])
            if (entry.get("Output") or "").strip()]
    return next((line for line in said if not line.startswith(EXEC_FAILED)), said[0] if said else "")


def smoke_failure(state: Optional[dict], grace: float) -> str:
    """What a new task's probe said, once its first checks have failed on the smoke path for `grace` seconds
    on end; else "". The engine counts no failure in the start period, so it would wait that out before it
    gave up on the task; this need not. From the task's container State. Pure."""
    log = ((state or {}).get("Health") or {}).get("Log") or []
    failing = []
    for entry in reversed(log):
        if not (entry.get("Output") or "").startswith(SMOKE_SAID):
            break
        failing.append(entry)
    if not failing or _seconds(failing[0].get("End")) - _seconds(failing[-1].get("Start")) < grace:
        return ""
    return " ".join(failing[0]["Output"][len(SMOKE_SAID):].split())[:200]


def _seconds(stamp: Optional[str]) -> float:
    """The engine's RFC 3339 time with nanoseconds (2026-12-07T11:20:00.123456789Z) as seconds. Pure."""
    if not stamp:
        return 0.0
    found = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", stamp)
    if not found:
        return 0.0
    whole = datetime.datetime.fromisoformat(found.group(1) + found.group(3).replace("Z", "+00:00"))
    return whole.timestamp() + float("0." + (found.group(2) or "0"))
