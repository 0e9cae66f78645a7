"""For the whole suite: a skipped test is a failed one. Every test here can run on the machine that .ci/run
sets up (the integration tests start the engine, registries, sshd and labs they need), so a skip would only
hide something that did not run."""
import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped, which this suite counts as failed: {reason}"
