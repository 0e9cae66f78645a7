"""The Invoke collections: one per concern, the pipelines at the top. Each task parses its flags, reads the
config once, calls the library (goswarm.ops) and prints."""
from pathlib import Path
from typing import Optional

from invoke import Collection

from goswarm import settings
from goswarm.tasks import addons, build, deploy, image, lab, machine, observe, root, stack, swarm, viz


def namespace(project_root: Optional[Path] = None) -> Collection:
    """The root collection. project_root: where the project is, when it is not the current directory
    (this repository's tasks.py passes its own directory)."""
    ns = Collection()
    for module in (build, image, machine, swarm, deploy, lab, stack, addons):
        ns.add_collection(module.ns)
    # Every section's defaults at the root: every task sees all of them (redeploy reads them all), and an
    # INVOKE_*/GOSWARM_* variable only overrides a key that the config already has.
    ns.configure(settings.DEFAULTS)
    for task in (root.init, root.redeploy, root.dev, root.setup, viz.viz, observe.stats, observe.load_):
        ns.add_task(task)
    ns.add_task(root.schema)
    ns.add_task(root.config)
    ns.add_task(root.check)
    ns.add_task(root.prune)
    if project_root:
        ns.configure({"goswarm": {"root": str(project_root)}})
    return ns
