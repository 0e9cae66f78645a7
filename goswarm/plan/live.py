"""`goswarm dev --live`, the pure part: which services can have their binary swapped in their running tasks,
the supervised spec they run under while a live session lasts, and which changes a swap can carry. Pure.

While live, a service's tasks run goswarm's probe as PID 1 in supervise mode (goswarm/go/probe/supervise.go),
with the service's own command as its child; a swap puts the new binary where the image has it and has the
supervisor restart it. The spec carries LIVE_LABEL, so that what runs is never taken for a release: the next
redeploy puts the normal spec back (and replaces the tasks, as for any change).
"""
import posixpath
from typing import Optional

from goswarm.plan.config import PROBE_PATH
from goswarm.plan.servicespec import LABEL

LIVE_LABEL = f"{LABEL}.live"  # on a supervised service (not a release): where its binary sits in its tasks
GRACE = "5s"  # what a stopped program gets before SIGKILL, on a swap (a dev loop, not a rollout)
RELOAD_ERROR = "/dev/shm/.goswarm-reload-error"  # why the probe's last -reload failed (goswarm/go/probe)
RELOAD_TIMEOUT = 20.0  # seconds a swap waits for the probe's -reload (which gives up after 10 s by itself)
NOT_A_BINARY = {"sh", "bash", "dash", "ash", "busybox", "env", "tini", "dumb-init", "python", "python3", "node"}
# What a swap cannot carry: the image is made of them, or the spec.
NEEDS_REDEPLOY = ("Dockerfile", ".dockerignore")


def command(image_config: dict, tuned_command=(), tuned_args=()) -> list:
    """What a task of this image runs (Entrypoint then Cmd, as the engine merges them with the spec's command
    and args)."""
    if tuned_command:
        return [*tuned_command, *tuned_args]
    entrypoint = list(image_config.get("Entrypoint") or [])
    return [*entrypoint, *(tuned_args or image_config.get("Cmd") or [])]


def binary_path(argv: list, working_dir: str = "") -> Optional[str]:
    """Where the program a task runs sits in its image: argv[0] made absolute; None when it is no program of
    ours (a shell, an init, an interpreter) or none is known."""
    if not argv:
        return None
    program = argv[0]
    if posixpath.basename(program) in NOT_A_BINARY:
        return None
    if not program.startswith("/"):
        if "/" not in program:  # looked up on PATH: not a file goswarm put there
            return None
        program = posixpath.join(working_dir or "/", program)
    return posixpath.normpath(program)


def supervised(spec: dict, argv: list, binary: str) -> dict:
    """The service's spec with its tasks running `argv` under the probe's supervisor, marked live with where
    its binary sits."""
    task = spec["TaskTemplate"]
    container = {k: v for k, v in task["ContainerSpec"].items() if k != "Args"}
    container["Command"] = [PROBE_PATH, "-supervise", "-grace", GRACE, "--", *argv]
    return {**spec, "Labels": {**(spec.get("Labels") or {}), LIVE_LABEL: binary},
            "TaskTemplate": {**task, "ContainerSpec": container}}


def live_binary(spec: dict) -> Optional[str]:
    """Where a supervised service's binary sits in its tasks; None when it runs its normal spec."""
    return (spec.get("Labels") or {}).get(LIVE_LABEL) or None


def swappable(files: list) -> bool:
    """A change of these files (relative to the service's path) is a new binary, and nothing else."""
    return bool(files) and not any(posixpath.basename(f).startswith(NEEDS_REDEPLOY) for f in files)
