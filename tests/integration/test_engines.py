"""Engines the way Docker users name them, against real netns machines: a docker context over ssh://, a
TLS engine (DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, or a context's own material), and ~/.ssh/config aliases
(Port, User, IdentityFile, ProxyJump, ProxyCommand). Each test has its own machine, HOME and DOCKER_CONFIG:
the commands under test never see the real ~/.docker or ~/.ssh."""
import datetime
import ipaddress
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

import docker
import pytest

from helpers import ROOT, SUFFIX, assert_one_line_error, free_port, wait_for


@pytest.fixture
def box(project, tmp_path):
    """A netns machine of the test's own, in a project whose HOME and DOCKER_CONFIG are the test's; the
    machine is removed afterwards, also when the test failed."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    project.home, project.docker_config = home, tmp_path / "docker-config"
    project.machines_dir = tmp_path / "machines"
    project.extra_env = {"MACHINES_DIR": str(project.machines_dir), "HOME": str(home),
                         "DOCKER_CONFIG": str(project.docker_config), "DOCKER_HOST": "", "DOCKER_CONTEXT": "",
                         "DOCKER_TLS_VERIFY": "", "DOCKER_CERT_PATH": ""}
    project.add_service("quotes-service", port=8080)  # swarm.* read the project's config
    name = f"e{SUFFIX}{os.urandom(2).hex()}"
    try:
        project.inv("machine.create", name, "--driver", "netns")
        project.machine = json.loads((project.machines_dir / name / "machine.json").read_text())
        yield project
    finally:
        removed = project.inv("machine.rm", name, check=False)
        assert removed.returncode == 0, removed.output
        assert f"goswarm-{name}" not in subprocess.run(["ip", "netns", "list"], capture_output=True,
                                                        text=True).stdout


def docker_cli(project, *args) -> str:
    """The docker CLI with the test's own DOCKER_CONFIG."""
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "HOME": str(project.home), "DOCKER_CONFIG": str(project.docker_config)})
    assert result.returncode == 0, result.stderr
    return result.stdout


def node_row(status: str, address: str) -> str:
    rows = [line for line in status.splitlines() if f" {address} " in line]
    assert len(rows) == 1, status
    return rows[0]


def stop(process: subprocess.Popen, timeout: float) -> None:
    """A daemon this test started: SIGTERM, and SIGKILL if it has not gone within `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def assert_untouched(engine, address: str) -> None:
    """The host's own engine never saw the command: it has no node at the machine's address."""
    assert address not in [n["Status"].get("Addr") for n in engine.api.nodes()]


# --- a) a docker context that points at a machine over ssh:// -------------------------------------------

def test_a_docker_context_chooses_the_engine(box, engine):
    address, name = box.machine["host"], box.machine["name"]
    context = f"gs-{name}"
    docker_cli(box, "context", "create", context, "--docker", f"host=ssh://root@{address}")

    init = box.inv("swarm.init", "--advertise-addr", address, env={"DOCKER_CONTEXT": context})
    assert "swarm: initialised" in init.output
    status = box.inv("swarm.status", env={"DOCKER_CONTEXT": context}).output
    assert node_row(status, address).startswith(f"{name}  manager  active")
    assert_untouched(engine, address)

    docker_cli(box, "context", "use", context)
    assert json.loads((box.docker_config / "config.json").read_text())["currentContext"] == context
    assert "swarm: already active, no change" in box.inv("swarm.init", "--advertise-addr", address).output
    assert node_row(box.inv("swarm.status").output, address).startswith(name)

    overruled = box.inv("swarm.status", env={"DOCKER_HOST": "unix:///tmp/no-such-engine.sock"}, check=False)
    assert_one_line_error(overruled, "cannot reach the Docker engine at unix:///tmp/no-such-engine.sock:",
                          "fix DOCKER_HOST")

    unknown = box.inv("swarm.status", env={"DOCKER_CONTEXT": "nope"}, check=False)
    assert_one_line_error(unknown, f"docker context 'nope' (from DOCKER_CONTEXT) does not exist; contexts: "
                                   f"default, {context}")

    port = free_port()
    docker_cli(box, "context", "create", "silent", "--docker", f"host=tcp://127.0.0.1:{port}")
    silent = box.inv("swarm.status", env={"DOCKER_CONTEXT": "silent"}, check=False)
    assert_one_line_error(silent, f"cannot reach the Docker engine at tcp://127.0.0.1:{port} (docker context "
                                  f"'silent', from DOCKER_CONTEXT): connection refused", "docker context use")


# --- b) a TLS engine -------------------------------------------------------------------------------------

def certificates(directory: Path, address: str) -> dict:
    """A CA, a server certificate for `address` and a client certificate, with the cryptography package, and a
    second CA. Returns the server's directory and those DOCKER_CERT_PATH can name."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def issue(subject, key, issuer, issuer_key, ca=False, usage=None, ip=None):
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if ca:
            builder = builder.add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False),
                                            critical=True)
        if usage:
            builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        if ip:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]),
                                            critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    def name(common):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    def write(path: Path, cert=None, key=None):
        path.parent.mkdir(parents=True, exist_ok=True)
        data = cert.public_bytes(serialization.Encoding.PEM) if cert else key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        path.write_bytes(data)
        path.chmod(0o600)

    keys = {k: ec.generate_private_key(ec.SECP256R1()) for k in ("ca", "server", "client", "other")}
    ca = issue(name("goswarm test CA"), keys["ca"], name("goswarm test CA"), keys["ca"], ca=True)
    other = issue(name("another CA"), keys["other"], name("another CA"), keys["other"], ca=True)
    server = issue(name(address), keys["server"], ca.subject, keys["ca"], usage=ExtendedKeyUsageOID.SERVER_AUTH,
                   ip=address)
    client = issue(name("client"), keys["client"], ca.subject, keys["ca"], usage=ExtendedKeyUsageOID.CLIENT_AUTH)
    stranger = issue(name("client"), keys["client"], other.subject, keys["other"],
                     usage=ExtendedKeyUsageOID.CLIENT_AUTH)
    write(directory / "server" / "ca.pem", ca)
    write(directory / "server" / "cert.pem", server)
    write(directory / "server" / "key.pem", key=keys["server"])
    # what DOCKER_CERT_PATH can name: the right files; a CA that signed nothing here; no client certificate;
    # a client certificate that another CA signed
    for where, authority, cert in (("client", ca, client), ("wrong-ca", other, client), ("no-cert", ca, None),
                                   ("stranger", ca, stranger)):
        write(directory / where / "ca.pem", authority)
        write(directory / where / "key.pem", key=keys["client"])
        if cert:
            write(directory / where / "cert.pem", cert)
    return {where: directory / where for where in ("server", "client", "wrong-ca", "no-cert", "stranger")}


def answers_tls(address: str, port: int, client: Path) -> bool:
    """The engine's /_ping over TLS with the client's certificate (the test's own check, without docker-py)."""
    context = ssl.create_default_context(cafile=str(client / "ca.pem"))
    context.load_cert_chain(str(client / "cert.pem"), str(client / "key.pem"))
    with socket.create_connection((address, port), timeout=2) as raw, \
            context.wrap_socket(raw, server_hostname=address) as tls:
        tls.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
        return tls.recv(64).split(b" ")[1:2] == [b"200"]


@pytest.fixture
def tls_engine(box, tmp_path):
    """A second dockerd in the machine's namespace that listens only on tcp://ADDRESS:2376 with --tlsverify;
    stopped, and its state removed, afterwards."""
    from goswarm.io import netns

    address, name = box.machine["host"], box.machine["name"]
    dirs = certificates(tmp_path / "certs", address)
    tag = f"goswarm-it-tls-{SUFFIX}-{name}"
    state, data_root, exec_root = tmp_path / "tls-engine", Path(f"/var/lib/{tag}"), Path(f"/run/{tag}")
    state.mkdir()
    major = netns.docker_major(subprocess.run(["dockerd", "--version"], capture_output=True, text=True).stdout)
    (state / "daemon.json").write_text(json.dumps(netns.daemon_config(state, major)))
    server = dirs["server"]
    argv = ["nsenter", f"--net=/run/netns/goswarm-{name}", "dockerd", "--config-file", str(state / "daemon.json"),
            "-H", f"tcp://{address}:2376", "--tlsverify", "--tlscacert", str(server / "ca.pem"),
            "--tlscert", str(server / "cert.pem"), "--tlskey", str(server / "key.pem"),
            "--data-root", str(data_root), "--exec-root", str(exec_root), "--pidfile", str(state / "docker.pid"),
            "--bridge", "none", "--iptables=false", "--cgroup-parent", f"/{tag}", "--containerd-namespace", tag,
            "--containerd-plugins-namespace", f"{tag}p"]
    with open(state / "dockerd.log", "wb") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for(lambda: process.poll() is None and answers_tls(address, 2376, dirs["client"]), 60,
                 f"the TLS engine (log: {state / 'dockerd.log'})")
        yield dirs
    finally:
        stop(process, 30)  # dockerd stops the containerd it started
        containerd = exec_root / "containerd" / "containerd.pid"
        if containerd.exists():
            try:
                os.kill(int(containerd.read_text()), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        for point in netns.mounts_under(Path("/proc/self/mountinfo").read_text(), [data_root, exec_root]):
            subprocess.run(["umount", "-l", point], check=False)
        shutil.rmtree(data_root, ignore_errors=True)
        shutil.rmtree(exec_root, ignore_errors=True)


def test_a_tls_engine_with_docker_tls_verify_and_docker_cert_path(box, tls_engine, engine):
    address = box.machine["host"]
    host = f"tcp://{address}:2376"
    tls = {"DOCKER_HOST": host, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(tls_engine["client"])}

    init = box.inv("swarm.init", "--advertise-addr", address, env=tls)
    assert "swarm: initialised" in init.output
    assert node_row(box.inv("swarm.status", env=tls).output, address)
    assert_untouched(engine, address)

    wrong_ca = box.inv("swarm.status", env={**tls, "DOCKER_CERT_PATH": str(tls_engine["wrong-ca"])}, check=False)
    assert_one_line_error(wrong_ca, f"cannot trust the Docker engine at {host}: the engine's certificate is not "
                                    f"signed by the CA in DOCKER_CERT_PATH ({tls_engine['wrong-ca'] / 'ca.pem'})")

    stranger = box.inv("swarm.status", env={**tls, "DOCKER_CERT_PATH": str(tls_engine["stranger"])}, check=False)
    assert_one_line_error(stranger, f"cannot trust the Docker engine at {host}: the engine refused our client "
                                    f"certificate ({tls_engine['stranger'] / 'cert.pem'}, from DOCKER_CERT_PATH)")

    no_cert = box.inv("swarm.status", env={**tls, "DOCKER_CERT_PATH": str(tls_engine["no-cert"])}, check=False)
    assert_one_line_error(no_cert, f"DOCKER_CERT_PATH {tls_engine['no-cert']} has no cert.pem")

    plain = box.inv("swarm.status", env={"DOCKER_HOST": host}, check=False)
    assert_one_line_error(plain, f"cannot reach the Docker engine at {host}: it speaks TLS; set DOCKER_TLS_VERIFY=1")

    client = tls_engine["client"]
    docker_cli(box, "context", "create", "tls", "--docker",
               f"host={host},ca={client / 'ca.pem'},cert={client / 'cert.pem'},key={client / 'key.pem'}")
    assert node_row(box.inv("swarm.status", env={"DOCKER_CONTEXT": "tls"}).output, address)


# --- c) ~/.ssh/config aliases ----------------------------------------------------------------------------

@pytest.fixture
def alias_host(box):
    """A user of the test's own, and an sshd of its own in the machine's namespace on another port (on the
    machine's address and on its loopback, which only a jump host reaches), whose sessions talk to the
    machine's engine. All of it goes afterwards."""
    import grp

    try:
        grp.getgrnam("docker")
    except KeyError:
        pytest.fail("the docker group does not exist (the docker.io package makes it): the test user needs it")
    name, address = box.machine["name"], box.machine["host"]
    user, port = f"gsit{SUFFIX}", free_port()  # nothing on the host's loopback has that port
    place = Path(tempfile.mkdtemp(prefix="goswarm-it-ssh-"))  # the user reads its authorized_keys here
    place.chmod(0o755)
    process = None
    try:
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(place / "host_key")], check=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(place / "id_user")], check=True)
        (place / "authorized_keys").write_text((place / "id_user.pub").read_text())
        (place / "authorized_keys").chmod(0o644)
        # '*' rather than useradd's locked '!': sshd without PAM refuses a locked account even for a key.
        subprocess.run(["useradd", "-M", "-N", "-g", "docker", "-d", str(place), "-s", "/bin/sh", "-p", "*", user],
                       check=True)
        os.chmod(f"/run/goswarm-{name}", 0o711)  # the machine's engine socket is in there (root:docker 0660)
        (place / "sshd_config").write_text("\n".join([
            f"ListenAddress {address}:{port}", f"ListenAddress 127.0.0.1:{port}", f"HostKey {place / 'host_key'}",
            f"PidFile {place / 'sshd.pid'}", f"AuthorizedKeysFile {place / 'authorized_keys'}", f"AllowUsers {user}",
            "PasswordAuthentication no", "KbdInteractiveAuthentication no", "UsePAM no", "StrictModes no",
            f"SetEnv DOCKER_HOST=unix:///run/goswarm-{name}/docker.sock", ""]))
        process = subprocess.Popen(["nsenter", f"--net=/run/netns/goswarm-{name}", "/usr/sbin/sshd", "-D", "-f",
                                    str(place / "sshd_config"), "-E", str(place / "sshd.log")],
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        wait_for(lambda: process.poll() is None and socket.create_connection((address, port), timeout=1).close()
                 is None, 20, f"the test's sshd on {address}:{port}")
        yield {"user": user, "port": port, "key": place / "id_user", "place": place}
    finally:
        if process is not None:
            stop(process, 10)
        subprocess.run(["userdel", user], check=False, capture_output=True)
        shutil.rmtree(place, ignore_errors=True)


def inv_without_dns(project, *args, env=None) -> subprocess.CompletedProcess:
    """`inv ARGS` where names resolve from /etc/hosts only (a mount namespace of its own, with an nsswitch.conf
    that has no dns): a name nothing knows fails at once, and no query leaves the machine."""
    nsswitch = project.tmp / "nsswitch.conf"
    nsswitch.write_text("hosts: files\n")
    argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
            'mount --bind "$0" /etc/nsswitch.conf && exec "$@"', str(nsswitch), *project.argv(*args)]
    result = subprocess.run(argv, cwd=ROOT, env=project.environ(env), capture_output=True, text=True, timeout=120,
                            stdin=subprocess.DEVNULL)
    result.output = result.stdout + result.stderr
    return result


def test_ssh_config_aliases_reach_machines_and_engines(box, alias_host, engine):
    address, machine_key = box.machine["host"], box.machine["key"]
    user, port, key = alias_host["user"], alias_host["port"], alias_host["key"]
    known_hosts = box.machines_dir / "known_hosts"
    proxy = (f"ssh -F {box.home}/.ssh/config -o BatchMode=yes -o StrictHostKeyChecking=yes "
             f"-o UserKnownHostsFile={known_hosts} -W %h:%p gs-jump")  # OpenSSH, through the machine's sshd
    (box.home / ".ssh" / "config").write_text(f"""
Host gs-box
  HostName {address}
  Port {port}
  User {user}
  IdentityFile {key}

Host gs-jump
  HostName {address}
  User root
  IdentityFile {machine_key}

Host gs-inner
  HostName 127.0.0.1
  Port {port}
  User {user}
  IdentityFile {key}
  ProxyJump gs-jump

Host gs-piped
  HostName 127.0.0.1
  Port {port}
  User {user}
  IdentityFile {key}
  ProxyCommand {proxy}

Host gs-lost
  HostName gs-nowhere.invalid
""")

    unknown = box.inv("machine.create", "box", "--host", "gs-box", check=False)
    assert_one_line_error(unknown, f"ssh {user}@[{address}]:{port} (gs-box): the host key is unknown",
                          "--accept-new-host-key")
    created = box.inv("machine.create", "box", "--host", "gs-box", "--accept-new-host-key")
    assert f"accepted new host key for [{address}]:{port}" in created.output
    assert f"machine box: created (ssh, {user}@{address})" in created.output
    assert box.inv("machine.ssh", "box", "--", "id -un").output.strip() == user
    assert box.inv("machine.env", "box").output.startswith(f"export DOCKER_HOST=ssh://{user}@gs-box:{port}\n")
    listing = box.inv("machine.ls").output
    assert " yes " in next(line for line in listing.splitlines() if line.startswith("box "))

    over_alias = {"DOCKER_HOST": "ssh://gs-box"}
    assert "swarm: initialised" in box.inv("swarm.init", "--advertise-addr", address, env=over_alias).output
    assert node_row(box.inv("swarm.status", env=over_alias).output, address)
    assert_untouched(engine, address)

    flags_win = box.inv("machine.create", "box2", "--host", "gs-box", "--port", "22", "--user", "root",
                        "--key", machine_key)
    assert f"machine box2: created (ssh, root@{address})" in flags_win.output
    assert box.inv("machine.ssh", "box2", "--", "id -un").output.strip() == "root"

    with pytest.raises(ConnectionRefusedError):  # the inner address is only there for the jump host
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    inner = box.inv("machine.create", "inner", "--host", "gs-inner", "--accept-new-host-key")
    assert f"accepted new host key for [127.0.0.1]:{port}" in inner.output
    assert box.inv("machine.ssh", "inner", "--", "id -un").output.strip() == user
    for alias in ("gs-inner", "gs-piped"):
        assert node_row(box.inv("swarm.status", env={"DOCKER_HOST": f"ssh://{alias}"}).output, address)

    for alias, words in (("gs-nowhere", f"gs-nowhere is not a Host in {box.home}/.ssh/config, and it does not "
                                        f"resolve"),
                         ("gs-lost", "its HostName gs-nowhere.invalid does not resolve")):
        lost = inv_without_dns(box, "swarm.status", env={"DOCKER_HOST": f"ssh://{alias}"})
        assert_one_line_error(lost, f"cannot reach the Docker engine at ssh://{alias}:", words)


# --- d) an engine that was killed (a reboot) ---------------------------------------------------------------

def power_cut(name: str) -> None:
    """Kill the machine's engine, its containerd and shims and every container process at once, as a reboot
    does; its sshd stays, as it would come back with the machine."""
    from goswarm.io import netns

    doomed = {p for p in netns._leftover_processes(name) + netns._container_processes(name)
              if (netns._program(p) or ("sshd",))[0] != "sshd"}
    assert doomed and not netns._kill_and_wait(sorted(doomed), 20)


def test_a_service_whose_tasks_three_engine_restarts_ended_redeploys_as_usual(box):
    """A killed engine ends each task it ran with "non-zero exit (255)". Three such restarts after a rollout
    completed are no failed rollout: `redeploy` once called the service stuck and rolled it back (CI found
    this on a machine whose engine had been killed three times)."""
    from goswarm.plan import converge

    address, name = box.machine["host"], box.machine["name"]
    here = {"DOCKER_HOST": f"unix://{box.machine['extras']['socket']}"}
    box.inv("swarm.init", "--advertise-addr", address, env=here)
    service = next(iter(box.config["services"]))
    box.inv("redeploy", "--service", service, env=here)
    box.inv("redeploy", "--service", service, "--force", env=here)  # an update that completed, as most are
    client = docker.DockerClient(base_url=here["DOCKER_HOST"])

    def tasks() -> list:
        return client.api.tasks(filters={"service": service})

    def failed() -> list:
        return [t for t in tasks() if t["Status"]["State"] == "failed"]

    cuts = 0
    while len(failed()) < converge.CRASH_LIMIT:  # a cut ends the running task as "failed" most times, not always
        assert cuts < 2 * converge.CRASH_LIMIT, [(t["Status"]["State"], t["Status"].get("Err")) for t in tasks()]
        running = {t["ID"] for t in tasks() if t["Status"]["State"] == "running"}
        power_cut(name)
        cuts += 1
        assert "Docker engine started" in box.inv("machine.provision", name).output
        seen, deadline = [], time.monotonic() + 120
        while not any(t["ID"] not in running and t["Status"]["State"] == "running" for t in seen):
            assert time.monotonic() < deadline, f"no new task of {service} runs after power cut {cuts}: {seen}"
            time.sleep(0.5)
            try:
                seen = tasks()
            except docker.errors.DockerException:  # the engine is still starting
                seen = []
    assert {t["Status"].get("Err") for t in failed()} == {"task: non-zero exit (255)"}

    again = box.inv("redeploy", "--service", service, env=here, check=False)
    assert again.returncode == 0, again.output
    assert "not settled" not in again.output and "rolled back" not in again.output, again.output
    assert client.api.inspect_service(service)["UpdateStatus"]["State"] == "completed"
