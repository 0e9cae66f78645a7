"""Prove a new release healthy in a throw-away container, before a stop-first update stops the old one.

With host-mode ports the old task must stop before the new one can bind the port. If the new
release then failed, the service would be down until the rollback. So it first runs once as
a plain container, with the service's environment and health check but no network (the check
runs on the container's own loopback), and only a healthy release goes on to the update.
"""
import time
from concurrent.futures import ThreadPoolExecutor

from tasks import engine, output, servicespec
from tasks.config import Service
from tasks.errors import PipelineError

INTERVAL = servicespec.SECOND // 10  # a trial container is short-lived: check it often
ALIVE = 1.0  # without a health check: still running after this long
POLL = 0.05


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


def trial_config(service: Service, image_ref: str) -> dict:
    """create_container arguments for the trial. Pure."""
    config = {"image": image_ref, "environment": servicespec.container_env(service), "network_disabled": True,
              "labels": {f"{servicespec.LABEL}.trial": service.name}, "detach": True}
    if service.healthcheck:
        check = servicespec.healthcheck(service, INTERVAL)
        config["healthcheck"] = {"test": check["Test"], "interval": check["Interval"], "timeout": check["Timeout"],
                                 "retries": check["Retries"], "start_period": check["StartPeriod"]}
    return config


def prove(client, service: Service, image_ref: str) -> None:
    """Run the release until healthy (or, without a health check, alive for a second); raise if it is not."""
    config = trial_config(service, image_ref)
    checked = bool(service.healthcheck)
    limit = (servicespec.HEALTH["StartPeriod"] + 5 * servicespec.HEALTH["Timeout"]) / servicespec.SECOND
    docker = engine.sdk()

    with engine.errors(f"running a trial container of {service.name}"):
        try:
            container = client.api.create_container(**config)["Id"]
        except docker.errors.ImageNotFound:  # pushed, and this engine has not pulled it yet
            client.images.pull(untagged(image_ref))
            container = client.api.create_container(**config)["Id"]
    try:
        with engine.errors(f"running a trial container of {service.name}"):
            client.api.start(container)
            started = time.monotonic()
            while True:
                state = client.api.inspect_container(container)["State"]
                result = verdict(state, checked)
                if result is None and time.monotonic() - started > limit:
                    result = f"it was not healthy after {limit:.0f}s"
                if result == "running" and time.monotonic() - started < ALIVE:
                    result = None
                if result is not None:
                    break
                time.sleep(POLL)
    finally:
        with engine.errors(f"removing the trial container of {service.name}"):
            client.api.remove_container(container, force=True)
    if result not in ("healthy", "running"):
        raise PipelineError(f"{service.name}: the new release failed in a trial container ({result}); "
                            f"the service was not touched and the running version stays up")
    print(f"{service.name}: the new release is {result} in a trial container ({time.monotonic() - started:.2f}s)")


def prove_all(c, client, trials) -> None:
    """Prove several releases at once; trials are (service, image_ref). Every failure is reported."""
    if not trials:
        return
    if output.is_dry(c):
        for service, ref in trials:
            print(f"[dry] would prove {service.name}'s new release healthy in a trial container first")
        return
    if len(trials) == 1:  # in this thread, so that Ctrl-C removes the trial container at once
        prove(client, *trials[0])
        return
    with ThreadPoolExecutor(max_workers=len(trials)) as pool:
        futures = [pool.submit(prove, client, service, ref) for service, ref in trials]
    errors = [f.exception() for f in futures if f.exception()]
    for error in errors:
        if not isinstance(error, PipelineError):
            raise error
    failures = [str(e) for e in errors]
    if failures:
        raise PipelineError("; ".join(failures))
