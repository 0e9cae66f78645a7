"""`goswarm init` proves what it guessed before it writes it: it builds each service's image as redeploy would,
runs it once in a trial container (no network, no service name, labelled as redeploy's trials are), and GETs the
health route and the smoke path it read from the code, with the probe that redeploy's health checks use. What
answered 2xx is written as active; the rest is written commented out, with what it answered.
"""
import dataclasses
import time

from goswarm import poll
from goswarm.errors import PipelineError
from goswarm.io import engine, engineapi
from goswarm.ops import build, image, proof
from goswarm.plan import config, servicespec

READY = 15.0  # seconds a trial has to accept connections on its port
ANSWER = 3.0  # seconds a path has to answer 2xx once the port is open


def trial_paths(proposal) -> list:
    """(what, port, path) to GET in the trial: the health route (on its own listener's port when it has one) and
    the smoke path. Pure."""
    paths = []
    if proposal.health and not proposal.image_healthcheck:
        port = proposal.health_port.value if proposal.health_port else proposal.port.value
        paths.append(("health", port, proposal.health.value))
    if proposal.smoke:
        paths.append(("smoke", proposal.port.value, proposal.smoke.value))
    return paths


def prove(sh, cfg, proposals: list) -> dict:
    """{service name: {"health"|"smoke": (answered 2xx, what the probe said)}}, for the services with a path to
    try. cfg: Settings of the config init would write. Raises PipelineError when the images cannot be built or
    run (no engine, a missing base image, a compile error): then nothing was tried."""
    wanted = {p.name: p for p in proposals if trial_paths(p)}
    if not wanted or sh.dry:
        return {}
    # Host mode for the trial: an edge is no part of what is tried.
    services = [dataclasses.replace(cfg.services[name], publish_mode="host", publish=None, smoke=None)
                for name in wanted]
    build.run(sh, cfg, services)
    results = {}
    client = engine.client()
    for service in services:
        built = image.build_one(sh, cfg, service, "", quiet=True)
        results[service.name] = _try(client, service, built.id or built.ref, trial_paths(wanted[service.name]))
    return results


def _try(client, service: config.Service, ref: str, paths: list) -> dict:
    settings = {"image": ref, "environment": servicespec.container_env(service), "detach": True,
                "network_disabled": True, "labels": {proof.TRIAL: service.name, proof.OWNER: proof.owner()}}
    with engine.errors(f"running a trial container of {service.name}"):
        container = engineapi.create_container(client, **settings)
    try:
        with engine.errors(f"running a trial container of {service.name}"):
            engineapi.start_container(client, container)
            listening = _until(client, container, [config.PROBE_PATH, "-tcp", f"127.0.0.1:{service.port}"], READY)
            if not listening[0]:
                state = engineapi.container_state(client, container) or {}
                why = (f"it exited with code {state.get('ExitCode')}" if state.get("Status") == "exited" else
                       f"port {service.port} did not accept connections in {READY:.0f}s")
                return {what: (False, why) for what, _, _ in paths}
            return {what: _until(client, container, [config.PROBE_PATH, f"http://127.0.0.1:{port}{path}"], ANSWER)
                    for what, port, path in paths}
    finally:
        with engine.errors(f"removing the trial container of {service.name}"):
            engineapi.remove_container(client, container)


def _until(client, container: str, argv: list, limit: float) -> tuple:
    """(the probe exited 0 within `limit` s, what it said last)."""
    said = [""]
    started = time.monotonic()

    def once():
        if (engineapi.container_state(client, container) or {}).get("Status") != "running":
            return "stopped"
        code, output = engineapi.run_in(client, container, argv)
        said[0] = " ".join(output.split())[:200]
        return "ok" if code == 0 else None

    outcome = poll.until(once, limit, 0.2, lambda: "late")
    return outcome == "ok", said[0] or f"no answer in {time.monotonic() - started:.0f}s"


def settle(sh, cfg_of, proposals: list, ask=None) -> None:
    """Try the guessed paths and mark each one that did not answer 2xx (or could not be tried) with a note, so
    that it is written commented out. cfg_of(): the Settings of the config as init would write it. At a terminal
    (ask) each unproven path is asked about; without one nothing unproven is written as active."""
    try:
        results, why_not = prove(sh, cfg_of(), proposals), ""
    except PipelineError as e:
        results, why_not = {}, str(e)
    for p in proposals:
        for what, port, path in trial_paths(p):
            ok, said = results.get(p.name, {}).get(what, (None, why_not))
            if ok:
                print(f"{p.name}: GET {path} on port {port} answered 2xx in a trial run: {what} written as it is")
                continue
            if sh.dry:
                continue
            note = f"did not answer 2xx in a trial run: {said}" if ok is False else f"not tried: {why_not}"
            note = note if len(note) <= 160 else note[:157] + "..."
            if ask and ask(f"{p.name}: GET {path} on port {port} {note}. Use it as the {what} path anyway? "
                           f"[y/N] ").strip().lower() in ("y", "yes"):
                continue
            print(f"{p.name}: GET {path} on port {port} {note}: {what} written commented out")
            setattr(p, f"{what}_note", note)
