"""plan/loadreport.py: the load report is one self-contained page whose charts carry the run's data."""
import re

from goswarm.plan import loadreport as report
from goswarm.plan import stats

SUMMARY = {"requests": 3000, "ok": 2990, "duration_s": 3.0, "rps": 1000.0, "users": 10,
           "errors": {"reset": 10}, "latency_ms": {"min": 0.1, "mean": 1.0, "p50": 0.9, "p95": 2.0, "p99": 3.0,
                                                   "max": 9.0}}
TICKS = [{"type": "tick", "t": float(t), "users": 10, "requests": 1000, "ok": 1000 - 5 * (t == 2),
          "errors": {"reset": 5} if t == 2 else {}, "latency_ms": {"p50": 0.9, "p95": 2.0, "p99": 3.0 * t,
                                                                    "max": 9.0}} for t in (1, 2, 3)]


def row(task, cpu, memory):
    return stats.TaskStats("acc", "lab-1", task, "c", cpu, memory, 10**9, 0, 0, 4)


STATS = [(1.2, [row("acc.1", 10.0, 5_000_000), row("acc.2", 20.0, 6_000_000)]),
         (2.2, [row("acc.1", 30.0, 5_500_000), row("acc.2", 40.0, 6_500_000)])]


def test_nice_axis_tops():
    assert [report.nice_max(v) for v in (0, 0.3, 1, 7, 12, 999, 1001)] == [1, 0.5, 1, 10, 20, 1000, 2000]


def test_the_page_is_self_contained_with_five_charts():
    page = report.page(SUMMARY, "http://127.0.0.1:1/", TICKS, STATS, None, "2026-12-06 03:00:00")
    assert page.startswith("<!doctype html>")
    assert page.count("<svg") == 5
    assert not re.search(r"<script|<link|src=|@import|url\(", page)
    for title in ("Throughput", "Latency percentiles", "Errors", "CPU of each task", "Memory of each task"):
        assert f'aria-label="{title}"' in page
    assert "acc.1 c (lab-1)" in page and "acc.2 c (lab-1)" in page
    assert "during" not in page.split("<body>")[1].split("<svg")[0]


def test_series_are_drawn_with_one_point_per_tick_or_sample():
    page = report.page(SUMMARY, "http://u/", TICKS, STATS, None, "now")
    lines = re.findall(r'<polyline [^>]*points="([^"]+)"><title>([^<]+)</title>', page)
    by_name = {name: points.split() for points, name in lines}
    assert len(by_name["req/s"]) == 3 and len(by_name["p99"]) == 3
    assert len(by_name["reset"]) == 3 and len(by_name["acc.1 c (lab-1)"]) == 2


def test_the_during_command_is_marked_on_every_chart():
    during = {"command": "redeploy --force", "start_s": 1.0, "end_s": 2.5, "exit_code": 0}
    page = report.page(SUMMARY, "http://u/", TICKS, STATS, during, "now")
    assert page.count('class="during"') == 5
    assert "--during 1.0-2.5 s" in page
    assert "`redeploy --force` from 1.0 s to 2.5 s, exit 0" in page


def test_the_page_says_why_task_stats_are_missing():
    page = report.page(SUMMARY, "http://u/", TICKS, [], None, "now", "cannot reach the Docker engine at x")
    assert "<th>Task stats</th><td>not read: cannot reach the Docker engine at x</td>" in page
    assert page.count("<svg") == 5


def test_an_interrupted_run_says_so_on_its_page():
    page = report.page({**SUMMARY, "interrupted": True}, "http://127.0.0.1:1/", TICKS, STATS, None, "x")
    assert "<th>Interrupted</th>" in page
    assert "Interrupted" not in report.page(SUMMARY, "http://127.0.0.1:1/", TICKS, STATS, None, "x")
