"""Machines to run a swarm on (ssh, netns, virtualbox), each reached over SSH: make, list, remove."""
import shlex
from concurrent.futures import ThreadPoolExecutor

from goswarm.errors import PipelineError
from goswarm.io import aptproxy, drivers, engine, machines, ssh
from goswarm.plan import output, report


def create(sh, name, driver="ssh", host=None, user=None, key=None, port=None, address=None,
           accept_new=False, image=None) -> machines.Machine:
    """Record a machine and check that it answers over SSH (netns and virtualbox: create it first)."""
    machines.check_name(name)
    if machines.exists(name):
        existing = machines.read(name)
        print(f"machine {name}: exists ({existing.driver}, {existing.host}), no change")
        return existing
    machine = drivers.get(driver).create(sh, name, host=host, user=user, key=key, port=port, address=address,
                                         accept_new=accept_new, image=image)
    if not sh.dry:
        machines.save(machine)
        print(f"machine {name}: created ({machine.driver}, {machine.user}@{machine.host})")
    return machine


def provisioning(apt_proxy=None, insecure=None, mirrors=None) -> drivers.Provisioning:
    """Checked before anything is done on the host: a bad flag changes nothing."""
    from goswarm.plan import provision as plan

    return drivers.Provisioning(plan.check_url("--apt-proxy", apt_proxy) if apt_proxy else "",
                                tuple(plan.check_registry(r) for r in plan.split_list(insecure)),
                                tuple(plan.check_url("--registry-mirror", m) for m in plan.split_list(mirrors)))


def provision(sh, name: str, install: bool = False, options: drivers.Provisioning = None) -> str:
    machine = machines.read(name)
    return drivers.get(machine.driver).provision(sh, machine, install, options)


def image(sh, output: str, with_docker: bool = False) -> str:
    from pathlib import Path

    from goswarm.io import qemu

    return qemu.build_image(sh, Path(output), with_docker)


def power(sh, name: str, on: bool) -> str:
    """machine.start / machine.stop: drivers that own the machine can; an ssh host is not ours to switch."""
    machine = machines.read(name)
    driver = drivers.get(machine.driver)
    if not hasattr(driver, "start"):
        raise PipelineError(f"{name}: the {machine.driver} driver cannot start or stop a machine")
    return driver.start(sh, machine) if on else driver.stop(sh, machine)


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


HEADERS = ("NAME", "DRIVER", "ADDRESS", "REACHABLE", "ENGINE", "ROLE", "SWARM")


def listing(as_json: bool = False) -> str:
    known = machines.all_machines()
    with ThreadPoolExecutor(max_workers=max(1, len(known))) as pool:
        rows = list(pool.map(describe, known))
    return report.dumps(report.records(rows, HEADERS)) if as_json else output.table(rows, HEADERS)


def env_lines(name: str, command: str = "goswarm") -> list:
    """What `eval $(goswarm machine.env NAME)` runs, as `docker-machine env` printed it."""
    machine = machines.read(name)
    lines = [f"export DOCKER_HOST={machine.url}",
             f"# run this command to configure your shell: eval $({command} machine.env {name})"]
    # goswarm uses the machine's key and .machines/known_hosts by itself; the docker CLI runs OpenSSH, which does not.
    if machine.key:
        lines.append(f"# for the docker CLI as well: ssh-add {shlex.quote(machine.key)}")
    entry = ssh.host_entry(machine.host, machine.port)
    if ssh.known_hosts().exists() and any(line.startswith(entry + " ")
                                          for line in ssh.known_hosts().read_text().splitlines()):
        known = shlex.quote(str(ssh.known_hosts()))
        # awk compares the host field as text: in a grep pattern, [host]:port would be a bracket expression
        lines.append(f"# and its host key: awk '$1 == \"{entry}\"' {known} >> ~/.ssh/known_hosts")
    return lines


def run_command(name: str, command: str) -> tuple:
    """(exit code, stdout, stderr) of one command on the machine."""
    machine = machines.read(name)
    client = ssh.connect(machine.ssh_host, machine.port, machine.user, machine.key)
    try:
        return ssh.run(client, command)
    finally:
        client.close()


def shell_argv(name: str) -> list:
    """An interactive OpenSSH session on the machine, with the project's known_hosts; the host key is checked
    by our own client first, so a changed or unknown key is refused before ssh starts."""
    machine = machines.read(name)
    ssh.connect(machine.ssh_host, machine.port, machine.user, machine.key).close()
    return (["ssh", "-p", str(machine.port), "-o", f"UserKnownHostsFile=~/.ssh/known_hosts {ssh.known_hosts()}",
             "-o", "StrictHostKeyChecking=yes"] + (["-i", machine.key] if machine.key else [])
            + [f"{machine.user}@{machine.ssh_host}"])


def remove(sh, machine) -> str:
    """Everything the machine's driver made, then its record."""
    engine.forget_clients()  # a client to this machine would outlive it
    sh.act(f"remove machine {machine.name} ({machine.driver}, {machine.host})",
           drivers.get(machine.driver).remove, sh, machine)
    if not sh.dry:
        machines.delete(machine.name)
        if machine.driver in ("netns", "rootfs", "qemu"):  # the lab bridge may have gone with it
            aptproxy.stop_without_bridge(sh)
    return machine.name
