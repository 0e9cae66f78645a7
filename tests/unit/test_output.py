"""plan/output.py: what the tasks print. Paths as typed, tables, stage timings, sizes."""
from pathlib import Path

import pytest

from goswarm.plan import output


def test_table():
    assert output.table([("a", 1), ("bbb", 22)], ("N", "COUNT")) == "N    COUNT\na    1\nbbb  22"
    assert output.table([], ("N", "M")) == "N  M"


def test_a_table_has_no_trailing_blanks_and_widens_for_its_headers():
    assert output.table([("a", "")], ("NAME", "ERROR")) == "NAME  ERROR\na"


def test_paths_are_shown_as_a_user_types_them(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert output.shown(tmp_path / "dist" / "a") == "dist/a"
    assert output.shown(Path("/elsewhere/x")) == "/elsewhere/x"


def test_stages_time_each_stage_and_mark_the_one_that_failed():
    ticks = iter(range(0, 100, 2))
    stages = output.Stages(lambda: next(ticks))
    with stages.stage("build"):
        pass
    with pytest.raises(RuntimeError), stages.stage("deploy"):
        raise RuntimeError("boom")
    assert [(name, status) for name, _, status in stages.timings] == [("build", "ok"), ("deploy", "failed")]
    lines = stages.summary().splitlines()
    assert lines[0].split() == ["stage", "time", "result"]
    assert lines[1].split()[::2] == ["build", "ok"] and lines[2].split()[::2] == ["deploy", "failed"]
    assert lines[1].split()[1] == "2.00s" and lines[3].split()[:2] == ["total", "4.00s"]


@pytest.mark.parametrize("count, shown", [
    (0, "0 B"), (812, "812 B"), (999, "999 B"), (1000, "1.0 kB"), (4_100_000, "4.1 MB"), (2.5e9, "2.5 GB"),
])
def test_sizes_read_as_a_person_reads_them(count, shown):
    assert output.size(count) == shown


def test_a_line_names_a_few_images_and_counts_many():
    assert output.listed([]) == ""
    assert output.listed(["a/x:1", "a/y:1"]) == "a/x:1, a/y:1"
    many = [f"alc/scl-{i:02}:459dadc3180f" for i in range(1, 21)]
    assert output.listed(many) == "20 images (alc/scl-01:459dadc3180f … alc/scl-20:459dadc3180f)"
