"""lab: a local multi-node swarm of netns machines in one command (Linux, root)."""
from concurrent.futures import ThreadPoolExecutor

from invoke import Collection

from tasks import drivers, engine, machine, machines, output, settings, swarm
from tasks.errors import PipelineError, task

DEFAULTS = {"lab": {"nodes": 3, "prefix": "lab"}}


def names(prefix: str, count: int) -> list:
    """lab-1 is the manager, the rest are workers. Pure."""
    if count < 1:
        raise PipelineError(f"--nodes must be 1 or more, got {count}")
    return [f"{prefix}-{i}" for i in range(1, count + 1)]


def ensure_machine(c, name: str, address: str = None) -> str:
    if machines.exists(name):
        existing = machines.load(name)
        return drivers.get(existing.driver).provision(c, existing)
    made = drivers.get("netns").create(c, name, preferred=address)
    if output.is_dry(c):
        return None  # the driver said what it would do
    machines.save(made)
    return f"machine {name}: created ({made.host})"


def say(line) -> None:
    if line:
        print(line)


def lab_machines(prefix: str) -> list:
    return [m for m in machines.all_machines() if m.driver == "netns" and m.name.startswith(prefix + "-")]


@task(help={"nodes": "How many machines (default lab.nodes): 1 manager, the rest workers."})
def up(c, nodes=None):
    """Create N netns machines, form a swarm (1 manager, N-1 workers) and its overlay network."""
    from tasks import netns

    netns.check_supported()
    prefix = str(c.config.lab.prefix)
    wanted = names(prefix, settings.whole_number("--nodes", nodes or c.config.lab.nodes))
    # Addresses are handed out before the machines come up side by side, so two cannot pick the same one.
    used, addresses = drivers.used_addresses(c), {}
    for name in wanted:
        if not machines.exists(name):
            addresses[name] = netns.allocate_address(used | set(addresses.values()))
    # The first machine creates the shared bridge; the others can then come up side by side.
    say(ensure_machine(c, wanted[0], addresses.get(wanted[0])))
    if output.is_dry(c):
        for name in wanted[1:]:
            say(ensure_machine(c, name, addresses.get(name)))
        joins = f", and join {', '.join(wanted[1:])} as workers" if wanted[1:] else ""
        print(f"[dry] would initialise a swarm on {wanted[0]} with the overlay network{joins}")
        return
    with ThreadPoolExecutor(max_workers=max(1, len(wanted) - 1)) as pool:
        for line in pool.map(lambda n: ensure_machine(c, n, addresses.get(n)), wanted[1:]):
            say(line)
    swarm.init(c, manager=wanted[0])
    for name in wanted[1:]:
        swarm.join(c, name, manager=wanted[0])
    print(f"lab ready: target it with --manager {wanted[0]}, or `swarm: {{manager: {wanted[0]}}}` in invoke.yaml")


@task
def down(c):
    """Remove every lab machine: processes, links, namespaces and state."""
    prefix = str(c.config.lab.prefix)
    found = lab_machines(prefix)
    if not found:
        print(f"no {prefix}-* machines, no change")
        return
    engine.client.cache_clear()  # clients to these machines would outlive them
    with ThreadPoolExecutor(max_workers=len(found)) as pool:
        removed = list(pool.map(lambda m: machine.remove(c, m), found))
    print(f"lab removed: {', '.join(removed)}")


ns = Collection("lab")
ns.add_task(up)
ns.add_task(down)
ns.configure(DEFAULTS)
