"""`goswarm dev --live`: a saved change to a service's Go code is served by the tasks that already run, in about
a second. It is compiled (go build, cached), put into each running task in place of the binary, and restarted
there by the probe's supervisor: no image, no new task, no rollout (Tilt's live_update is the model).

Entering a live session is one rollout of the service, to a spec whose tasks run under the supervisor
(plan/live.py); the spec is marked as no release, and the next redeploy puts the normal one back.
"""
import threading
import time

from goswarm import parallel
from goswarm.errors import PipelineError, SwapFailed
from goswarm.io import engine, engineapi
from goswarm.ops import build, external, image, rollout
from goswarm.plan import live as plan
from goswarm.plan import placement, platforms, servicespec
from goswarm.plan.config import PROBE_PATH


def enter(sh, cfg, service) -> str:
    """Have the service's tasks run under the supervisor, unless they do (one rollout, start-first and
    health-gated like any); where its binary sits in them. A PipelineError says why a service cannot be live."""
    client = engine.client(cfg.target_url)
    with engine.errors(f"reading service {service.name}"):
        current = engineapi.service(client, service.name)
    if current is None:
        raise PipelineError(f"{service.name} is not deployed")
    if already := plan.live_binary(current["Spec"]):
        return already
    ref = current["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
    config = _image_config(cfg, ref)
    argv = plan.command(config, service.tuning.command, service.tuning.args)
    path = plan.binary_path(argv, config.get("WorkingDir") or "")
    if path is None:
        raise PipelineError(f"{service.name}: its image runs {' '.join(argv[:1]) or 'nothing'}, not a program "
                            f"goswarm built and put there, so its binary cannot be swapped: dev without --live "
                            f"redeploys it")
    want = plan.supervised(current["Spec"], argv, path)
    with engine.errors(f"supervising {service.name}"):
        sh.act(f"run {service.name} under goswarm's supervisor, for live swaps (one rollout)",
               engineapi.update_service, client, current, **servicespec.sdk_arguments(want))
    rollout.wait(sh, client, service.name, cfg.timeout)
    return path


def connect(cfg) -> None:
    """Open the connection to each node's engine now, side by side, so that the first saved change does not wait
    for SSH handshakes (a swap reaches every node that runs a task). One that fails here is said by the swap."""
    with engine.errors("listing the swarm's nodes"):
        nodes = engineapi.nodes(engine.client(cfg.target_url))

    def ping(pair):
        try:
            if pair[1] is not None:
                pair[1].ping()
        except Exception:  # noqa: BLE001 - only a head start: the swap reports a node it cannot reach
            pass

    parallel.each(ping, external.clients(cfg, nodes), parallel.NODES)


def _image_config(cfg, ref: str) -> dict:
    """The image's config (Entrypoint, Cmd, WorkingDir), from the engine that built it or the swarm's."""
    for client in dict.fromkeys((engine.client(), engine.client(cfg.target_url))):
        with engine.errors(f"inspecting image {ref}"):
            found = engine.find_image(client, ref)
        if found is not None:
            return found.attrs.get("Config") or {}
    raise PipelineError(f"no engine here has the image {ref}: redeploy first")


def why_not_reloaded(client, container: str, code) -> tuple:
    """Why the probe's -reload did not succeed: its own words, else what became of the task; and whether the
    engine stopped the task (then it starts a new one from the image)."""
    said = engineapi.read_in(client, container, plan.RELOAD_ERROR)  # None when the file or the container is gone
    if said:
        return " ".join(said.decode(errors="replace").split())[:200], False
    state = engineapi.container_state(client, container)
    health = ((state or {}).get("Health") or {}).get("Status")
    # Killed (137) with the container, or the engine stops it (or is about to): the task failed its health check
    if code == 137 or state is None or not state.get("Running") or health == "unhealthy":
        return ("the engine stopped the task while the new program started" +
                (f" (its health check: {health})" if health else "") + ", and starts a new one from its image"), True
    return (f"it did not restart within {plan.RELOAD_TIMEOUT:g} s" if code is None else f"exit code {code}"), False


def swap(sh, cfg, service, path: str) -> int:
    """Compile the service and put its binary into every running task at `path`, restarting it there; how many
    tasks now serve it. A PipelineError when it does not compile, or a task could not take it."""
    build.run(sh, cfg, [service])
    client = engine.client(cfg.target_url)
    with engine.errors(f"listing the tasks of {service.name}"):
        current = engineapi.service(client, service.name)
        if current is None or plan.live_binary(current["Spec"]) != path:
            raise PipelineError(f"{service.name} no longer runs under the supervisor (it was redeployed)")
        nodes = engineapi.nodes(client)
        tasks = [t for t in engineapi.tasks(client, current["ID"], running=True)
                 if t["Status"]["State"] == "running" and t["ServiceID"] == current["ID"]]
    by_id = {n["ID"]: n for n in nodes}
    clients = dict(zip(by_id, (c for _, c in external.clients(cfg, nodes))))
    ready = [PROBE_PATH, "-reload"] + (["-tcp", f"127.0.0.1:{service.port}"] if service.port else [])

    archives, lock = {}, threading.Lock()  # one tar per binary, shared by the tasks of a platform

    def archive_of(binary) -> bytes:
        with lock:
            return archives.get(binary) or archives.setdefault(binary, image.layer_of({path: binary}))

    def one(task):
        client_of_node, container = clients.get(task.get("NodeID")), engineapi.task_container(task)
        if client_of_node is None or not container:
            raise PipelineError(f"{service.name}: a task runs on a node goswarm has no machine record of: "
                                f"redeploy instead")
        binary = cfg.dist / platforms.artifact_name(service.name, placement.node_platform(by_id[task["NodeID"]]))
        if not binary.is_file():
            raise PipelineError(f"{service.name}: no {binary.name} was built for that node's platform")
        with engine.errors(f"swapping {service.name}'s binary in task {task['ID'][:12]}"):
            engineapi.put_files(client_of_node, container, archive_of(binary))
            code = engineapi.run_detached_in(client_of_node, container, ready, plan.RELOAD_TIMEOUT)
            if code != 0:
                why, stopped = why_not_reloaded(client_of_node, container, code)
                raise SwapFailed(f"{service.name}: the new binary did not start in task {task['ID'][:12]}: {why}",
                                 "until the next save, that task serves the image's version" if stopped else
                                 "that task runs the new program, which is not ready; the next save swaps again")

    if sh.dry:
        print(f"[dry] would put the new {service.name} binary into {len(tasks)} running task(s) and restart it")
        return len(tasks)
    started = time.monotonic()
    parallel.each(one, tasks, parallel.NODES)
    print(f"{service.name}: swapped into {len(tasks)} running task(s) ({time.monotonic() - started:.2f} s)")
    return len(tasks)
