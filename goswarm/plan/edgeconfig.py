"""The configuration of an app's HTTP edge (`publish_mode: edge`): Caddy JSON, given to the edge in EDGE_CONFIG.

The image is the same for every app; this is what makes it that app's. Pure.

Why each setting (swarm 20.10 takes a stopping task out of its DNS name, waits about 2 s, then sends SIGTERM):
- the app's tasks come from Docker's embedded DNS (`tasks.<app>`), asked again every REFRESH, well inside
  those 2 s, so a stopping task gets no new request before its SIGTERM;
- a request that cannot reach a task (refused, reset before an answer, a task gone from DNS) is tried on
  another task for up to TRY_DURATION; GET, HEAD and OPTIONS are retried even after they were sent;
- a task that failed is left out for FAIL_DURATION (passive health);
- connections to clients and to tasks are kept alive; nothing is written to disk (a scratch image): no admin
  endpoint, no automatic HTTPS, no saved config.
"""
import json

REFRESH = "250ms"
TRY_DURATION = "10s"
TRY_INTERVAL = "50ms"
FAIL_DURATION = "2s"
DIAL_TIMEOUT = "1s"
RESOLVER = "127.0.0.11:53"  # Docker's embedded DNS, on every container of a user-defined network
IDEMPOTENT = ["GET", "HEAD", "OPTIONS"]
GRACE = 10  # seconds the edge gives requests in flight when it stops (its stop grace period is longer)


def caddy(port: int, app: str, app_port: int, grace: int) -> dict:
    """The edge's config: listen on `port`, forward to the tasks of `app` on `app_port`; on SIGTERM, finish
    the requests in flight within `grace` seconds."""
    proxy = {
        "handler": "reverse_proxy",
        "dynamic_upstreams": {"source": "a", "name": f"tasks.{app}", "port": str(app_port), "refresh": REFRESH,
                              "resolver": {"addresses": [RESOLVER]}, "dial_timeout": DIAL_TIMEOUT,
                              "versions": {"ipv4": True}},
        "load_balancing": {"selection_policy": {"policy": "least_conn"}, "try_duration": TRY_DURATION,
                           "try_interval": TRY_INTERVAL, "retry_match": [{"method": IDEMPOTENT}]},
        "health_checks": {"passive": {"fail_duration": FAIL_DURATION, "max_fails": 1}},
        "transport": {"protocol": "http", "dial_timeout": DIAL_TIMEOUT,
                      "keep_alive": {"enabled": True, "max_idle_conns_per_host": 256, "idle_timeout": "30s"}},
    }
    server = {"listen": [f":{port}"], "automatic_https": {"disable": True}, "routes": [{"handle": [proxy]}],
              "idle_timeout": "60s"}
    return {
        "admin": {"disabled": True, "config": {"persist": False}},
        "logging": {"logs": {"default": {"level": "ERROR"}}},
        "apps": {"http": {"grace_period": f"{grace}s", "servers": {"edge": server}},
                 "tls": {"disable_storage_clean": True}},  # else it writes its storage's state to disk
    }


def env(port: int, app: str, app_port: int, grace: int) -> dict:
    """The edge task's environment: its config as one compact JSON value (sorted, so a spec compares equal)."""
    return {"EDGE_CONFIG": json.dumps(caddy(port, app, app_port, grace), sort_keys=True, separators=(",", ":"))}
