"""Processes on this host: is the run that left something behind still alive?"""
import os
from pathlib import Path


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0 only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it does, and it is someone else's
        pass
    return pid > 0 and not _ended_unreaped(pid)


def _ended_unreaped(pid: int) -> bool:
    """A zombie: a run killed under a parent that has not waited for it yet (a CI runner's, a container's init
    that reaps nothing) still answers signal 0, but it has ended and holds nothing."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False  # no /proc (macOS): signal 0 is all there is to know
    return stat.rpartition(")")[2].split()[0] == "Z"  # the state follows the command name, which may hold spaces
