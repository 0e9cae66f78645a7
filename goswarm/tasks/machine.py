"""machine: hosts to run a swarm on (ssh, netns, virtualbox), each reached over SSH."""
import os
import sys

from invoke import Collection

from goswarm import settings
from goswarm.errors import PipelineError
from goswarm.io.shell import Shell
from goswarm.tasks.base import JSON_HELP, lazy, task

# The library behind the tasks, imported when a task runs: `--list` and `--help` need none of it.
machines = lazy("goswarm.io.machines")
ops = lazy("goswarm.ops.machine")


@task(help={"name": "The machine's name.",
            "driver": "ssh (an existing host), netns (local, Linux, root) or virtualbox.",
            "host": "ssh: the host's address, or a Host alias from ~/.ssh/config.",
            "user": "ssh: the login user (default: ~/.ssh/config's, else root).",
            "key": "ssh: the private key (default: ~/.ssh/config's IdentityFile, the agent and ~/.ssh/id_*).",
            "port": "ssh: the port (default: ~/.ssh/config's, else 22).",
            "address": "netns: the address on the lab bridge (default: the next free 10.77.0.x).",
            "accept_new_host_key": "Trust the host key if none is recorded yet (a changed key is always refused)."})
def create(c, name, driver="ssh", host=None, user=None, key=None, port=None, address=None,
           accept_new_host_key=False):
    """Record a machine and check that it answers over SSH (netns and virtualbox: create it first)."""
    port = settings.whole_number("--port", port) if port is not None else None
    ops.create(Shell.of(c), name, driver, host, user, key, port, address, accept_new_host_key)


@task(help={"name": "The machine.", "install": "Install Docker with the distribution's packages when it is missing."})
def provision(c, name, install=False):
    """Make sure the machine's Docker engine is installed and running (idempotent)."""
    print(ops.provision(Shell.of(c), name, install))


@task(help={"json": JSON_HELP})
def ls(c, json=False):
    """List machines: driver, address, reachable, engine version, swarm role and state."""
    print(ops.listing(json))


@task(help={"name": "The machine."})
def ip(c, name):
    """Print the machine's address."""
    print(machines.load(name).host)


@task(help={"name": "The machine."})
def env(c, name):
    """Print `export DOCKER_HOST=ssh://…` for eval, as `docker-machine env` did."""
    print("\n".join(ops.env_lines(name, os.path.basename(sys.argv[0]) or "goswarm")))


@task(name="ssh", help={"name": "The machine. Give a command after `--` to run it instead of a shell."})
def ssh_(c, name):
    """Open a shell on the machine, or run the command given after `--`."""
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
    if not machines.exists(name):
        print(f"machine {name}: does not exist, no change")
        return
    ops.remove(Shell.of(c), machines.load(name))


ns = Collection("machine")
for t in (create, provision, ls, ip, env, ssh_, rm):
    ns.add_task(t)
