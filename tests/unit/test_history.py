"""plan/history.py: the release history's entries, and which release `deploy.rollback --to N` goes back to."""
import json

import pytest

from goswarm.errors import PipelineError
from goswarm.plan import history


def entries(*runs_by_seq):
    """One entry per argument: {key: runs}."""
    return [json.loads(history.entry(seq, f"t{seq}", {k: ("p/" + k, f"tag{seq}", r) for k, r in runs.items()}))
            for seq, runs in enumerate(runs_by_seq, start=1)]


def test_n_back_counts_the_distinct_releases_of_that_service():
    log = entries({"api": "sha256:a", "goswarm-edge": "sha256:e1"}, {"api": "sha256:b"}, {"web": "sha256:w"},
                  {"api": "sha256:c", "goswarm-edge": "sha256:e2"})
    assert history.back(log, "api", 0)["runs"] == "sha256:c"
    assert [history.back(log, "api", n)["tag"] for n in (1, 2)] == ["tag2", "tag1"]
    assert history.back(log, "goswarm-edge", 1)["runs"] == "sha256:e1"
    assert history.back(log, "db", 1) is None
    with pytest.raises(PipelineError, match="api has 2 earlier release\\(s\\) in the history, so it cannot go 3 back"):
        history.back(log, "api", 3)


def test_a_release_that_came_back_counts_where_it_last_ran():
    log = entries({"api": "sha256:a"}, {"api": "sha256:b"}, {"api": "sha256:a"})
    assert [r["runs"] for r in history.releases_of(log, "api")] == ["sha256:a", "sha256:b"]


def test_the_objects_name_is_short_whatever_the_project():
    name = history.object_name("p" * 57, 123)
    assert name.startswith("goswarm-release-") and name.endswith("-000123") and len(name) <= 64
    assert history.object_name("a", 1) != history.object_name("b", 1)


def test_an_edge_goes_back_with_its_app_to_what_ran_then():
    log = entries({"api": "sha256:a", "goswarm-edge": "sha256:e1"}, {"api": "sha256:b"},
                  {"api": "sha256:c", "goswarm-edge": "sha256:e2"})
    release = history.back(log, "api", 1)
    assert release["seq"] == 2 and history.ran_with(log, "goswarm-edge", release["seq"])["runs"] == "sha256:e1"
    assert history.ran_with(log, "web", 3) is None
