"""plan/load.py: where the load goes and whether it may, the generator's command line and lines, the closing
table and the --json document. (The generator itself is tested in goswarm/go/loadgen; a real run against a
deployed service is tests/integration/test_load.py.)"""
import json
from pathlib import Path

import pytest

from goswarm.errors import PipelineError
from goswarm.plan import config, stats
from goswarm.plan import load as plan

SERVICE = config.Service("acc", Path("/p/acc"), 6767, publish=16767, smoke="/accounts/10000",
                         load=config.Load("/accounts/{id}", "10000-10099"))
TICK = {"type": "tick", "t": 1.002, "users": 51, "requests": 56524, "ok": 56520, "errors": {"http_500": 4},
        "latency_ms": {"p50": 0.237, "p95": 1.434, "p99": 3.916, "max": 16.937}}
SUMMARY = {"type": "summary", "requests": 1787536, "ok": 1779732, "duration_s": 30.006, "rps": 59572.4,
           "errors": {"http_404": 7800, "reset": 3, "refused": 1}, "users": 100,
           "latency_ms": {"min": 0.019, "mean": 1.284, "p50": 0.876, "p90": 2.62, "p95": 3.865, "p99": 7.338,
                          "max": 32.523}}


def test_the_target_is_the_services_scenario_where_it_is_published():
    target = plan.target(SERVICE, "127.0.0.1", None)
    assert (target.url, target.ids) == ("http://127.0.0.1:16767/accounts/{id}", "10000-10099")
    smoke_only = config.Service("q", Path("/p/q"), 80, publish=8080, smoke="/health")
    assert plan.target(smoke_only, "10.77.0.2", None).url == "http://10.77.0.2:8080/health"
    plain = config.Service("q", Path("/p/q"), 80, publish=8080)
    assert plan.target(plain, "::1", "http://[::1]:9000/").url == "http://[::1]:9000/"


def test_a_service_that_publishes_nothing_needs_a_base_url():
    internal = config.Service("q", Path("/p/q"), 8080)
    with pytest.raises(PipelineError, match="publishes no port.*--base-url"):
        plan.target(internal, "127.0.0.1", None)
    assert plan.target(internal, "127.0.0.1", "http://127.0.0.1:8080").url == "http://127.0.0.1:8080/"


@pytest.mark.parametrize("url", ["https://127.0.0.1", "127.0.0.1:80", "http://h:0", "http://h:70000", "http://h/?a=1",
                                 "http://h/#x", "http://", "http://a b"])
def test_a_base_url_is_plain_http_host_port_path(url):
    with pytest.raises(PipelineError, match="--base-url"):
        plan.check_url(url)


@pytest.mark.parametrize("url, known, ok", [
    ("http://127.0.0.1:80", set(), True),
    ("http://127.8.9.1", set(), True),
    ("http://localhost:1", set(), True),
    ("http://[::1]:1", set(), True),
    ("http://10.77.0.2:6767", {"10.77.0.2"}, True),
    ("http://10.77.0.9:6767", {"10.77.0.2"}, False),
    ("http://example.com", set(), False),
    ("http://[::2]:1", set(), False),
])
def test_only_loopback_and_the_projects_machines_may_be_loaded(url, known, ok):
    why = plan.refusal(url, known, target_ok=False)
    assert (why is None) == ok
    if not ok:
        assert "--target-ok" in why and "\n" not in why
    assert plan.refusal(url, known, target_ok=True) is None


def test_loadgen_argv():
    argv = plan.loadgen_argv("/d/loadgen", plan.target(SERVICE, "127.0.0.1", None), 1000, 30, 5, 0)
    assert argv == ["/d/loadgen", "-url", "http://127.0.0.1:16767/accounts/{id}", "-users", "1000", "-duration", "30s",
                    "-ramp", "5s", "-interval", "1s", "-stdin-stop", "-ids", "10000-10099"]
    plain = plan.Target("http://127.0.0.1:1", "/", "")
    assert plan.loadgen_argv("g", plain, 2, 1.5, 0, 20)[-2:] == ["-rate", "20"]


def test_parse_line_keeps_ticks_and_the_summary_only():
    assert plan.parse_line(json.dumps(TICK)) == TICK
    assert plan.parse_line(json.dumps(SUMMARY))["rps"] == 59572.4
    assert plan.parse_line("loadgen: oops") is None
    assert plan.parse_line('{"type": "other"}') is None
    assert plan.parse_line("[1]") is None


def test_during_argv_keeps_the_core_options_and_adds_the_command():
    argv = plan.during_argv(["/bin/goswarm", "-f", "x.yaml", "load", "--during", "redeploy --force"], "load",
                            "redeploy --force", "/py")
    assert argv == ["/py", "/bin/goswarm", "-f", "x.yaml", "redeploy", "--force"]
    with pytest.raises(PipelineError, match="names no task"):
        plan.during_argv(["/bin/goswarm", "load"], "load", "  ", "/py")


def test_number_flags():
    assert plan.number("--rate", "2.5", "requests/s") == 2.5
    for bad in ("x", "-1", "nan", "inf"):
        with pytest.raises(PipelineError, match="--rate"):
            plan.number("--rate", bad, "requests/s")


def test_live_line_and_error_kinds():
    line = plan.live_line(TICK, 4)
    assert "56,524 req/s" in line and "p99 3.92" in line and "errors 4" in line
    assert plan.error_kinds(SUMMARY["errors"]) == [("refused", 1), ("reset", 3), ("http_404", 7800)]


def test_summary_table_has_every_figure_and_each_error_kind():
    text = plan.summary_table(SUMMARY, "http://127.0.0.1:1/")
    for fragment in ("requests    1,787,536", "req/s       59,572.4",
                     "min 0.02  p50 0.88  p95 3.87  p99 7.34  max 32.52", "errors      7,804 (0.44%)",
                     "  refused   1", "  http_404  7,800"):
        assert fragment in text, text


def test_json_summary_has_the_documented_keys():
    doc = plan.json_summary(SUMMARY, "http://u/", "/r/index.html", None, [])
    assert {"requests", "rps", "errors", "latency_ms"} <= set(doc)
    assert set(doc["latency_ms"]) >= {"min", "p50", "p95", "p99", "max"}
    assert doc["errors"] == {"http_404": 7800, "reset": 3, "refused": 1}


def test_task_usage_over_the_sampled_series():
    def row(cpu, memory, container="aaaaaa"):
        return stats.TaskStats("acc", "n1", "acc.1", container, cpu, memory, 10**9, 0, 0, 3)

    series = [(1.0, [row(None, 5_000_000)]), (2.0, [row(40.0, 7_000_000)]), (3.0, [row(60.0, 6_000_000)]),
              (4.0, [stats.down("acc", "n1", "acc.1", "aaaaaa", "no answer")])]
    assert plan.task_usage(series) == [{"service": "acc", "task": "acc.1", "node": "n1", "container": "aaaaaa",
                                        "cpu_percent_mean": 50.0, "cpu_percent_max": 60.0,
                                        "memory_bytes_max": 7_000_000, "samples": 3}]


def test_a_task_a_redeploy_replaced_is_two_rows_in_the_order_they_ran():
    def row(container):
        return stats.TaskStats("acc", "n1", "acc.1", container, 10.0, 1_000_000, 10**9, 0, 0, 3)

    series = [(1.0, [row("zzzzzz")]), (2.0, [row("zzzzzz"), row("aaaaaa")]), (3.0, [row("aaaaaa")])]
    usage = plan.task_usage(series)
    assert [(u["task"], u["container"], u["samples"]) for u in usage] == [("acc.1", "zzzzzz", 2),
                                                                          ("acc.1", "aaaaaa", 2)]
    assert "acc.1  zzzzzz     n1" in plan.usage_table(usage)


def test_closing_text_names_the_during_command_and_the_report():
    during = {"command": "redeploy --force", "start_s": 4.0, "end_s": 9.5, "exit_code": 1, "last_line": "error: x"}
    doc = plan.json_summary(SUMMARY, "http://u/", "/r/index.html", during, [])
    text = plan.closing(SUMMARY, doc, "reports/x/index.html")
    assert "requests    1,787,536" in text and "TASK" in text
    assert "during: `redeploy --force` 4.0-9.5 s, exit 1 (error: x)" in text
    assert text.endswith("report: reports/x/index.html")


@pytest.mark.parametrize("users, soft, hard, ports, raise_to, refused", [
    (100, 1024, 4096, (32768, 60999), None, None),  # room enough already
    (1000, 1024, 20000, (32768, 60999), 1064, None),  # raised within the hard limit
    (21000, 20000, 20000, (32768, 60999), None, "needs 21,064 open files, and this process may open at most 20,000"),
    (5000, 1024, 65536, (60000, 61000), None, "ephemeral port range 60000-61000"),
])
def test_users_past_the_open_file_limit_or_the_port_range_are_refused_before_the_run(users, soft, hard, ports,
                                                                                      raise_to, refused):
    got, refusal = plan.capacity(users, soft, hard, ports)
    assert got == raise_to
    assert (refusal is None) if refused is None else (refused in refusal and "\n" not in refusal)


def test_a_run_in_which_no_request_was_answered_counts_as_failed():
    down = {**SUMMARY, "ok": 0, "errors": {"refused": 5000}}
    assert "every request to http://u/ failed (refused 5,000)" in plan.all_failed(down, "http://u/")
    assert "no request completed" in plan.all_failed({**SUMMARY, "requests": 0, "ok": 0, "errors": {}}, "http://u/")
    assert plan.all_failed(SUMMARY, "http://u/") is None
    assert plan.all_failed({**down, "interrupted": True}, "http://u/") is None  # said as interrupted instead


def test_an_interrupted_run_is_marked_in_the_table_and_the_json():
    stopped = {**SUMMARY, "interrupted": True}
    assert "(interrupted)" in plan.summary_table(stopped, "http://u/")
    assert "(interrupted)" not in plan.summary_table(SUMMARY, "http://u/")
    assert plan.json_summary(stopped, "http://u/", None, None, [])["interrupted"] is True
    assert plan.json_summary(SUMMARY, "http://u/", None, None, [])["interrupted"] is False
