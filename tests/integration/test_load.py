"""goswarm load end to end: the real generator (compiled from goswarm/go/loadgen on first use) against the sample
accountservice deployed in edge mode on the local swarm, its --json summary, its report, the refusal of a host
that is not the project's, and a redeploy under load marked on the report."""
import json
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from helpers import ROOT, Project, assert_one_line_error, free_port, http_get, read_until, start_inv, wait_for


@pytest.fixture(scope="module")
def accounts(tmp_path_factory, engine):
    """accountservice in edge mode with the sample's load scenario (random ids over the seeded accounts)."""
    project = Project(tmp_path_factory.mktemp("load"), engine)
    port = free_port()
    name = project.add_service("accountservice", port=6767, publish=port, publish_mode="edge",
                               smoke="/accounts/10000", load={"path": "/accounts/{id}", "ids": "10000-10099"})
    project.names.append(f"{name}-edge")
    try:
        project.inv("swarm.init")
        project.inv("redeploy", "--service", name)
        wait_for(lambda: http_get(f"http://127.0.0.1:{port}/accounts/10042"), 20, "the service")
        yield project, name, port
    finally:
        project.cleanup()


def report_of(project, doc) -> str:
    path = doc["report"]
    assert path.startswith(str(project.tmp / "reports")) and path.endswith("/index.html")
    with open(path) as f:
        return f.read()


def test_json_summary_and_report(accounts):
    project, name, port = accounts
    result = project.inv("load", "--service", name, "--users", "20", "--duration", "4", "--json")
    doc = json.loads(result.stdout)  # stdout is the document alone; the build and live lines go to stderr
    assert doc["url"] == f"http://127.0.0.1:{port}/accounts/{{id}}" and doc["users"] == 20
    assert doc["requests"] > 1000 and doc["rps"] > 250 and doc["errors"] == {}
    latency = doc["latency_ms"]
    assert 0 < latency["min"] <= latency["p50"] <= latency["p95"] <= latency["p99"] <= latency["max"]
    assert 3.5 < doc["duration_s"] < 6
    tasks = {t["service"]: t for t in doc["tasks"]}
    assert set(tasks) == {name, f"{name}-edge"}  # the app and its edge, each busy
    for task in tasks.values():
        assert task["memory_bytes_max"] > 1_000_000 and task["cpu_percent_max"] > 1
    page = report_of(project, doc)
    assert page.count("<svg") == 5 and "<script" not in page and "<link" not in page
    assert re.search(rf"<title>{name}\.1 [0-9a-f]{{6}} \(", page)  # the task's CPU and memory series


def test_plain_lines_while_it_runs_and_a_table_at_the_end(accounts):
    project, name, _ = accounts
    result = project.inv("load", "--service", name, "--users", "5", "--duration", "3", "--rate", "300")
    live = [line for line in result.stderr.splitlines() if "req/s" in line]
    assert live and all("\r" not in line and "\x1b" not in line for line in live)  # not a terminal: plain lines
    out = result.stdout
    for row in ("requests", "req/s", "latency ms  min", "errors      0"):
        assert row in out, out
    assert "report: " in out and f"{name}.1" in out
    rps = float(re.search(r"^req/s\s+([\d,.]+)", out, re.M).group(1).replace(",", ""))
    assert 200 < rps <= 310  # --rate holds


def test_a_base_url_that_is_not_the_projects_is_refused(accounts):
    project, name, _ = accounts
    before = sorted((project.tmp / "reports").glob("*"))
    result = project.inv("load", "--service", name, "--base-url", "http://192.0.2.10:6767", "--duration", "2",
                         check=False)
    assert_one_line_error(result, "refusing to load 192.0.2.10", "--target-ok")
    assert sorted((project.tmp / "reports").glob("*")) == before  # nothing ran, nothing was written


def test_a_redeploy_under_load_is_marked_on_the_report(accounts):
    project, name, _ = accounts
    result = project.inv("load", "--service", name, "--users", "10", "--duration", "12", "--during",
                         f"redeploy --service {name} --force", "--json")
    doc = json.loads(result.stdout)
    during = doc["during"]
    assert during["command"] == f"redeploy --service {name} --force" and during["exit_code"] == 0, during
    assert 3.5 <= during["start_s"] <= 5 and during["end_s"] > during["start_s"]
    assert doc["requests"] > 1000
    page = report_of(project, doc)
    assert page.count('class="during"') == 5
    assert f"`redeploy --service {name} --force` from {during['start_s']:.1f} s" in page


def test_ctrl_c_stops_the_load_and_keeps_its_report(accounts):
    project, name, _ = accounts
    run = start_inv(project, "load", "--service", name, "--users", "10", "--duration", "60")
    read_until(run, "req/s", 60)
    began = time.monotonic()
    run.send_signal(signal.SIGINT)
    out, _ = run.communicate(timeout=60)
    assert run.returncode == 130 and time.monotonic() - began < 10, out
    said = re.search(r"interrupted: the load stopped early; its report so far is (\S+)", out)
    assert said and "Traceback" not in out, out
    report = ROOT / said.group(1)  # shown relative to the command's directory when below it
    assert report.is_relative_to(project.tmp / "reports"), report
    page = report.read_text()
    assert page.count("<svg") == 5


def test_sigterm_exits_143_and_marks_the_summary_and_report_interrupted(accounts):
    project, name, _ = accounts
    run = start_inv(project, "load", "--service", name, "--users", "10", "--duration", "60")
    read_until(run, "req/s", 60)
    run.send_signal(signal.SIGTERM)
    out, _ = run.communicate(timeout=60)
    assert run.returncode == 143 and "Traceback" not in out, out
    said = re.search(r"interrupted: the load stopped early; its report so far is (\S+)", out)
    report = ROOT / said.group(1)
    assert json.loads((report.parent / "summary.json").read_text())["interrupted"] is True
    assert "<th>Interrupted</th>" in report.read_text()


def test_a_run_where_every_request_failed_exits_non_zero(accounts):
    project, name, _ = accounts
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens there: every request is refused
    result = project.inv("load", "--service", name, "--base-url", down, "--users", "5", "--duration", "2",
                         check=False)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == 1 and "Traceback" not in result.output, result.output
    assert len(errors) == 1 and f"every request to {down}/accounts/{{id}} failed (refused " in errors[0], errors
    assert "the report is " in errors[0]  # the report of what happened is still written


def test_more_users_than_the_open_file_limit_are_refused_before_the_run(accounts):
    project, name, _ = accounts
    before = sorted((project.tmp / "reports").glob("*"))
    result = subprocess.run(["prlimit", "--nofile=256:256", *project.argv("load", "--service", name, "--users",
                                                                          "1000", "--duration", "2")],
                            cwd=ROOT, env=project.environ(None), capture_output=True, text=True, timeout=120)
    result.output = result.stdout + result.stderr
    assert_one_line_error(result, "--users 1000 needs 1,064 open files, and this process may open at most 256")
    assert sorted((project.tmp / "reports").glob("*")) == before  # refused before anything ran


def loadgen_child(pid: int) -> bool:
    """Has process `pid` started the generator (a child named goswarm-loadgen...)?"""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name, rest = text.split("(", 1)[1].rsplit(")", 1)
        if int(rest.split()[1]) == pid and name.startswith("goswarm-loadge"):  # the kernel keeps 15 characters
            return True
    return False


@pytest.mark.parametrize("stop, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_stop_as_soon_as_the_generator_starts_ends_the_run_with_its_report(accounts, stop, code):
    """Seen from bench/edge.py: a Ctrl-C right after the generator started, before its figures were followed,
    left the run waiting for a generator that ran on."""
    project, name, _ = accounts
    run = start_inv(project, "load", "--service", name, "--users", "10", "--duration", "120")
    deadline = time.monotonic() + 60
    while not loadgen_child(run.pid):  # polled tightly: the moment is what this test is about
        assert time.monotonic() < deadline and run.poll() is None, "the generator did not start"
    began = time.monotonic()
    run.send_signal(stop)
    out, _ = run.communicate(timeout=90)
    assert run.returncode == code and "Traceback" not in out, out
    assert time.monotonic() - began < 45 and "interrupted: the load stopped early" in out, out
