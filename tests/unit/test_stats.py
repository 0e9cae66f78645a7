"""ops/stats.py without an engine: which engine each node of a recorded 3-node lab is asked at, which swarm
services stand behind configured ones, and how streams are followed and closed when their engine cannot be reached.
(Reading real engines, and a node going down, is tests/integration/test_stats.py.)"""
import threading

import pytest

from goswarm import settings
from goswarm.io import machines
from goswarm.ops import stats

from .recorded import payload


@pytest.fixture
def cfg(tmp_path, monkeypatch):
    monkeypatch.setenv("MACHINES_DIR", str(tmp_path / "machines"))
    monkeypatch.setenv("GOSWARM_ROOT", str(tmp_path))
    (tmp_path / "web").mkdir()
    return settings.read({"services": {"web": {"path": "web", "port": 80, "publish": 8080, "publish_mode": "edge"},
                                       "db": {"path": "web", "port": 5432}}})


def test_service_names_add_the_edge_of_an_edge_mode_service(cfg):
    assert stats.service_names(cfg, list(cfg.services.values())) == ["web", "web-edge", "db"]
    assert stats.service_names(cfg, [cfg.services["db"]]) == ["db"]


def test_each_node_is_asked_at_its_machines_engine_and_the_manager_at_the_target(cfg):
    nodes = payload("lab-nodes")
    manager, worker, other = nodes
    machines.save(machines.Machine("lab-2", "netns", worker["Status"]["Addr"]))
    assert stats._engine_url(cfg, manager, manager["ID"]) == (cfg.target_url, None)
    assert stats._engine_url(cfg, worker, manager["ID"]) == ("ssh://root@10.77.0.3", None)
    url, why = stats._engine_url(cfg, other, manager["ID"])
    assert url is None and "no machine record for its address 10.77.0.4" in why


def test_a_node_the_manager_sees_as_down_is_not_asked(cfg):
    nodes = payload("lab-nodes")
    machines.save(machines.Machine("lab-2", "netns", nodes[1]["Status"]["Addr"]))
    nodes[1]["Status"]["State"] = "down"
    assert stats._engine_url(cfg, nodes[1], nodes[0]["ID"]) == (None, "the manager sees it as down")


def test_streams_follow_the_containers_asked_for_say_why_one_fails_and_close(tmp_path):
    nowhere = f"unix://{tmp_path}/no-engine.sock"
    a, b = "a" * 64, "b" * 64
    with stats.Streams() as streams:
        followed, opened = streams.follow({a: nowhere, b: nowhere})
        assert opened == [a, b] and set(followed) == {a, b}
        for stream in followed.values():
            assert stream.ready.wait(10)
            assert stream.error.startswith(f"cannot reach the Docker engine at {nowhere}")
            assert stream.pair == (None, None) and not stream.gone
        again, opened = streams.follow({a: nowhere})  # b's task ended: its stream is closed, a's kept as it is
        assert opened == [] and again == {a: followed[a]} and len(streams) == 1
    assert len(streams) == 0
    assert not [t for t in threading.enumerate() if t.name.startswith("stats-stream-")]
