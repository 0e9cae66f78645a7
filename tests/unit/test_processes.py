"""io/processes.py: is the run that left something behind still alive?"""
import os
import subprocess
import sys

from goswarm.io import processes


def test_this_process_is_alive():
    assert processes.pid_alive(os.getpid())


def test_a_process_that_ended_is_not():
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                           check=True)
    assert not processes.pid_alive(int(ended.stdout))  # run() waited for it: it is reaped, its pid is free


def test_pid_0_is_no_process_though_signal_0_to_it_succeeds():
    assert not processes.pid_alive(0)


def test_a_process_that_ended_but_was_not_reaped_is_not():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        state = ""
        while state != "Z":  # it ends soon; we do not wait() for it, so it stays a zombie
            state = open(f"/proc/{child.pid}/stat").read().rpartition(")")[2].split()[0]
        assert not processes.pid_alive(child.pid)
    finally:
        child.wait()
