"""The HTTP edge changes in place. Its running tasks take the new image's files, and HAProxy reloads, so its port
never closes (plan/edgeproxy.py says how). This is for a goswarm or HAProxy upgrade, where only the edge's image
changes. Any other change to an edge replaces its tasks, stop-first, as its host-mode port requires.
"""
import dataclasses
import time

from goswarm import parallel
from goswarm.errors import PipelineError
from goswarm.io import engine, engineapi
from goswarm.ops import external, image
from goswarm.plan import edgeproxy, servicespec

RELOAD_WAIT = 10.0  # seconds for HAProxy's master to start a worker with the new files


def in_place(cfg, step, running: list, edge_image):
    """The step of an HTTP edge whose only change is its image. Its tasks are reloaded in place when they run
    HAProxy's master and this machine has the new image's files; then the step's plan is "reload". When every
    running task already runs that image, the plan is "none". Any other step is returned as it is.
    running: the service's running tasks, as the swarm was read."""
    current = step.current
    if current is None or step.plan.action not in ("update", "none") \
            or edgeproxy.RELOAD_LABEL not in (current["Spec"].get("Labels") or {}) \
            or any(name != "image" for name, _, _ in step.plan.changes):
        return step
    wanted = step.want["TaskTemplate"]["ContainerSpec"]["Image"]
    stale = edgeproxy.tasks_to_reload(current["Spec"], wanted, running)
    if not stale:
        return dataclasses.replace(step, plan=dataclasses.replace(step.plan, action="none", changes=[]))
    layer = image.edge_layer(cfg, edge_image)
    if layer is None:  # made elsewhere, or FROM an HAProxy image: its tasks are replaced
        return step
    changes = step.plan.changes or [("image", "(in some tasks) another", wanted)]
    reload = dataclasses.replace(step.plan, action="reload", changes=changes,
                                 why=f"HAProxy takes the new files with {edgeproxy.RELOAD_SIGNAL}: the port stays open")
    return dataclasses.replace(step, plan=reload, stale=stale, layer=layer, replaced=step.plan,
                               running=[t["ID"] for t in running])


def replacement(step):
    """The step that replaces the edge's tasks when they cannot be reloaded in place: the update planned before
    the reload was chosen. When that was no change (the spec's own image, which some tasks had swapped for another
    in place), a forced update, so that every task runs the spec's image again. Pure."""
    if step.replaced.action != "none":
        return dataclasses.replace(step, plan=step.replaced)
    template = step.want["TaskTemplate"]
    before = template.get("ForceUpdate") or 0
    want = {**step.want, "TaskTemplate": {**template, "ForceUpdate": before + 1}}
    plan = dataclasses.replace(step.replaced, action="update", changes=[("force_update", before, before + 1)],
                               why="its tasks run another image than the spec's")
    return dataclasses.replace(step, plan=plan, want=want)


def reload(sh, cfg, client, step) -> None:
    """Put the new files into each task of the step that lacks them and have HAProxy reload, then record it in
    the service's labels (a change of labels replaces no task). A PipelineError when a task could not."""
    name = step.service.name
    if sh.dry:
        print(f"[dry] would {step.plan.describe()}")
        return
    print(step.plan.describe())
    started = time.monotonic()
    with engine.errors("listing the swarm's nodes"):
        nodes = engineapi.nodes(client)
    clients = dict(zip((n["ID"] for n in nodes), (c for _, c in external.clients(cfg, nodes))))

    def one(task):
        node, container = clients.get(task.get("NodeID")), engineapi.task_container(task)
        if node is None or not container:
            raise PipelineError(f"a task of {name} runs on a node goswarm has no machine record of")
        with engine.errors(f"reloading {name} in task {task['ID'][:12]}"):
            before = {pid for pid, _ in engineapi.processes(node, container)}
            engineapi.put_files(node, container, step.layer)
            engineapi.signal_container(node, container, edgeproxy.RELOAD_SIGNAL)
            deadline = time.monotonic() + RELOAD_WAIT
            while not edgeproxy.new_worker(before, engineapi.processes(node, container)):
                if time.monotonic() > deadline:
                    raise PipelineError(f"HAProxy in task {task['ID'][:12]} of {name} started no new worker within "
                                        f"{RELOAD_WAIT:g} s of {edgeproxy.RELOAD_SIGNAL} (docker service logs {name} "
                                        f"says why)")
                time.sleep(0.05)

    parallel.each(one, step.stale, parallel.NODES)
    wanted = step.want["TaskTemplate"]["ContainerSpec"]["Image"]
    labels = {**step.want["Labels"], edgeproxy.RUNS_LABEL: edgeproxy.runs_label(wanted, step.running)}
    with engine.errors(f"recording the reload of {name}"):
        engineapi.update_service(client, step.current,
                                 **servicespec.sdk_arguments({**step.current["Spec"], "Labels": labels}))
    print(f"{name}: {len(step.stale)} task(s) reloaded in place ({time.monotonic() - started:.2f} s)")
