"""machine: hosts to run a swarm on (ssh, netns, virtualbox), each reached over SSH."""
import os
import sys

from invoke import Collection

from goswarm import settings
from goswarm.errors import PipelineError
from goswarm.io.shell import Shell
from goswarm.tasks.base import JSON_HELP, task


@task(help={"name": "The machine's name.",
            "driver": "ssh (an existing host), netns or rootfs (local, Linux, root), qemu or virtualbox.",
            "host": "ssh: the host's address, or a Host alias from ~/.ssh/config.",
            "user": "ssh: the login user (default: ~/.ssh/config's, else root).",
            "key": "ssh: the private key (default: ~/.ssh/config's IdentityFile, the agent and ~/.ssh/id_*).",
            "port": "ssh: the port (default: ~/.ssh/config's, else 22).",
            "address": "netns, rootfs, qemu: the address on the lab bridge (default: the next free 10.77.0.x).",
            "image": "qemu: the disk image to boot (made by machine.image).",
            "accept_new_host_key": "Trust the host key if none is recorded yet (a changed key is always refused)."})
def create(c, name, driver="ssh", host=None, user=None, key=None, port=None, address=None,
           accept_new_host_key=False, image=None):
    """Record a machine and check that it answers over SSH (netns, rootfs, qemu, virtualbox: create it first)."""
    from goswarm.ops import machine as ops

    port = settings.whole_number("--port", port) if port is not None else None
    ops.create(Shell.of(c), name, driver, host, user, key, port, address, accept_new_host_key, image)


@task(help={"name": "The machine.", "install": "Install Docker with the distribution's packages when it is missing.",
            "apt_proxy": "With --install: apt's HTTP proxy on the machine, e.g. http://10.77.0.1:3142.",
            "insecure_registry": "Registries the engine may use over plain HTTP (HOST:PORT or CIDR, comma-separated).",
            "registry_mirror": "Registry mirrors for the engine (URLs, comma-separated)."})
def provision(c, name, install=False, apt_proxy=None, insecure_registry=None, registry_mirror=None):
    """Make sure the machine's Docker engine is installed, configured and running (idempotent)."""
    from goswarm.ops import machine as ops

    options = ops.provisioning(apt_proxy, insecure_registry, registry_mirror)
    print(ops.provision(Shell.of(c), name, install, options))


@task(help={"output": "The image file to write (a raw ext4 disk, about 1 GB used of 4 GB, sparse).",
            "with_docker": "Install docker.io in the image too (for slow emulated VMs; provisioning then finds it)."})
def image(c, output, with_docker=False):
    """Make a Debian cloud image for the qemu driver: debootstrap, a Debian kernel and cloud-init."""
    from goswarm.ops import machine as ops

    print(ops.image(Shell.of(c), output, with_docker))


@task(help={"name": "The machine."})
def start(c, name):
    """Boot a stopped machine (rootfs, qemu)."""
    from goswarm.ops import machine as ops

    print(ops.power(Shell.of(c), name, True))


@task(help={"name": "The machine."})
def stop(c, name):
    """Stop a machine (rootfs, qemu); its disk stays for machine.start."""
    from goswarm.ops import machine as ops

    print(ops.power(Shell.of(c), name, False))


@task(help={"json": JSON_HELP})
def ls(c, json=False):
    """List machines: driver, address, reachable, engine version, swarm role and state."""
    from goswarm.ops import machine as ops

    print(ops.listing(json))


@task(help={"name": "The machine."})
def ip(c, name):
    """Print the machine's address."""
    from goswarm.io import machines

    print(machines.read(name).host)


@task(help={"name": "The machine."})
def env(c, name):
    """Print `export DOCKER_HOST=ssh://…` for eval, as `docker-machine env` did."""
    from goswarm.ops import machine as ops

    print("\n".join(ops.env_lines(name, os.path.basename(sys.argv[0]) or "goswarm")))


@task(name="ssh", help={"name": "The machine. Give a command after `--` to run it instead of a shell."})
def ssh_(c, name):
    """Open a shell on the machine, or run the command given after `--`."""
    from goswarm.ops import machine as ops

    if c.remainder:
        code, out, err = ops.run_command(name, c.remainder)
        print(out, end="")
        print(err, end="", file=sys.stderr)
        if code:
            raise PipelineError(f"`{c.remainder}` exited {code} on {name}")
        return
    argv = ops.shell_argv(name)
    os.execvp(argv[0], argv)


@task(help={"name": "The machine."})
def rm(c, name):
    """Remove the machine and everything its driver created (processes, links, namespace, state)."""
    from goswarm.io import machines
    from goswarm.ops import machine as ops

    if not machines.exists(name):
        print(f"machine {name}: does not exist, no change")
        return
    ops.remove(Shell.of(c), machines.read(name))


ns = Collection("machine")
for t in (create, provision, image, start, stop, ls, ip, env, ssh_, rm):
    ns.add_task(t)
