"""What bench/redeploy.py and bench/lab.py share: paths, running commands, waiting, the one-line edit, the report.

Not a benchmark itself; the scripts put bench/ on sys.path and import it, so both run from any cwd.
"""
import datetime
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "services" / "accountservice"
SMOKE = "/accounts/10000"
IMAGE_PREFIX = "bench"
# The one line each edit changes: Name: "Person_" + strconv.Itoa(i)
NAME_LINE = re.compile(r'(Name:\s*)"[^"]*"(\s*\+\s*strconv\.Itoa\(i\))')


class BenchError(Exception):
    """A step of the benchmark failed; the message holds the command and its output."""


# --- commands -------------------------------------------------------------------

def run(argv, env=None, check=True, timeout=None, cwd=ROOT) -> subprocess.CompletedProcess:
    """Run a command (in the repo root by default), output captured; a failure (or, with `timeout`, overrunning
    it) raises with the output's tail."""
    try:
        result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                                timeout=timeout, check=False)
    except subprocess.TimeoutExpired as e:
        out = ((e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or ""))
        raise BenchError(f"`{' '.join(map(str, argv))}` did not finish in {timeout}s:\n{out[-3000:]}") from None
    if check and result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-40:])
        raise BenchError(f"`{' '.join(map(str, argv))}` exited {result.returncode}:\n{tail}")
    return result


# `inv redeploy` holds a deploy lock per swarm and refuses at once while another run holds it (the
# integration tests deploy to the same engine). A refused attempt changes nothing, so it is tried again.
LOCK_HELD = "deploy lock is held by"


def run_unlocked(argv, env=None, timeout=None, patience: float = 900.0, cwd=ROOT) -> tuple:
    """run(argv) until it is not refused for a held deploy lock (for up to `patience` s):
    (seconds of the attempt that ran, its result, how many attempts were refused)."""
    deadline = time.monotonic() + patience
    refused = 0
    while True:
        try:
            seconds, result = timed(run, argv, env, timeout=timeout, cwd=cwd)
            return seconds, result, refused
        except BenchError as e:
            if LOCK_HELD not in str(e) or time.monotonic() > deadline:
                raise
            refused += 1
            time.sleep(1)


def timed(call, *args, **kwargs) -> tuple:
    """(seconds, result) of call(*args, **kwargs), wall time."""
    start = time.perf_counter()
    result = call(*args, **kwargs)
    return time.perf_counter() - start, result


def first_line(argv, timeout=None) -> str:
    """The first line a command prints (stdout, else stderr), or "?"; for the machine facts."""
    result = run(argv, check=False, timeout=timeout)
    return (result.stdout.strip() or result.stderr.strip() or "?").splitlines()[0]


# --- network and waiting ----------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> str:
    """Body of a GET, or "" when nothing answers yet."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.read().decode(errors="replace")
    except (urllib.error.URLError, OSError):
        return ""


def wait_until(check, timeout: float, what: str, interval: float = 0.2):
    """check()'s first truthy result, polling every `interval` s; BenchError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def wait_for_text(url: str, text: str, timeout: float, interval: float = 0.02) -> None:
    """Until a GET of `url` has `text` in its body."""
    try:
        wait_until(lambda: text in get(url), timeout, f"{url} to serve {text!r}", interval)
    except BenchError:
        raise BenchError(f"{url} did not serve {text!r} within {timeout:.0f}s (last body: {get(url)!r})") from None


class FirstAnswer(threading.Thread):
    """Polls a URL every `interval` s from its start, and keeps the wall time (time.time(), comparable with the
    engine's event times) at which the body first holds the text; gives up after `timeout` s."""

    def __init__(self, url: str, text: str, timeout: float, interval: float = 0.02):
        super().__init__(daemon=True)
        self.url, self.text, self.timeout, self.interval = url, text, timeout, interval
        self.at, self.began = None, time.time()
        self.start()

    def run(self):
        while self.at is None and time.time() - self.began < self.timeout:
            if self.text in get(self.url):
                self.at = time.time()
            time.sleep(self.interval)

    def seconds(self) -> float:
        """From the start to the first answer with the text."""
        self.join(self.timeout)
        if self.at is None:
            raise BenchError(f"{self.url} did not serve {self.text!r} within {self.timeout:.0f}s")
        return self.at - self.began


def baseline_checkout(revision: str, workdir: Path) -> Path:
    """The tree at `revision`, from `git archive`: the repository gets no worktree of its own for it."""
    target = workdir / "baseline"
    target.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision], capture_output=True, check=True,
                             timeout=120).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True, timeout=120)
    return target


# --- the service under test -------------------------------------------------------

def copy_source(parent: Path) -> Path:
    """A copy of services/accountservice under `parent`, without built binaries and dot files."""
    dest = parent / SOURCE.name
    shutil.copytree(SOURCE, dest, ignore=shutil.ignore_patterns("*-linux-*", ".*"))
    return dest


def one_service_config(by: str, service: str, src: Path, publish: int, mode: str, dist: Path, network: str) -> str:
    """The goswarm.yaml of a bench project: one replica of its copy of the sample at `src`, published on
    `publish` in `mode`, smoke-tested on SMOKE."""
    return (f"# generated by {by}\n"
            f"image:\n  prefix: {IMAGE_PREFIX}\n"
            f"build:\n  dist: {dist}\n"
            f"swarm:\n  network: {network}\n"
            f"services:\n"
            f"  {service}:\n"
            f"    path: {src}\n    main: .\n    port: 16767\n    publish: {publish}\n"
            f"    publish_mode: {mode}\n    replicas: 1\n    smoke: {SMOKE}\n")


def set_name_prefix(main_go: Path, prefix: str) -> None:
    """The one-line edit: the accounts' name prefix ("Person_" in the sample)."""
    text, count = NAME_LINE.subn(rf'\g<1>"{prefix}"\g<2>', main_go.read_text())
    if count != 1:
        raise BenchError(f"{main_go}: expected one `Name: \"...\" + strconv.Itoa(i)` line, found {count}")
    main_go.write_text(text)


def in_turn(contenders, run_index: int) -> list:
    """Alternate who goes first, so neither always gets the warmer engine."""
    return list(contenders) if run_index % 2 == 0 else list(reversed(contenders))


def remove_images(repositories, ids=(), timeout=None) -> None:
    """`ids` and the host engine's images of `repositories` (and nothing else); a failure is only a warning."""
    ids = set(ids)
    for repository in repositories:
        ids.update(run(["docker", "images", "-q", "--no-trunc", "--filter", f"reference={repository}"],
                       check=False, timeout=timeout).stdout.split())
    if ids:
        result = run(["docker", "image", "rm", "-f", *sorted(ids)], check=False, timeout=timeout)
        if result.returncode != 0:
            print(f"warning: could not remove every bench image: {result.stderr.strip()[:300]}", file=sys.stderr)


def remove_services(names, timeout=None) -> None:
    """`docker service rm` of `names` on the host engine (never anything else), then wait until their
    containers are gone; a failure is only a warning."""
    existing = [n for n in names if run(["docker", "service", "inspect", n], check=False,
                                        timeout=timeout).returncode == 0]
    if existing:
        run(["docker", "service", "rm", *existing], check=False, timeout=timeout)
    deadline = time.monotonic() + 60
    for name in existing:
        while run(["docker", "ps", "-aq", "--filter", f"label=com.docker.swarm.service.name={name}"],
                  check=False, timeout=timeout).stdout.strip():
            if time.monotonic() > deadline:
                print(f"warning: containers of {name} still exist 60s after `docker service rm`", file=sys.stderr)
                break
            time.sleep(0.5)


# --- report -----------------------------------------------------------------------

def process_cpu_s(pid) -> float:
    """utime + stime of a running process so far, in seconds, from /proc (getrusage sees only reaped children)."""
    return _cpu_of(Path(f"/proc/{pid}/stat").read_text())[1]


def processes_cpu() -> dict:
    """{pid: (process name, CPU seconds so far)} of every process, from /proc; one that ends meanwhile is left out."""
    processes = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            processes[stat.parent.name] = _cpu_of(stat.read_text())
        except OSError:
            continue
    return processes


def _cpu_of(stat: str) -> tuple:
    """(name, utime + stime in seconds) from a /proc/PID/stat line (the name may hold spaces and parentheses)."""
    name, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
    return name, (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")


def median(samples) -> float:
    return statistics.median(samples)


def machine(invoke=("inv",), docker_note: str = "", timeout=None) -> list:
    """The machine-facts header: date, kernel, nproc, docker, go, python and Invoke (run as `invoke`)."""
    def out(argv):
        return first_line(argv, timeout)

    return [
        f"date:    {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"kernel:  {os.uname().release} ({out(['uname', '-m'])}), nproc {out(['nproc'])}",
        f"docker:  server {out(['docker', 'version', '--format', '{{.Server.Version}}'])}{docker_note}",
        f"go:      {out(['go', 'version'])}",
        f"python:  {sys.version.split()[0]}, {out([*invoke, '--version'])}",
    ]


def table(rows, headers) -> str:
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    line = lambda row: "  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip()  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


def print_samples(named) -> None:
    """The raw samples under the table: (name, seconds) pairs, one line each."""
    print("samples (s):")
    for name, samples in named:
        print(f"  {name}: " + " ".join(f"{s:.2f}" for s in samples))


def failed(error: BenchError) -> int:
    """Say on stderr why the bench stopped; the exit status."""
    print(f"\nbench failed: {error}", file=sys.stderr)
    return 1
