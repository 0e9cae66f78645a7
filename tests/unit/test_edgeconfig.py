import json

from goswarm.plan import edgeconfig


def proxy_of(cfg):
    return cfg["apps"]["http"]["servers"]["edge"]["routes"][0]["handle"][0]


def test_the_edge_listens_on_the_published_port_and_proxies_to_the_apps_tasks_by_dns():
    cfg = edgeconfig.caddy(8080, "accountservice", 6767, 10)
    assert cfg["apps"]["http"]["servers"]["edge"]["listen"] == [":8080"]
    upstreams = proxy_of(cfg)["dynamic_upstreams"]
    assert (upstreams["source"], upstreams["name"], upstreams["port"]) == ("a", "tasks.accountservice", "6767")
    assert upstreams["resolver"] == {"addresses": ["127.0.0.11:53"]}


def test_the_dns_refresh_is_well_inside_the_two_seconds_swarm_waits_before_sigterm():
    refresh = proxy_of(edgeconfig.caddy(80, "a", 1, 10))["dynamic_upstreams"]["refresh"]
    assert refresh.endswith("ms") and int(refresh[:-2]) <= 500


def test_idempotent_requests_are_retried_on_another_task_and_a_failed_task_is_left_out():
    proxy = proxy_of(edgeconfig.caddy(80, "a", 1, 10))
    balancing = proxy["load_balancing"]
    assert balancing["retry_match"] == [{"method": ["GET", "HEAD", "OPTIONS"]}]
    assert balancing["try_duration"] and balancing["try_interval"]
    assert proxy["health_checks"]["passive"]["max_fails"] == 1
    assert proxy["transport"]["keep_alive"]["enabled"] is True


def test_nothing_is_written_to_disk_and_nothing_listens_but_the_port():
    cfg = edgeconfig.caddy(80, "a", 1, 7)
    assert cfg["admin"] == {"disabled": True, "config": {"persist": False}}
    assert cfg["apps"]["http"]["servers"]["edge"]["automatic_https"] == {"disable": True}
    assert cfg["apps"]["tls"] == {"disable_storage_clean": True}
    assert cfg["apps"]["http"]["grace_period"] == "7s"


def test_the_env_is_one_compact_stable_json_value():
    first, second = edgeconfig.env(80, "a", 1, 10), edgeconfig.env(80, "a", 1, 10)
    assert first == second and list(first) == ["EDGE_CONFIG"]
    assert " " not in first["EDGE_CONFIG"] and json.loads(first["EDGE_CONFIG"]) == edgeconfig.caddy(80, "a", 1, 10)
