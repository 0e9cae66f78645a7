"""See what runs: swarm-wide container stats, and a load test of a service with its report."""
import json
import sys

from goswarm.ops import stats as stats_ops
from goswarm.plan import config
from goswarm.plan import stats as stats_plan
from goswarm.tasks.base import MANAGER_HELP, load, task


@task(help={"service": "Only these services (comma-separated names from the config, with their edges; "
                       "default: every service on the swarm).",
            "watch": "Refresh every second until Ctrl-C (in place on a terminal, plain lines otherwise).",
            "json": "Print one JSON list with an object per task instead of the table.",
            "manager": MANAGER_HELP})
def stats(c, service=None, watch=False, json_=False, manager=None):
    """CPU %, memory, network and PIDs of every task of the services on every node, with per-service totals."""
    _, cfg = load(c, manager)
    names = stats_ops.service_names(cfg, config.select(cfg.services, service)) if service else None
    if watch:
        try:
            stats_ops.watch(cfg, names, sys.stdout)
        except KeyboardInterrupt:
            pass
        return
    snapshot = stats_ops.collect(cfg, names)
    if json_:
        print(json.dumps([row.as_json() for row in snapshot.tasks], indent=1))
    else:
        print(stats_plan.table(snapshot.tasks, snapshot.nodes_down))
