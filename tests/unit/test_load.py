"""ops/load.py without a service: which service is loaded, which hosts count as the project's, the generator's
lines followed from a real child process (the live line, the time limit), and the --during command's marks.
(Loading a deployed service is tests/integration/test_load.py.)"""
import io
import subprocess
import sys
import time

import pytest

from goswarm import settings
from goswarm.errors import PipelineError
from goswarm.io import machines, terminal
from goswarm.ops import load

TICK = '{"type":"tick","t":1.0,"users":2,"requests":10,"ok":10,"errors":{},"latency_ms":{"p50":1,"p95":2,"p99":3}}'
SUMMARY = ('{"type":"summary","requests":10,"ok":10,"duration_s":1.0,"rps":10,"errors":{},"users":2,'
           '"latency_ms":{"min":1,"mean":1,"p50":1,"p90":2,"p95":2,"p99":3,"max":4}}')


@pytest.fixture
def cfg(tmp_path, monkeypatch):
    monkeypatch.setenv("MACHINES_DIR", str(tmp_path / "machines"))
    monkeypatch.setenv("GOSWARM_ROOT", str(tmp_path))
    (tmp_path / "a").mkdir()
    return settings.read({"services": {"web": {"path": "a", "port": 80, "publish": 8080},
                                       "acc": {"path": "a", "port": 80, "publish": 8081,
                                               "load": {"path": "/accounts/{id}", "ids": "1-9"}}}})


def test_choose_takes_the_named_service_else_the_one_with_a_scenario(cfg):
    assert load.choose(cfg, "web").name == "web"
    assert load.choose(cfg, None).name == "acc"
    with pytest.raises(PipelineError, match="one service"):
        load.choose(cfg, "web,acc")


def test_the_projects_hosts_are_its_machines(cfg):
    assert load.known_hosts(cfg) == set()
    machines.save(machines.Machine("lab-1", "netns", "10.77.0.2"))
    assert load.known_hosts(cfg) == {"10.77.0.2"}


def test_a_base_url_elsewhere_is_refused_before_anything_runs(cfg, tmp_path):
    with pytest.raises(PipelineError, match="refusing to load 192.0.2.1"):
        load.run(None, cfg, cfg.services["web"], 10, 1, base_url="http://192.0.2.1:80", reports=tmp_path / "r")
    assert not (tmp_path / "r").exists() and not cfg.dist.exists()


def child(*lines, sleep=0.0):
    script = f"import time,sys\nfor l in {list(lines)!r}:\n    print(l, flush=True)\ntime.sleep({sleep})"
    return subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_follow_reads_ticks_until_the_summary_and_shows_each():
    proc, ticks, out = child("loadgen: starting", TICK, TICK, SUMMARY), [], io.StringIO()
    summary = load._follow(proc, load._lines(proc), ticks, time.monotonic() + 20, terminal.Status(out, every=0), None)
    proc.wait(10)
    assert summary["requests"] == 10 and len(ticks) == 2
    assert out.getvalue().count("10 req/s") == 2


def test_follow_kills_a_generator_that_overruns_its_limit():
    proc = child(TICK, sleep=60)
    with pytest.raises(PipelineError, match="overran its time limit"):
        load._follow(proc, load._lines(proc), [], time.monotonic() + 1, terminal.Status(io.StringIO()), None)
    assert proc.wait(10) != 0


def test_during_marks_its_start_and_end_on_the_loads_clock():
    began = time.monotonic()
    side = load._During("sleep 0.3", [sys.executable, "-c", "import time; time.sleep(0.3); print('done')"],
                        began + 0.2, began)
    side.poll()
    assert side.proc is None  # not yet its time
    while side.end_s is None and time.monotonic() - began < 10:
        side.poll()
        time.sleep(0.05)
    side.finish(time.monotonic() + 5)
    record = side.record()
    assert 0.2 <= record["start_s"] < record["end_s"] and record["end_s"] - record["start_s"] >= 0.3
    assert record["exit_code"] == 0 and record["command"] == "sleep 0.3"


def test_report_folders_never_collide(tmp_path):
    first = load._new_folder(tmp_path / "reports", "20261206-031500")
    second = load._new_folder(tmp_path / "reports", "20261206-031500")
    assert first.name == "20261206-031500" and second.name == "20261206-031500-2"
