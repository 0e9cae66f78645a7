"""`lab.up --bare`: lab machines that start as bare Debian hosts and get Docker the way a cloud VM does, over SSH
with `machine.provision --install`, through the lab's apt proxy. The swarm is then formed as for any lab."""
from concurrent.futures import ThreadPoolExecutor

from goswarm.io import drivers
from goswarm.ops import machine


def options(sh) -> drivers.Provisioning:
    from goswarm.io import aptproxy, netns

    # Insecure: a registry on the lab bridge speaks plain HTTP, as netns machines' engines already allow.
    return drivers.Provisioning(aptproxy.ensure(sh), (netns.SUBNET,))


def provision(sh, wanted: list) -> None:
    """The first one alone, so that the others install from the proxy's cache instead of the archive again."""
    settings = options(sh)
    print(machine.provision(sh, wanted[0], True, settings))
    with ThreadPoolExecutor(max_workers=max(1, len(wanted) - 1)) as pool:
        for line in pool.map(lambda name: machine.provision(sh, name, True, settings), wanted[1:]):
            print(line)
