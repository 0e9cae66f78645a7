"""For the whole suite: a skipped test is a failed one. Every test here can run on the machine that .ci/run
sets up (the integration tests start the engine, registries, sshd and labs they need), so a skip would only
hide something that did not run."""
import contextlib
import fcntl
import os
import signal

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped, which this suite counts as failed: {reason}"


# --- tests that must have the machine to themselves ---------------------------------------------------------------
# The suite runs its files on several workers (pytest-xdist, see pyproject's addopts). A test marked `exclusive`
# measures time or CPU, or puts the machine under a load of its own (1,000 users), so it runs alone: it waits for
# the tests in progress to end, and the others wait for it. A readers-writer lock over two flock(2)ed files, with
# writer preference so that an exclusive test is not starved by the stream of shared ones.
LOCK_DIR = "/tmp/goswarm-tests"


@contextlib.contextmanager
def _flocked(name: str, mode: int):
    os.makedirs(LOCK_DIR, exist_ok=True)
    with open(os.path.join(LOCK_DIR, name), "a") as handle:
        fcntl.flock(handle, mode)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def machine_share(exclusive: bool):
    """Shared for an ordinary test, exclusive for one marked `exclusive`."""
    if exclusive:
        with _flocked("gate", fcntl.LOCK_EX), _flocked("machine", fcntl.LOCK_EX):
            yield
    else:
        with _flocked("gate", fcntl.LOCK_SH):
            pass  # a writer waiting at the gate holds new readers here
        with _flocked("machine", fcntl.LOCK_SH):
            yield


def pytest_configure(config):
    config.addinivalue_line("markers", "exclusive: runs with no other test beside it (timings, CPU, heavy load)")
    # A suite started in the background of a non-interactive shell (`bash .ci/run &`) inherits SIGINT ignored, and
    # so would every goswarm it starts: the Ctrl-C tests would test nothing. A handled signal is reset on exec.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    # Not under xdist, nothing runs beside it anyway. Unit tests need no share of the machine, and a pytest of unit
    # tests that an integration test runs (test_ci_pipeline's unit job) must not wait on its own parent's lock.
    if not hasattr(item.config, "workerinput") or item.get_closest_marker("integration") is None:
        yield
        return
    with machine_share(item.get_closest_marker("exclusive") is not None):
        yield
