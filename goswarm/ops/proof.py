"""Prove a new release in a throw-away container before it can take any traffic.

- A stop-first update (a host-mode port) stops the old task before the new one can bind the port; if
  the new release then failed, the service would be down until the rollback. So it must be healthy first.
- The engine lets a new task take traffic once its health check passes. A release that is healthy but
  answers 500 on its smoke path would still serve 500s until the smoke test rolls it back. So a service
  with a smoke path is proven on that path too, before any update.

The trial is the new release run once as a plain container: the service's environment and health check,
on the service's overlay network (its smoke path may need the service's own dependencies), but under no
service name, so no request reaches it. The smoke path is read from inside it, by the probe that goswarm
adds to every image. Each trial is labelled with the run that made it: a run that was killed leaves a
container behind, and the next run removes it.
"""
import datetime as dt
import io
import os
import socket
import tarfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from goswarm import poll
from goswarm.errors import PipelineError
from goswarm.io import engine, engineapi
from goswarm.io.processes import pid_alive
from goswarm.ops import secrets
from goswarm.plan import converge, servicespec
from goswarm.plan import secrets as secrets_plan
from goswarm.plan.config import PROBE_PATH, Service

INTERVAL = servicespec.SECOND // 10  # a trial container is short-lived: check it often
ALIVE = 1.0  # without a health check: still running after this long
POLL = 0.05
TRIAL = f"{servicespec.LABEL}.trial"  # the service a trial container proves
OWNER = f"{servicespec.LABEL}.trial.owner"  # host:pid of the run that made it
ABANDONED = 600  # seconds: a trial of another host's run this old was left behind (trials last under 30 s)
MISSING_PROBE = (126, 127)  # exec's exit codes for a command that is not there


def verdict(state: dict, checked: bool):
    """From a container's State: "healthy", "running", or a failure reason; None to keep waiting. Pure."""
    health = state.get("Health") or {}
    if state.get("Status") in ("exited", "dead"):
        return f"it exited with code {state.get('ExitCode')}"
    if health.get("Status") == "unhealthy":
        last = (health.get("Log") or [{}])[-1]
        said = (last.get("Output") or "").strip().splitlines()
        return f"its health check failed {health.get('FailingStreak', '')} times" + (f": {said[0]}" if said else "")
    if checked:
        return "healthy" if health.get("Status") == "healthy" else None
    return "running" if state.get("Status") == "running" else None


def untagged(ref: str) -> str:
    """repo:tag@sha256:… -> repo@sha256:…, which the pull API takes. Pure."""
    name, at, digest = ref.partition("@")
    if at and ":" in name.rsplit("/", 1)[-1]:
        name = name.rsplit(":", 1)[0]
    return name + at + digest


def owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def trial_settings(service: Service, image_ref: str, network: str = None, made_by: str = "",
                 image_check: dict = None) -> dict:
    """create_container arguments for the trial. Pure. It joins `network` (under no service alias) only to
    read a smoke path, which may need the service's dependencies: joining an overlay costs about 0.4 s."""
    config = {"image": image_ref, "environment": servicespec.container_env(service), "detach": True,
              "labels": {TRIAL: service.name, OWNER: made_by}}
    tuned = service.tuning
    if tuned.command:
        config["entrypoint"] = list(tuned.command)
    if tuned.args:
        config["command"] = list(tuned.args)
    limits = dict(tuned.limits)  # the task's cgroup, so a release that needs more fails here (no volumes: data)
    host = {k: v for k, v in (("Memory", limits.get("MemoryBytes")), ("NanoCpus", limits.get("NanoCPUs"))) if v}
    if network and service.smoke:
        host["NetworkMode"] = network
    else:
        config["network_disabled"] = True
    if host:
        config["host_config"] = host
    check = servicespec.trial_check(service, image_check, INTERVAL)
    if check:
        config["healthcheck"] = {"test": check["Test"], "interval": check["Interval"], "timeout": check["Timeout"],
                                 "retries": check["Retries"], "start_period": check["StartPeriod"]}
    return config


def smoke_command(service: Service) -> list:
    """The probe GETs the smoke path on the container's own loopback. Pure."""
    return [PROBE_PATH, f"http://127.0.0.1:{service.port}{service.smoke}"]


def leftovers(containers: list, this_host: str, alive, now: dt.datetime) -> list:
    """(container id, why it is left over) for trial containers whose run is gone: a dead pid on this
    host, or another host's container older than any trial lasts. From `containers` list entries. Pure."""
    found = []
    for container in containers:
        labels = container.get("Labels") or {}
        host, _, pid = labels.get(OWNER, "").rpartition(":")
        age = (now - dt.datetime.fromtimestamp(container.get("Created", 0), dt.timezone.utc)).total_seconds()
        if host == this_host and pid.isdigit() and not alive(int(pid)):
            found.append((container["Id"], f"left by a run that was killed (pid {pid})"))
        elif age > ABANDONED and not (host == this_host and pid.isdigit()):
            found.append((container["Id"], f"left by a run on {host or 'an older goswarm'} {int(age // 60)} min ago"))
    return found


def sweep(sh, client) -> None:
    """Remove the trial containers that killed runs left behind, and say so."""
    with engine.errors("listing trial containers"):
        containers = engineapi.containers(client, TRIAL)
    now = dt.datetime.now(dt.timezone.utc)
    for container_id, why in leftovers(containers, socket.gethostname(), pid_alive, now):
        name = next((x.get("Labels", {}).get(TRIAL) for x in containers if x["Id"] == container_id), "?")
        with engine.errors("removing a trial container left behind"):
            sh.act(f"remove the trial container {container_id[:12]} of {name}, {why}",
                   engineapi.remove_container, client, container_id)


def network_for_trials(client, name: str):
    """The overlay network a trial can join (swarm.init makes it attachable), else None: no network."""
    found = engineapi.network(client, name)
    return name if found and found.get("Attachable") else None


def prove(client, service: Service, image_ref: str, image_check: dict = None,
          network: str = None) -> threading.Thread:
    """Run the release until healthy (or, without a health check, alive for a second), then GET its smoke
    path; raise if it fails either. A proven trial's container is removed in the returned thread, while
    the update goes on (removing a container from an overlay network takes a quarter of a second)."""
    config = trial_settings(service, image_ref, network, owner(), image_check)
    checked = "healthcheck" in config
    limit = (servicespec.HEALTH["StartPeriod"] + 5 * servicespec.HEALTH["Timeout"]) / servicespec.SECOND
    docker = engine.sdk()

    started = time.monotonic()
    with engine.errors(f"running a trial container of {service.name}"):
        try:
            container = engineapi.create_container(client, **config)
        except docker.errors.ImageNotFound:  # pushed, and this engine has not pulled it yet
            client.images.pull(untagged(image_ref))
            container = engineapi.create_container(client, **config)
    result = None
    try:
        with engine.errors(f"running a trial container of {service.name}"):
            # the secrets and configs where the task gets them, as the engine would mount them
            engineapi.start_container(client, container, secret_files(service) if service.secrets or service.configs
                                      else None)
            result = _until_ready(client, container, checked, limit)
            if result in ("healthy", "running") and service.smoke:
                result = _smoke(client, container, service) or result
    finally:
        if result not in ("healthy", "running"):  # failed, or interrupted: remove it before going on
            _remove(client, container, service)
    if result not in ("healthy", "running"):
        if result.startswith("its health check"):
            check = servicespec.check_of(service, image_check)
            result += (f"; the check is {check.describe(service.port)}: change it with "
                       f"services.{service.name}.healthcheck")
        raise PipelineError(f"{service.name}: the new release failed in a trial container ({result}); "
                            f"the service was not touched and the running version stays up")
    smoked = f", GET {service.smoke} answers 2xx" if service.smoke else ""
    print(f"{service.name}: the new release is {result} in a trial container{smoked} "
          f"({time.monotonic() - started:.2f}s)")
    removal = threading.Thread(target=_remove, args=(client, container, service), daemon=True)
    removal.start()
    return removal


def secret_files(service: Service) -> bytes:
    """A tar of the service's secrets and configs at the paths its tasks see them, readable by anyone, for its
    trial container (removed with it)."""
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        for item in (*service.secrets, *service.configs):
            data = secrets.read(service.name, item)
            info = tarfile.TarInfo(item.where.lstrip("/"))
            info.size, info.mode = len(data), secrets_plan.MODE
            tar.addfile(info, io.BytesIO(data))
    return layer.getvalue()


def _remove(client, container: str, service: Service) -> None:
    """Remove a trial container. In the background a failure to do so is only a note: the next run sweeps it."""
    try:
        with engine.errors(f"removing the trial container of {service.name}"):
            engineapi.remove_container(client, container)
    except PipelineError as e:
        if threading.current_thread() is threading.main_thread():
            raise
        print(f"note: {e}; the next run removes it")


def _until_ready(client, container: str, checked: bool, limit: float) -> str:
    """"healthy" or "running" (without a check: still running after ALIVE seconds), or why not."""
    started = time.monotonic()

    def ready():
        state = engineapi.container_state(client, container)
        result = verdict(state, checked) if state is not None else "it was removed while it started"
        return None if result == "running" and time.monotonic() - started < ALIVE else result

    return poll.until(ready, limit, POLL, lambda: f"it was not healthy after {limit:.0f}s")


def _smoke(client, container: str, service: Service):
    """None when the smoke path answers 2xx within converge.SMOKE_GRACE, else what it answered last."""
    said = []

    def answers():
        code, output = engineapi.run_in(client, container, smoke_command(service))
        said[:] = [output.strip()]
        if code in MISSING_PROBE:
            print(f"{service.name}: note: its image has no {PROBE_PATH}, so its smoke path is only checked "
                  f"after the update")
        return "ok" if code == 0 or code in MISSING_PROBE else None

    if poll.until(answers, converge.SMOKE_GRACE, 0.1) == "ok":
        return None
    return f"its smoke path failed: {said[0].splitlines()[-1] if said[0] else 'no answer'}"


def prove_all(sh, client, trials, network: str = None) -> list:
    """Prove several releases at once; trials are (service, image_ref, the image's own check). Every failure
    is reported.
    Returns the threads removing the proven trials' containers: join them before the run ends."""
    if not trials:
        return []
    if sh.dry:
        for service, *_ in trials:
            smoke = f" and GET {service.smoke} from it" if service.smoke else ""
            print(f"[dry] would prove {service.name}'s new release healthy in a trial container{smoke} first")
        return []
    network = network_for_trials(client, network) if network else None
    if len(trials) == 1:  # in this thread, so that Ctrl-C removes the trial container at once
        return [prove(client, *trials[0], network)]
    with ThreadPoolExecutor(max_workers=len(trials)) as pool:
        futures = [pool.submit(prove, client, *trial, network) for trial in trials]
    errors = [f.exception() for f in futures if f.exception()]
    for error in errors:
        if not isinstance(error, PipelineError):
            raise error
    failures = [str(e) for e in errors]
    if failures:
        raise PipelineError("; ".join(failures))
    return [f.result() for f in futures]
