"""Processes on this host: is the run that left something behind still alive?"""
import os


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0 only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it does, and it is someone else's
        pass
    return pid > 0
