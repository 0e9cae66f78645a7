"""The root namespace: one sub-collection per concern, pipelines at the top."""
from invoke import Collection

from tasks import build, deploy, dev, hostsetup, image, lab, machine, pipeline, swarm
from tasks.errors import install_config_error_hook, install_signal_handlers


def namespace() -> Collection:
    install_signal_handlers()
    ns = Collection()
    install_config_error_hook(ns.configuration)
    for module in (build, image, machine, swarm, deploy, lab):
        ns.add_collection(module.ns)
        # Every collection's defaults are visible to every task (redeploy reads them all).
        ns.configure(module.DEFAULTS)
    ns.add_task(pipeline.redeploy)
    ns.add_task(hostsetup.setup)
    ns.add_task(dev.dev)
    return ns
