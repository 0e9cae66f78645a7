"""What the integration tests share: a throw-away project over the real tasks, a real registry, clients
that poll a service, and the checks every fault test makes."""
import contextlib
import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import docker
import pytest

ROOT = Path(__file__).resolve().parents[2]
SUFFIX = f"{os.getpid() % 100000}"
LOCKS = itertools.count(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception:
            pass
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


class Registry:
    """Debian's docker-registry on a free port, with its storage in `tmp`; it can be stopped and started
    again on the same port and storage. Never skipped: CI installs it."""

    def __init__(self, tmp: Path, listen: str):
        self.binary = shutil.which("docker-registry")
        if not self.binary:
            pytest.fail("docker-registry is not installed: `apt-get install docker-registry` (.ci/run does)")
        self.port = free_port()
        self.config = tmp / f"registry-{self.port}.yml"
        self.config.write_text(f"version: 0.1\nstorage:\n  filesystem:\n"
                               f"    rootdirectory: {tmp / f'registry-{self.port}'}\n"
                               f"http:\n  addr: {listen}:{self.port}\n")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([self.binary, "serve", str(self.config)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_for(lambda: http_get(f"http://127.0.0.1:{self.port}/v2/") is not None, 20, "the registry")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@contextlib.contextmanager
def running_registry(tmp: Path, listen: str):
    """A registry for the length of the block; yields its port."""
    registry = Registry(tmp, listen)
    registry.start()
    try:
        yield registry.port
    finally:
        registry.stop()


class CuttingProxy:
    """A TCP proxy on loopback in front of `port`. Once `cut_when(marker, action)` is armed, the first
    client request holding `marker` runs `action` (e.g. stop the registry behind it) and is cut off."""

    def __init__(self, port: int):
        self.target, self.marker, self.action = port, None, None
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def cut_when(self, marker: bytes, action):
        self.marker, self.action = marker, action

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target), timeout=5)
        except OSError:
            client.close()
            return
        threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()
        self._pipe(client, upstream, watch=True)

    def _pipe(self, source, sink, watch=False):
        try:
            while data := source.recv(65536):
                if watch and self.marker and self.marker in data:
                    action, self.marker = self.action, None
                    action()
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()

    def close(self):
        self.listener.close()


def httpget_image(engine, tmp: Path, tag: str) -> str:
    """A scratch image of tests/fixtures/httpget: a client for the overlay network, where there is no curl."""
    build = tmp / "httpget"
    subprocess.run(["go", "build", "-o", str(build / "httpget"), "."], cwd=ROOT / "tests" / "fixtures" / "httpget",
                   check=True, env={**os.environ, "CGO_ENABLED": "0"})
    (build / "Dockerfile").write_text('FROM scratch\nCOPY httpget /httpget\nENTRYPOINT ["/httpget"]\n')
    engine.images.build(path=str(build), tag=tag)
    return tag


def get_in_container(client, image: str, url: str, network: str):
    """GET from a one-off container on `network`: the body when it answers 2xx, None otherwise."""
    container = client.containers.run(image, [url], network=network, detach=True)
    try:
        ok = container.wait(timeout=30)["StatusCode"] == 0
        return container.logs(stdout=True, stderr=False).decode() if ok else None
    finally:
        container.remove(force=True)


def http_get(url: str, timeout: float = 2) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read().decode()


class Project:
    """A runtime config (-f) and .env of the test's own, over the real project's tasks."""

    def __init__(self, tmp: Path, engine):
        self.tmp = tmp
        self.engine = engine
        self.network = f"it-net-{SUFFIX}"
        self.lock = f"it-lock-{SUFFIX}-{next(LOCKS)}"  # its own deploy lock: projects may deploy side by side
        self.config = {
            "image": {"prefix": "it"},
            "build": {"dist": str(tmp / "dist")},
            "swarm": {"network": self.network, "state_dir": str(tmp / "swarm")},
            "deploy": {"timeout": 60, "lock": self.lock},
            "services": {},
        }
        self.env_file = tmp / ".env"
        self.env_file.write_text("MANAGER_IP=127.0.0.1\n")
        self.names = []
        self.extra_env = {}
        self.all_output = []  # everything every inv call printed, for the no-secrets checks

    def add_service(self, source: str, suffix: str = "", **fields) -> str:
        """Copy a sample service to the temp dir and configure it under a unique name (plus `suffix`, for a
        service of its own in a project that tests share)."""
        name = f"it{SUFFIX}-{source.split('-')[0]}{suffix}"
        if not (self.tmp / "src" / source).exists():
            shutil.copytree(ROOT / "services" / source, self.tmp / "src" / source)
        for made in (name, f"{name}-edge") if fields.get("publish_mode") == "edge" else (name,):
            if made not in self.names:  # cleanup() removes them
                self.names.append(made)
        # The samples answer GET /health; a test that means another check says so in `fields`.
        self.config["services"][name] = {"path": str(self.tmp / "src" / source), "healthcheck": {"http": "/health"},
                                          **fields}
        return name

    def source(self, source: str) -> Path:
        return self.tmp / "src" / source / "main.go"

    def environ(self, env=None) -> dict:
        """The environment of an inv run: this project's root and .env, over the test process's own."""
        return {**os.environ, "GOSWARM_ROOT": str(self.tmp), "ENV_FILE": str(self.env_file), **self.extra_env,
                **(env or {})}

    def argv(self, *args, dry=False) -> list:
        """`inv [--dry] -f <this project's config> ARGS`, with the config written out as it is now."""
        cfg = self.tmp / "it.json"
        cfg.write_text(json.dumps(self.config))
        return [sys.executable, "-m", "invoke", *(["--dry"] if dry else []), "-f", str(cfg), *args]

    def inv(self, *args, env=None, check=True, dry=False, timeout=300) -> subprocess.CompletedProcess:
        result = subprocess.run(self.argv(*args, dry=dry), cwd=ROOT, env=self.environ(env), capture_output=True,
                                text=True, stdin=subprocess.DEVNULL, timeout=timeout)
        result.output = result.stdout + result.stderr
        self.all_output.append(result.output)
        if check and result.returncode != 0:
            pytest.fail(f"inv {' '.join(args)} exited {result.returncode}:\n{result.output}")
        return result

    def service(self, name: str):
        try:
            return self.engine.api.inspect_service(name)
        except docker.errors.NotFound:
            return None

    def cleanup(self):
        for name in self.names:
            if self.service(name):
                self.engine.api.remove_service(name)
        for name in self.names:
            label = {"label": f"com.docker.swarm.service.name={name}"}
            wait_for(lambda label=label: not self.engine.containers.list(filters=label), 60,
                     f"{name}'s containers to stop")
        for net in self.engine.networks.list(names=[self.network]):
            if net.name == self.network:
                wait_for(lambda net=net: net.remove() is None, 30, f"removing network {self.network}")
        # The next test of this worker makes a network of the same name: this one must be gone by then, or its
        # swarm.init sees it (no change) just before it goes.
        wait_for(lambda: not [n for n in self.engine.networks.list(names=[self.network]) if n.name == self.network],
                 30, f"network {self.network} to go")


def assert_one_line_error(result, *fragments):
    """A user mistake: non-zero exit, a single `error:` line, no traceback."""
    assert result.returncode != 0, result.output
    assert "Traceback" not in result.output, result.output
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("error:"), result.output
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


def version(project, name) -> int:
    return project.service(name)["Version"]["Index"]


def running_image(project, name) -> str:
    return project.service(name)["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]


def edit(project, source: str, old: str, new: str):
    path = project.source(source)
    text = path.read_text()
    assert old in text, f"{old!r} is not in {path}"
    path.write_text(text.replace(old, new, 1))


class Poller:
    """A client that GETs a URL every `every` seconds for as long as it runs, and keeps every answer
    (a non-2xx answer or a failed request as "failed: why")."""

    def __init__(self, url: str, every: float = 0.02):
        self.url, self.every, self.answers, self._stop = url, every, [], threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                with urllib.request.urlopen(self.url, timeout=2) as response:
                    self.answers.append(response.read().decode())
            except (urllib.error.URLError, OSError) as e:
                self.answers.append(f"failed: {e}")
            self._stop.wait(self.every)

    @property
    def failures(self) -> list:
        return [a for a in self.answers if a.startswith("failed:")]

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)


def processes_naming(text: str) -> list:
    """The pids whose command line (its arguments joined by spaces) holds `text`; a process that exits while
    /proc is read is skipped."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            if text in Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                found.append(int(entry))
        except OSError:
            pass
    return found


def start_inv(project, *args) -> subprocess.Popen:
    """`inv ARGS` in the background, with the project's config (as Project.inv runs it)."""
    return subprocess.Popen(project.argv(*args), cwd=ROOT, env=project.environ(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL)


def read_until(proc: subprocess.Popen, marker: str, timeout: float) -> str:
    """Read the process's output until a line holds `marker`; everything read so far is returned."""
    seen = []
    deadline = time.monotonic() + timeout
    for line in proc.stdout:
        seen.append(line)
        if marker in line:
            return "".join(seen)
        if time.monotonic() > deadline:
            break
    proc.kill()
    pytest.fail(f"never saw {marker!r}:\n{''.join(seen)}")


def lab_project(tmp: Path, engine, prefix: str) -> "Project":
    """A project whose swarm is the 3-machine netns lab `prefix` (manager `prefix-1`), its machine records
    under tmp. lab_up() brings the lab up and down."""
    project = Project(tmp, engine)
    project.machines_dir = tmp / "machines"
    project.extra_env = {"MACHINES_DIR": str(project.machines_dir)}
    project.config["lab"] = {"prefix": prefix, "nodes": 3}
    project.config["swarm"]["manager"] = f"{prefix}-1"
    return project


@contextlib.contextmanager
def lab_up(project):
    """lab.up for the project's lab, lab.down on the way out, and then no network namespace of it is left."""
    prefix = project.config["lab"]["prefix"]
    try:
        project.inv("lab.up", "--nodes", str(project.config["lab"]["nodes"]))
        yield project
    finally:
        project.inv("lab.down", check=False)
    assert f"goswarm-{prefix}" not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout


def machine_records(project) -> list:
    """The project's machine records (machine.json), in name order."""
    return [json.loads(p.read_text()) for p in sorted(project.machines_dir.glob("*/machine.json"))]



def service_images(engine, name: str, prefix: str = "it") -> set:
    """The ids of the images tagged for service `name`: what a test may compare before and after, where the engine's
    whole image list also holds what tests running beside it build."""
    return {i.id for i in engine.images.list(name=f"{prefix}/{name}")}


def go_env(name: str) -> str:
    """A setting of this machine's go command (GOCACHE, GOMODCACHE...)."""
    return subprocess.run(["go", "env", name], check=True, capture_output=True, text=True).stdout.strip()
