"""rollout: watch a service's rollout until it has converged, rolled back or is gone; roll back by hand.

Each wait polls the service's UpdateStatus and tasks (judged by converge.py), has a timeout, and
on Ctrl-C says what state the service is left in.
"""
import time

from goswarm import poll, program
from goswarm.errors import Interrupted, PipelineError
from goswarm.io import engine, engineapi, terminal
from goswarm.ops import swarm
from goswarm.plan import converge, servicespec

POLL = 0.2
BLOCKED_GRACE = 5.0  # the scheduler retries placement; a placement error this old is real
IN_FLIGHT = ("updating", "rollback_started")


class RolloutFailed(PipelineError):
    """A rollout that did not converge. by_engine: the engine has already rolled it back by itself.
    blocked: a new task could not be placed (it holds no port, and never will)."""

    def __init__(self, message: str, by_engine: bool = False, blocked: bool = False):
        super().__init__(message)
        self.by_engine, self.blocked = by_engine, blocked


def inspect(client, name: str):
    """The service's inspect, or None when it does not exist."""
    return engineapi.service(client, name)


def wait(sh, client, name: str, timeout: float, rollback: bool = False, check: str = "",
         every: float = POLL) -> None:
    """Poll until converged; a rollback, a crash loop or the timeout is an error with the reason.

    rollback: we asked for one, so it is the goal. Ctrl-C says what state the service is left in.
    check: the service's health check in words, for the message when a task is unhealthy.
    every: seconds between two looks (poll_every(), when several rollouts wait at once).
    """
    if sh.dry:
        return
    try:
        _poll(client, name, timeout, rollback, check, every)
    except KeyboardInterrupt:
        raise Interrupted(converge.after_interrupt(name, inspect(client, name))) from None
    except engine.EngineLost as e:
        raise engine.EngineLost(f"{e}; {name} may be left mid-update: once the engine answers again, "
                                f"{program.run('redeploy')} waits for that update and says how it ended") from None


def poll_every(at_once: int) -> float:
    """Seconds between two looks of each of `at_once` rollouts: POLL for up to 4, then longer, so that together
    they ask the manager no more than 4 at POLL would (each look is 3 requests). Pure."""
    return POLL * max(1.0, at_once / 4)


def _poll(client, name: str, timeout: float, rollback: bool, check: str = "", every: float = POLL) -> None:
    # Its own loop, not poll.until: it reports progress as it goes, and a placement error must last
    # BLOCKED_GRACE before it counts.
    started = time.monotonic()
    deadline = started + timeout
    blocked_since = None
    status = terminal.Status()
    try:
        while True:
            service = inspect(client, name)
            with engine.errors(f"listing tasks of {name}"):
                tasks = engineapi.tasks(client, service["ID"])
                down = swarm.down_nodes(client)
            progress = converge.evaluate(service, tasks, down, rollback)
            if not (progress.failed or progress.done or rollback):
                said = failed_smoke(client, service, tasks)
                if said:
                    raise RolloutFailed(f"{name}: a new task's smoke path failed for {converge.SMOKE_GRACE:.0f} s "
                                        f"({said}); the engine sent it no request")
            rolling_back = (service.get("UpdateStatus") or {}).get("State") == "rollback_started" and not rollback
            if progress.failed and not (rolling_back and time.monotonic() < deadline):
                state = (service.get("UpdateStatus") or {}).get("State")
                raise RolloutFailed(f"{name}: {progress.error}{unhealthy(client, name, tasks, check)}",
                                    by_engine=not rollback and state == "rollback_completed")
            blocked_since = (blocked_since or time.monotonic()) if progress.blocked else None
            if blocked_since and time.monotonic() - blocked_since > BLOCKED_GRACE:
                raise RolloutFailed(f"{name}: {progress.blocked}", blocked=True)
            if progress.done:
                what = "rolled back" if rollback else "converged"
                status.done(f"{name}: {what}, {progress.running}/{progress.desired} running"
                            + (f" ({progress.note})" if progress.note else ""))
                return
            status.update(*waiting_line(name, progress, rolling_back, time.monotonic() - started))
            if time.monotonic() > deadline:
                raise RolloutFailed(f"{name}: not converged after {timeout:.0f}s ({progress.running}/"
                                    f"{progress.desired} running{'; ' + progress.waiting if progress.waiting else ''})"
                                    + unhealthy(client, name, tasks, check))
            time.sleep(every)
    finally:
        status.done()


def waiting_line(name: str, progress, rolling_back: bool, elapsed: float) -> tuple:
    """(the line, and its key: what it says without the ticking seconds). Pure."""
    what = "the engine is rolling back" if rolling_back else (
        f"{progress.running}/{progress.desired} tasks of the new spec running")
    said = f"{name}: {what}" + (f"; {progress.waiting}" if progress.waiting else "")
    return f"{said} ({elapsed:.0f} s)", said


def failed_smoke(client, service: dict, tasks: list) -> str:
    """What the probe of a new task that is still starting said, when its smoke path has failed for
    converge.SMOKE_GRACE (servicespec.gates_smoke); else "". Only a task on the engine we talk to can be read."""
    template = service["Spec"].get("TaskTemplate") or {}
    for task in tasks:
        container = engineapi.task_container(task)
        if container and task["Status"]["State"] == "starting" and converge.of_spec(task, template):
            said = converge.smoke_failure(engineapi.container_state(client, container), converge.SMOKE_GRACE)
            if said:
                return said
    return ""


def unhealthy(client, name: str, tasks: list, check: str) -> str:
    """When a task of this rollout failed its health check: what the check said last (read from the task's
    container, when it is on the engine we talk to) and how to change the check. The engine records no
    reason for such a task (it stops it, and the service exits 0), so the container is where to look."""
    for task in sorted(tasks, key=lambda t: t["Status"].get("Timestamp", ""), reverse=True)[:5]:
        container = engineapi.task_container(task)
        state = engineapi.container_state(client, container) if container else None
        health = (state or {}).get("Health") or {}
        if health.get("Status") == "unhealthy":
            said = converge.check_said(state)
            return (f"; a new task failed its health check ({check or 'the image' + chr(39) + 's own HEALTHCHECK'})"
                    + (f", which said: {said}" if said else "") + f"; change it with services.{name}.healthcheck")
    return ""


def in_flight(client, service: dict, tasks: list = None, down: set = None) -> str:
    """Why this service has not settled (an update or rollback still going, tasks not yet of its spec),
    or "" when it has. A run that found it so must wait before it plans, or it reports the old
    tasks' answers as the new release's. tasks, down: its tasks and the down nodes, when already read."""
    state = (service.get("UpdateStatus") or {}).get("State")
    if state in IN_FLIGHT:
        return f"its {state.replace('_', ' ')} is still going"
    if tasks is None or down is None:
        with engine.errors(f"listing tasks of {service['Spec']['Name']}"):
            tasks = engineapi.tasks(client, service["ID"])
            down = swarm.down_nodes(client)
    progress = converge.evaluate(service, tasks, down, rollback=state == "rollback_completed")
    if progress.done:
        return ""
    if progress.error or progress.blocked:
        return f"it is stuck ({progress.error or progress.blocked})"
    return f"{progress.running}/{progress.desired} tasks of its spec are running"


def settle(sh, client, service: dict, timeout: float, check: str = "", tasks: list = None, down: set = None):
    """Wait out a rollout that an earlier run left going (it was killed, or it gave up waiting).

    Returns (the service's inspect now, how that rollout ended: None when it completed or none was going,
    else why it failed). A stuck one is rolled back here, so the previous release runs again. tasks, down:
    as for in_flight."""
    name = service["Spec"]["Name"]
    why = in_flight(client, service, tasks, down)
    if not why:
        return service, None
    if sh.dry:
        print(f"[dry] {name}: an earlier rollout has not settled ({why}); a real run waits for it first")
        return service, None
    print(f"{name}: an earlier rollout has not settled ({why}); waiting for it (up to {timeout:.0f}s)")
    state = (service.get("UpdateStatus") or {}).get("State")
    try:
        wait(sh, client, name, timeout, rollback=str(state).startswith("rollback"), check=check)
        return inspect(client, name), None
    except RolloutFailed as e:
        outcome = str(e)
        now = inspect(client, name) or {}
        # During or after a rollback the spec is the previous one already: going "back" would redeploy the failure.
        rolled = e.by_engine or str((now.get("UpdateStatus") or {}).get("State", "")).startswith("rollback")
        if not rolled and now.get("PreviousSpec"):
            print(f"{outcome}; rolling it back")
            back(sh, client, name, e, timeout)
            outcome += "; it was rolled back"
        print(f"{name}: the earlier rollout did not complete: {outcome.split(': ', 1)[-1]}")
        return inspect(client, name), outcome


def back(sh, client, name: str, failure: RolloutFailed, timeout: float) -> None:
    """Put the previous release back after a rollout of ours failed: the engine's rollback, or a restore when
    a task could not be placed (a stop-first rollback would wait forever for that task to stop)."""
    if failure.blocked:
        restore(sh, client, name, timeout)
    else:
        rollback(sh, client, name, timeout)


def restore(sh, client, name: str, timeout: float) -> None:
    """The previous release back by a start-first update to it, then its own update order back.

    A stop-first update stops the old task before the new one is placed. When the new one never is, it
    stays "pending" and, for the engine, never stops; a stop-first rollback then waits for it forever
    (Docker 20.10). A task that was never placed holds no port, so the old release can start first."""
    current = inspect(client, name)
    previous = (current or {}).get("PreviousSpec")
    if not previous:
        raise PipelineError(f"{name} has no previous release to go back to")
    forced = current["Spec"]["TaskTemplate"].get("ForceUpdate") or 0
    template = {**previous["TaskTemplate"], "ForceUpdate": forced + 1}
    start_first = {**previous["UpdateConfig"], "Order": "start-first"}
    with engine.errors(f"restoring {name}'s previous release"):
        sh.act(f"restore {name}'s previous release (start-first: the new task was never placed)",
               engineapi.update_service, client, current,
               **servicespec.sdk_arguments({**previous, "TaskTemplate": template, "UpdateConfig": start_first}))
    wait(sh, client, name, timeout)
    now = inspect(client, name)
    with engine.errors(f"restoring {name}'s update order"):  # changes no task
        sh.act(f"set {name}'s update order back to {previous['UpdateConfig'].get('Order')}",
               engineapi.update_service, client, now,
               **servicespec.sdk_arguments({**now["Spec"], "UpdateConfig": previous["UpdateConfig"]}))


def rollback(sh, client, name: str, timeout: float) -> None:
    """Put the service's previous spec back, as `docker service rollback` does, and wait until it runs."""
    current = inspect(client, name)
    if current is None:
        raise PipelineError(f"{name} is not deployed")
    if not current.get("PreviousSpec"):
        if str((current.get("UpdateStatus") or {}).get("State", "")).startswith("rollback"):
            # The engine's own rollback (UpdateConfig.FailureAction) got there first: it has put the previous
            # spec back already, and dropped PreviousSpec. Wait for it as for ours.
            print(f"{name}: the engine is already rolling back to the previous release")
            wait(sh, client, name, timeout, rollback=True)
            return
        raise PipelineError(f"{name} has no previous release to go back to")

    with engine.errors(f"rolling back {name}"):
        sh.act(f"roll back {name} to its previous release", engineapi.roll_back_service, client, current)
    wait(sh, client, name, timeout, rollback=True)


def wait_gone(client, name: str, service_id: str, timeout: float) -> None:
    """Until every task of the removed service has stopped, on every node that can still say so."""
    def left():
        down = swarm.down_nodes(client)
        return [t for t in engineapi.tasks_of(client, service_id) if t.get("NodeID") not in down]

    def late():
        raise PipelineError(f"{name}: {len(left())} tasks still running {timeout:.0f}s after removal")

    with engine.errors(f"waiting for {name}'s tasks to stop"):
        poll.until(lambda: True if not left() else None, timeout, POLL, late)
    print(f"{name}: removed")
