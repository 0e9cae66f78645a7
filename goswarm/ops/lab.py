"""A local multi-node swarm of netns machines in one command (Linux, root)."""
from concurrent.futures import ThreadPoolExecutor

from goswarm.errors import PipelineError
from goswarm.io import drivers, machines
from goswarm.ops import bare_lab, machine, swarm


def names(prefix: str, count: int) -> list:
    """lab-1 is the manager, the rest are workers. Pure."""
    if count < 1:
        raise PipelineError(f"--nodes must be 1 or more, got {count}")
    return [f"{prefix}-{i}" for i in range(1, count + 1)]


def ensure_machine(sh, name: str, address: str = None, driver: str = "netns") -> str:
    if machines.exists(name):
        existing = machines.read(name)
        return drivers.get(existing.driver).provision(sh, existing)
    made = drivers.get(driver).create(sh, name, preferred=address)
    if sh.dry:
        return None  # the driver said what it would do
    machines.save(made)
    return f"machine {name}: created ({made.host})"


def say(line) -> None:
    if line:
        print(line)


def lab_machines(prefix: str) -> list:
    return [m for m in machines.all_machines() if m.driver in ("netns", "rootfs") and m.name.startswith(prefix + "-")]


def up(sh, cfg, nodes: int, bare: bool = False) -> None:
    """Create `nodes` netns machines, form a swarm (1 manager, the rest workers) and its overlay network."""
    from goswarm.io import netns

    netns.check_supported()
    wanted = names(cfg.lab_prefix, nodes)
    # Addresses are handed out before the machines come up side by side, so two cannot pick the same one.
    used, addresses = drivers.used_addresses(sh), {}
    for name in wanted:
        if not machines.exists(name):
            addresses[name] = netns.allocate_address(used | set(addresses.values()))
    # The first machine creates the shared bridge; the others can then come up side by side.
    driver = "rootfs" if bare else "netns"
    say(ensure_machine(sh, wanted[0], addresses.get(wanted[0]), driver))
    if sh.dry:
        for name in wanted[1:]:
            say(ensure_machine(sh, name, addresses.get(name), driver))
        joins = f", and join {', '.join(wanted[1:])} as workers" if wanted[1:] else ""
        print(f"[dry] would initialise a swarm on {wanted[0]} with the overlay network{joins}")
        return
    with ThreadPoolExecutor(max_workers=max(1, len(wanted) - 1)) as pool:
        for line in pool.map(lambda n: ensure_machine(sh, n, addresses.get(n), driver), wanted[1:]):
            say(line)
    if bare:
        bare_lab.provision(sh, wanted)
    lab = swarm.with_manager(cfg, wanted[0])
    swarm.init(sh, lab)
    for name in wanted[1:]:
        swarm.join(sh, lab, name)
    print(f"lab ready: target it with --manager {wanted[0]}, or `swarm: {{manager: {wanted[0]}}}` in the config")


def down(sh, cfg) -> None:
    """Remove every lab machine: processes, links, namespaces and state."""
    found = lab_machines(cfg.lab_prefix)
    if not found:
        print(f"no {cfg.lab_prefix}-* machines, no change")
        return
    with ThreadPoolExecutor(max_workers=len(found)) as pool:
        removed = list(pool.map(lambda m: machine.remove(sh, m), found))
    print(f"lab removed: {', '.join(removed)}")
