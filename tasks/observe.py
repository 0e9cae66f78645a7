"""See what runs: swarm-wide container stats, and a load test of a service with its report."""
import json
import sys

from goswarm import settings
from goswarm.io.shell import Shell
from goswarm.tasks.base import MANAGER_HELP, settings_of, task


@task(help={"service": "Only these services (comma-separated names from the config, with their edges; "
                       "default: every service on the swarm).",
            "watch": "Refresh every second until Ctrl-C (in place on a terminal, plain lines otherwise).",
            "json": "Print one JSON list with an object per task instead of the table.",
            "manager": MANAGER_HELP})
def stats(c, service=None, watch=False, json_=False, manager=None):
    """CPU %, memory, network and PIDs of every task of the services on every node, with per-service totals."""
    from goswarm.ops import stats as stats_ops
    from goswarm.plan import config
    from goswarm.plan import stats as stats_plan

    _, cfg = settings_of(c, manager)
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


@task(name="load", help={
            "service": "The service to load (default: the only one, or the first with a `load:` scenario).",
            "users": "Concurrent users, each on its own keep-alive connection (default 100).",
            "duration": "Seconds of load, ramp included (default 30).",
            "ramp": "Seconds over which the users start (default 0: all at once).",
            "base_url": "http://HOST:PORT to load (default: where the service is published: the manager's address "
                        "and its port).",
            "rate": "Requests/s in total (default 0: as fast as the users can).",
            "json": "Print a JSON summary (requests, rps, errors, latency_ms, tasks, report) instead of the table.",
            "during": "A goswarm task to run a third of the way in, e.g. 'redeploy --force'; marked on the report.",
            "target_ok": "Allow a --base-url outside loopback and this project's machines.",
            "manager": MANAGER_HELP})
def load_(c, service=None, users=None, duration=None, ramp=None, base_url=None, rate=None, json_=False,
          during=None, target_ok=False, manager=None):
    """Load a service with N users for a while: live req/s and latency, a table, and an HTML report in reports/."""
    from goswarm.ops import load as loads
    from goswarm.plan import load as load_plan
    from goswarm.plan import output

    users = settings.whole_number("--users", users) if users is not None else loads.USERS
    duration = settings.seconds("--duration", duration) if duration is not None else loads.DURATION
    ramp = load_plan.number("--ramp", ramp, "seconds") if ramp is not None else 0.0
    rate = load_plan.number("--rate", rate, "requests/s") if rate is not None else 0.0
    _, cfg = settings_of(c, manager)
    chosen = loads.choose(cfg, service)
    side = (during, load_plan.during_argv(sys.argv, "load", during, sys.executable)) if during else None
    run = loads.run(Shell.of(c), cfg, chosen, users, duration, ramp, rate, base_url, target_ok, side)
    doc = run.as_json()
    print(json.dumps(doc, indent=1) if json_ else load_plan.closing(run.summary, doc, output.shown(run.report)))
