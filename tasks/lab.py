"""lab: a local multi-node swarm of netns machines in one command (Linux, root)."""
from invoke import Collection

from goswarm import settings
from goswarm.tasks.base import settings_of, task


@task(help={"nodes": "How many machines (default lab.nodes): 1 manager, the rest workers.",
            "bare": "Bare Debian hosts (own root filesystem, no Docker), provisioned over SSH with --install."})
def up(c, nodes=None, bare=False):
    """Create N netns machines, form a swarm (1 manager, N-1 workers) and its overlay network."""
    from goswarm.ops import lab

    count = settings.whole_number("--nodes", nodes) if nodes is not None else None
    sh, cfg = settings_of(c)
    lab.up(sh, cfg, count if count is not None else cfg.lab_nodes, bare)


@task
def down(c):
    """Remove every lab machine: processes, links, namespaces and state."""
    from goswarm.ops import lab

    sh, cfg = settings_of(c)
    lab.down(sh, cfg)


ns = Collection("lab")
ns.add_task(up)
ns.add_task(down)
