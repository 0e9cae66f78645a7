"""swarm: form a swarm, grow it with machines, and see what runs on it."""
from invoke import Collection

from goswarm.tasks.base import JSON_HELP, MANAGER_HELP, settings_of, task


@task(help={"advertise_addr": "Address other nodes reach the manager at (default: the machine's, or MANAGER_IP).",
            "manager": "Initialise on this machine (default: swarm.manager, else the engine at DOCKER_HOST)."})
def init(c, advertise_addr=None, manager=None):
    """Make the engine (or --manager machine) a swarm manager and create the overlay network (idempotent)."""
    from goswarm.ops import swarm

    sh, cfg = settings_of(c, manager)
    swarm.init(sh, cfg, advertise_addr)


@task(help={"name": "The machine to join.", "role": "worker or manager.", "manager": MANAGER_HELP})
def join(c, name, role="worker", manager=None):
    """Join a machine to the swarm with a token fetched from the manager (idempotent)."""
    from goswarm.ops import swarm

    sh, cfg = settings_of(c, manager)
    swarm.join(sh, cfg, name, role)


@task(help={"name": "The machine that leaves.", "manager": MANAGER_HELP})
def leave(c, name, manager=None):
    """Take a machine out of the swarm and remove its node entry (idempotent)."""
    from goswarm.ops import swarm

    sh, cfg = settings_of(c, manager)
    swarm.leave(sh, cfg, name)


@task(help={"name": "The machine.", "manager": MANAGER_HELP})
def drain(c, name, manager=None):
    """Move all tasks off a node and schedule none there (idempotent)."""
    from goswarm.ops import swarm

    sh, cfg = settings_of(c, manager)
    swarm.set_availability(sh, cfg, name, "drain")


@task(help={"name": "The machine.", "manager": MANAGER_HELP})
def activate(c, name, manager=None):
    """Let a drained node take tasks again (idempotent)."""
    from goswarm.ops import swarm

    sh, cfg = settings_of(c, manager)
    swarm.set_availability(sh, cfg, name, "active")


@task(help={"manager": MANAGER_HELP, "json": JSON_HELP})
def status(c, manager=None, json=False):
    """Show every node (role, availability, state), every service (replicas, published ports and whether they
    answer on the manager, image) and its tasks per node."""
    from goswarm.ops import swarm

    _, cfg = settings_of(c, manager)
    print(swarm.status(cfg, json))


ns = Collection("swarm")
for t in (init, join, leave, drain, activate, status):
    ns.add_task(t)
