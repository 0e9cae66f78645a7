"""machine: hosts to run a swarm on (ssh, netns, virtualbox), each reached over SSH."""
import os
import shlex
import sys
from concurrent.futures import ThreadPoolExecutor

from invoke import Collection

from tasks import drivers, engine, machines, output, ssh
from tasks.errors import PipelineError, task


@task(help={"name": "The machine's name.",
            "driver": "ssh (an existing host), netns (local, Linux, root) or virtualbox.",
            "host": "ssh: the host's address.", "user": "ssh: the login user (default root).",
            "key": "ssh: the private key (default: the agent and ~/.ssh/id_*).", "port": "ssh: the port (default 22).",
            "address": "netns: the address on the lab bridge (default: the next free 10.77.0.x).",
            "accept_new_host_key": "Trust the host key if none is recorded yet (a changed key is always refused)."})
def create(c, name, driver="ssh", host=None, user=None, key=None, port=None, address=None,
           accept_new_host_key=False):
    """Record a machine and check that it answers over SSH (netns and virtualbox: create it first)."""
    machines.check_name(name)
    if machines.exists(name):
        existing = machines.load(name)
        print(f"machine {name}: exists ({existing.driver}, {existing.host}), no change")
        return existing
    machine = drivers.get(driver).create(c, name, host=host, user=user, key=key, port=port, address=address,
                                         accept_new=accept_new_host_key)
    if not output.is_dry(c):
        machines.save(machine)
        print(f"machine {name}: created ({machine.driver}, {machine.user}@{machine.host})")
    return machine


@task(help={"name": "The machine.", "install": "Install Docker with the distribution's packages when it is missing."})
def provision(c, name, install=False):
    """Make sure the machine's Docker engine is installed and running (idempotent)."""
    machine = machines.load(name)
    print(drivers.get(machine.driver).provision(c, machine, install))


def describe(machine) -> tuple:
    """One row of machine.ls; an unreachable machine is a row, not an error."""
    try:
        info = engine.client(machine.url).info()
        state = info.get("Swarm", {})
        role = "manager" if state.get("ControlAvailable") else ("worker" if state.get("NodeID") else "-")
        return (machine.name, machine.driver, machine.host, "yes", info.get("ServerVersion", "?"), role,
                state.get("LocalNodeState", "?"))
    except PipelineError as e:
        return (machine.name, machine.driver, machine.host, "no", "-", "-", str(e).split(": ", 1)[-1][:60])


@task
def ls(c):
    """List machines: driver, address, reachable, engine version, swarm role and state."""
    known = machines.all_machines()
    with ThreadPoolExecutor(max_workers=max(1, len(known))) as pool:
        rows = list(pool.map(describe, known))
    print(output.table(rows, ("NAME", "DRIVER", "ADDRESS", "REACHABLE", "ENGINE", "ROLE", "SWARM")))


@task(help={"name": "The machine."})
def ip(c, name):
    """Print the machine's address."""
    print(machines.load(name).host)


@task(help={"name": "The machine."})
def env(c, name):
    """Print `export DOCKER_HOST=ssh://…` for eval, as `docker-machine env` did."""
    machine = machines.load(name)
    print(f"export DOCKER_HOST={machine.url}")
    print(f"# run this command to configure your shell: eval $(inv machine.env {name})")
    # inv uses the machine's key and .machines/known_hosts by itself; the docker CLI runs OpenSSH, which does not.
    if machine.key:
        print(f"# for the docker CLI as well: ssh-add {shlex.quote(machine.key)}")
    entry = ssh.host_entry(machine.host, machine.port)
    if ssh.known_hosts().exists() and any(line.startswith(entry + " ")
                                          for line in ssh.known_hosts().read_text().splitlines()):
        print(f"# and its host key: grep '^{entry} ' {shlex.quote(str(ssh.known_hosts()))} >> ~/.ssh/known_hosts")


@task(help={"name": "The machine. Give a command after `--` to run it instead of a shell."})
def ssh_(c, name):
    """Open a shell on the machine, or run the command given after `--`."""
    machine = machines.load(name)
    if c.remainder:
        client = ssh.connect(machine.host, machine.port, machine.user, machine.key)
        code, out, err = ssh.run(client, c.remainder)
        client.close()
        print(out, end="")
        print(err, end="", file=sys.stderr)
        if code:
            raise PipelineError(f"`{c.remainder}` exited {code} on {name}")
        return
    ssh.connect(machine.host, machine.port, machine.user, machine.key).close()  # checks the host key first
    args = ["ssh", "-p", str(machine.port), "-o", f"UserKnownHostsFile=~/.ssh/known_hosts {ssh.known_hosts()}",
            "-o", "StrictHostKeyChecking=yes"] + (["-i", machine.key] if machine.key else [])
    os.execvp("ssh", args + [f"{machine.user}@{machine.host}"])


@task(help={"name": "The machine."})
def rm(c, name):
    """Remove the machine and everything its driver created (processes, links, namespace, state)."""
    if not machines.exists(name):
        print(f"machine {name}: does not exist, no change")
        return
    engine.client.cache_clear()  # a client to this machine would outlive it
    remove(c, machines.load(name))


def remove(c, machine) -> str:
    """Everything the machine's driver made, then its record."""
    output.act(c, f"remove machine {machine.name} ({machine.driver}, {machine.host})",
               drivers.get(machine.driver).remove, c, machine)
    if not output.is_dry(c):
        machines.delete(machine.name)
    return machine.name


ns = Collection("machine")
for t in (create, provision, ls, ip, env, rm):
    ns.add_task(t)
ns.add_task(ssh_, name="ssh")
DEFAULTS = {}
