"""plan/stats.py over stats payloads recorded from a real engine (tests/fixtures/engine/record_stats.py; cgroup v1,
with accountservice under a wrk load): the docker CLI's CPU % and memory arithmetic, and the grouped table."""
import pytest

from goswarm.plan import stats

from .recorded import payload


def test_parse_reads_the_counters_of_a_one_shot_payload():
    sample = stats.parse(payload("stats-oneshot-1"))
    raw = payload("stats-oneshot-1")
    assert sample.cpu_ns == raw["cpu_stats"]["cpu_usage"]["total_usage"]
    assert sample.system_ns == raw["cpu_stats"]["system_cpu_usage"]
    assert sample.online_cpus == raw["cpu_stats"]["online_cpus"] == 2
    assert sample.memory_limit_bytes == raw["memory_stats"]["limit"]
    assert sample.net_rx_bytes == sum(n["rx_bytes"] for n in raw["networks"].values()) > 0
    assert sample.net_tx_bytes == sum(n["tx_bytes"] for n in raw["networks"].values()) > 0
    assert sample.pids == raw["pids_stats"]["current"] > 0


def test_cpu_percent_between_two_one_shot_samples_is_the_clis_formula():
    one, two = payload("stats-oneshot-1"), payload("stats-oneshot-2")
    cpu_delta = two["cpu_stats"]["cpu_usage"]["total_usage"] - one["cpu_stats"]["cpu_usage"]["total_usage"]
    system_delta = two["cpu_stats"]["system_cpu_usage"] - one["cpu_stats"]["system_cpu_usage"]
    got = stats.cpu_percent(stats.parse(one), stats.parse(two))
    assert got == pytest.approx(cpu_delta / system_delta * 2 * 100)
    assert 30 < got < 70  # the service was busy: about half a CPU (the CLI said 49.21% a moment later)


def test_cpu_percent_of_a_streamed_payload_uses_its_precpu_stats():
    raw = payload("stats-stream")
    assert raw["precpu_stats"]["system_cpu_usage"] < raw["cpu_stats"]["system_cpu_usage"]
    assert stats.cpu_percent_of(raw) == pytest.approx(50.065, abs=0.01)


def test_cpu_percent_is_zero_when_a_clock_did_not_move():
    sample = stats.parse(payload("stats-oneshot-1"))
    assert stats.cpu_percent(sample, sample) == 0.0
    raw = payload("stats-oneshot-1")  # one-shot: no precpu_stats
    assert stats.cpu_percent_of(raw) == 0.0


def test_online_cpus_falls_back_to_the_per_cpu_list():
    raw = payload("stats-oneshot-1")
    del raw["cpu_stats"]["online_cpus"]
    raw["cpu_stats"]["cpu_usage"]["percpu_usage"] = [1, 2, 3, 4]
    assert stats.parse(raw).online_cpus == 4


def test_memory_is_usage_without_inactive_file_on_cgroup_v1():
    raw = payload("stats-stream")["memory_stats"]
    assert stats.memory_usage(raw) == raw["usage"]  # recorded with no inactive file cache
    raw["stats"]["total_inactive_file"] = 1_000_000
    assert stats.memory_usage(raw) == raw["usage"] - 1_000_000


def test_memory_is_usage_without_inactive_file_on_cgroup_v2():
    # cgroup v2's memory.stat keys have no total_ prefix (this engine runs v1, so this one is written by hand)
    memory = {"usage": 10_000_000, "limit": 2_000_000_000, "stats": {"inactive_file": 3_000_000, "anon": 6_000_000}}
    assert stats.memory_usage(memory) == 7_000_000


def test_memory_keeps_usage_when_the_cache_figure_is_not_below_it():
    assert stats.memory_usage({"usage": 100, "stats": {"total_inactive_file": 100}}) == 100
    assert stats.memory_usage({"usage": 100}) == 100


def test_task_name_is_service_dot_slot_or_node_for_global_services():
    assert stats.task_name("web", {"Slot": 2, "NodeID": "abc"}) == "web.2"
    assert stats.task_name("web-edge", {"NodeID": "5zrv65tr8et34m4rpsvdifwj3"}) == "web-edge.5zrv65tr8et3"


def rows():
    one, two = stats.parse(payload("stats-oneshot-1")), stats.parse(payload("stats-oneshot-2"))
    return [stats.task_stats("web", "lab-1", "web.1", "a" * 64, one, two),
            stats.task_stats("web", "lab-2", "web.2", "b" * 64, one, two),
            stats.down("web", "lab-3", "web.3", "c" * 64, "no answer within 3 s"),
            stats.task_stats("db", "lab-1", "db.1", "d" * 64, None, two)]


def test_totals_sum_the_tasks_that_answered():
    sums = stats.totals(rows())
    two = stats.parse(payload("stats-oneshot-2"))
    assert sums["web"]["tasks"] == 3 and sums["web"]["down"] == 1
    assert sums["web"]["memory_bytes"] == 2 * two.memory_bytes
    assert sums["web"]["pids"] == 2 * two.pids
    assert sums["web"]["cpu_percent"] == pytest.approx(2 * rows()[0].cpu_percent)


def test_table_groups_by_service_with_totals_and_shows_down_tasks():
    text = stats.table(rows(), {"lab-3": "no answer within 3 s"})
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["SERVICE", "NODE", "TASK"]
    assert [line.split()[0] for line in lines[1:4]] == ["db", "db", "web"]
    assert lines[1].split()[3] == "-"  # no CPU % without a sample before
    assert "web total" in text and "3 tasks" in text and "1 down" in text
    assert "down: no answer within 3 s" in text
    assert lines[-1] == "node lab-3: down (no answer within 3 s)"


def test_json_rows_carry_the_documented_keys():
    row = rows()[0].as_json()
    for key in ("service", "node", "task", "cpu_percent", "memory_bytes", "memory_limit_bytes", "net_rx_bytes",
                "net_tx_bytes", "pids", "state"):
        assert key in row
    assert row["container"] == "a" * 12
