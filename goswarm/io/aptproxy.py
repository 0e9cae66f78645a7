"""The lab's apt proxy: Debian's apt-cacher-ng on the lab bridge's address, so that bare hosts and VMs install
Docker from Debian's archive through the host (their own traffic stays on the lab network), and the second
machine gets from the cache what the first one downloaded."""
import shlex
import shutil
import signal
from pathlib import Path

from goswarm import poll
from goswarm.errors import PipelineError
from goswarm.io import environment, netns

PORT = 3142


def url() -> str:
    return f"http://{netns.GATEWAY}:{PORT}"


def _home() -> Path:
    return environment.cache_dir() / "apt-cacher-ng"


def _pids() -> list:
    """Every apt-cacher-ng that serves our cache folder, found in /proc: a pid file can name a launcher that has
    exited, or a second proxy that lost the bind to the first, and then the one that listens would outlive stop."""
    home = str(_home())
    return [int(p.name) for p in Path("/proc").iterdir()
            if p.name.isdigit() and netns._is(int(p.name), "apt-cacher-ng", home)]


def ensure(sh) -> str:
    """Start it unless it runs; its cache stays in the goswarm cache folder for the next run."""
    if sh.dry:
        print(f"[dry] would run apt-cacher-ng on {url()}")
        return url()
    if _pids():  # it runs: it may be slow to answer under load, but a second one could only fail to bind
        poll.until(lambda: True if netns._port_open(netns.GATEWAY, PORT) else None, 15, 0.2,
                   lambda: _raise(f"apt-cacher-ng runs but does not answer on {url()} within 15s"))
        return url()
    if not shutil.which("apt-cacher-ng"):
        raise PipelineError("the lab's apt proxy needs apt-cacher-ng: apt-get install -y apt-cacher-ng")
    with netns._host_lock():  # it listens on the bridge's address: without the bridge it cannot bind
        netns._ensure_bridge(sh)
    home = _home()
    for part in ("cache", "log", "run", "conf"):
        (home / part).mkdir(parents=True, exist_ok=True)
    # Our own config, no Remap lines: Debian's sends the archive's requests to ftp.debian.org, whereas we fetch
    # from the host the machine's apt names (the mirror its tree was made from).
    (home / "conf" / "acng.conf").write_text("# goswarm's lab apt proxy: settings are on its command line\n")
    q = shlex.quote
    settings = {"CacheDir": home / "cache", "LogDir": home / "log", "SocketPath": home / "run" / "socket",
                "BindAddress": netns.GATEWAY, "Port": PORT, "ForeGround": 1, "ExThreshold": 0}
    args = " ".join(q(f"{k}={v}") for k, v in settings.items())
    started = netns._run(sh, f"cd / ; setsid nohup apt-cacher-ng -c {q(str(home / 'conf'))} {args} "
                             f">> {q(str(home / 'log' / 'stdout.log'))} 2>&1 < /dev/null & echo $!",
                         "starting apt-cacher-ng")
    (home / "proxy.pid").write_text(started.stdout.split()[-1] + "\n")  # for a person to read; stop looks in /proc

    def late():
        raise PipelineError(f"apt-cacher-ng did not listen on {url()} within 15s: "
                            f"{netns.log_tail(home / 'log' / 'stdout.log')}")

    poll.until(lambda: True if netns._port_open(netns.GATEWAY, PORT) else None, 15, 0.2, late)
    return url()


def stop_without_bridge(sh) -> None:
    """Stop the proxy once the lab bridge it listens on is gone: it serves every lab on this host, so it goes with
    the last machine on the bridge, whichever project made it (one project's lab.down must not stop it while
    another's machines still install through it)."""
    with netns._host_lock():  # no machine comes or goes, and so no bridge, while this looks
        if not Path(f"/sys/class/net/{netns.BRIDGE}").exists():
            stop(sh)


def stop(sh) -> None:
    pids = _pids()
    if not pids:
        return
    if sh.dry:
        print(f"[dry] would stop apt-cacher-ng ({', '.join(map(str, pids))})")
        return
    # Its threads go on after the main one returned (when /proc stops showing its program): it is gone when its
    # process is. SIGKILL takes every thread after 10 s.
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 30)):
        netns._signal(pids, sig)
        if poll.until(lambda: True if not any(map(_alive, pids)) else None, wait, 0.1, lambda: False):
            return
    raise PipelineError(f"apt-cacher-ng ({', '.join(map(str, pids))}) did not stop within 40 s of SIGTERM")


def _alive(pid: int) -> bool:
    """Any thread of it left (a zombie is not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _raise(message: str):
    raise PipelineError(message)


def transfers() -> dict:
    """Bytes the proxy fetched from the archive ("I" lines of its transfer log) and served to machines ("O")."""
    totals = {"I": 0, "O": 0}
    log = _home() / "log" / "apt-cacher.log"
    for line in log.read_text(errors="replace").splitlines() if log.is_file() else []:
        fields = line.split("|")
        if len(fields) >= 4 and fields[1] in totals and fields[2].isdigit():
            totals[fields[1]] += int(fields[2])
    return {"from_archive": totals["I"], "served": totals["O"]}
