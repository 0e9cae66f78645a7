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
