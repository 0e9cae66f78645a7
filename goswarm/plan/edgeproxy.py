"""The HTTP edge of `publish_mode: edge`: HAProxy, its config, and what makes its image. Pure.

The image is the same for every app: HAProxy, its libraries and HAPROXY_CFG, FROM scratch. The config names no app:
HAProxy fills in "${EDGE_...}" from the task's environment (see env()), so the service spec says which app.

Why each setting (swarm 20.10 takes a stopping task out of its DNS name, waits about 2 s, then sends SIGTERM):
- the app's tasks come from Docker's embedded DNS (`tasks.<app>`), asked again every 250 ms and held for no
  longer, well inside those 2 s, so a stopping task gets no new request before its SIGTERM; each task is also
  checked every 500 ms, and left out at its first failed check;
- a request that cannot reach a task (refused, reset, a connect timeout) is sent to another task (redispatch),
  up to RETRIES times; a GET, HEAD or OPTIONS request is also retried when the task closed without an answer
  or did not answer within the service's `response_timeout` (60 s by default). Other methods are never sent
  twice;
- connections to clients are kept alive; HAProxy's own connections to tasks are reused when safe. An old worker
  (after a reload) or a stopping edge closes a client's idle connection only with its next answer ("Connection:
  close"), never between requests, where the client's next request would meet a closed connection;
- a new worker (after a reload) resolves the app's tasks through libc as it starts, so it has tasks to send
  requests to before its first DNS answer;
- only the requests that failed or were retried are logged, to stderr (`docker service logs <app>-edge`);
- on SIGUSR1 (the edge service's stop signal) it stops listening and finishes the requests in flight, for up to
  GRACE; it writes nothing to disk and has no admin socket.

The edge itself changes in place. HAProxy runs as a master (`-W`, PID 1) and a worker. When only the edge's image
changes (a goswarm or HAProxy upgrade), goswarm puts the new image's files into each running edge task and sends
its master SIGUSR2. The master runs the new binary with the new config, and the new worker takes over the
listening socket from the old one. The old worker finishes its requests and closes its connections as they go
idle. So the port never closes, and the tasks stay as they are (tasks_to_reload).
"""
import re

GRACE = "10s"  # what the edge gives requests in flight when it stops (its stop grace period is longer)
RETRIES = 20
# How long the edge waits for a task's answer (`response_timeout:`): then a GET, HEAD or OPTIONS request is sent
# to another task (a task on a node that died never answers), any other gets 504.
RESPONSE_TIMEOUT = 60.0
CHECK_EVERY = "500ms"
RESOLVER = "127.0.0.11:53"  # Docker's embedded DNS, on every container of a user-defined network
IDEMPOTENT = ("GET", "HEAD", "OPTIONS")
STOP_SIGNAL = "SIGUSR1"  # HAProxy's soft stop; SIGTERM would close every connection at once
HAPROXY_CFG_PATH = "/etc/haproxy/haproxy.cfg"
BINARY_PATH = "/usr/sbin/haproxy"
# Where this machine's HAProxy cannot be used (none installed, not Linux, another platform than the swarm's), the
# edge is built FROM the official image instead, pulled by the engine: an LTS branch, multi-platform.
EDGE_BASE = "haproxy:2.8-alpine"

# On an edge service whose tasks run HAProxy as a master: the signal that reloads it in place.
RELOAD_LABEL = "io.goswarm.edge-reload"
RELOAD_SIGNAL = "SIGUSR2"
# After a reload in place: "IMAGE TASK,TASK…", the image whose files those running tasks took. Every other task
# of the service runs its spec's own image (a task started since, say after a node restarted).
RUNS_LABEL = "io.goswarm.edge-runs"

SERVER = f"resolvers docker resolve-prefer ipv4 init-addr libc,none check inter {CHECK_EVERY} fall 1 rise 1"
HAPROXY_CFG = f"""# goswarm's HTTP edge. HAProxy fills in ${{EDGE_...}} from the service's environment,
# and sets maxconn from the task's fd limit.
global
  hard-stop-after {GRACE}
  log stderr format raw local0
defaults
  mode http
  log global
  option httplog
  option dontlog-normal
  option http-keep-alive
  option idle-close-on-response
  option redispatch 1
  retries {RETRIES}
  retry-on conn-failure empty-response response-timeout
  timeout connect 1s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 60s
  timeout http-request 30s
  timeout queue 10s
resolvers docker
  nameserver dns {RESOLVER}
  accepted_payload_size 8192
  resolve_retries 3
  timeout resolve 250ms
  timeout retry 250ms
  hold valid 250ms
  hold obsolete 0s
  hold nx 250ms
  hold refused 250ms
  hold other 250ms
  hold timeout 250ms
frontend edge
  bind ":${{EDGE_PORT}}"
  default_backend app
backend app
  balance leastconn
  timeout server "${{EDGE_TIMEOUT}}"
  http-request disable-l7-retry unless {{ method {' '.join(IDEMPOTENT)} }}
  server-template task "${{EDGE_SLOTS}}" "tasks.${{EDGE_APP}}:${{EDGE_APP_PORT}}" {SERVER}
"""


def slots(replicas: int) -> int:
    """Server slots for the app's tasks: a start-first update runs an old and a new task of each replica."""
    return max(16, 2 * replicas + 2)


def env(port: int, app: str, app_port: int, replicas: int = 1, timeout: float = RESPONSE_TIMEOUT) -> dict:
    """The edge task's environment: which app this edge is for, and how long it waits for a task's answer."""
    return {"EDGE_PORT": str(port), "EDGE_APP": app, "EDGE_APP_PORT": str(app_port),
            "EDGE_SLOTS": str(slots(replicas)), "EDGE_TIMEOUT": f"{round(timeout * 1000)}ms"}


def libraries(ldd_output: str) -> list:
    """The shared libraries `ldd <haproxy>` lists (the loader included), each as the path it resolved to."""
    found = []
    for line in ldd_output.splitlines():
        if "not found" in line:
            raise ValueError(f"a library of HAProxy is missing on this machine: {line.strip()}")
        match = re.search(r"(/\S+)\s+\(0x", line)
        if match and match.group(1) not in found:
            found.append(match.group(1))
    return found


def base_dockerfile(base: str, probe: str, probe_path: str) -> str:
    """The edge's Dockerfile FROM an HAProxy image (`image.edge_base`, or EDGE_BASE): HAPROXY_CFG and the probe on top,
    HAProxy run as image_changes() runs this machine's."""
    return (f"FROM {base}\nCOPY haproxy.cfg {HAPROXY_CFG_PATH}\nCOPY {probe} {probe_path}\nUSER 65534:65534\n"
            f'ENTRYPOINT ["haproxy", "-W", "-db", "-f", "{HAPROXY_CFG_PATH}"]\nCMD []\n')


def image_changes() -> list:
    """The image's config: HAProxy's master in the foreground, as nobody (the edge's spec gives its STOP_SIGNAL,
    which the master passes on to its worker)."""
    return ["USER 65534:65534", f'ENTRYPOINT ["{BINARY_PATH}", "-W", "-db", "-f", "{HAPROXY_CFG_PATH}"]']


def runs_label(image: str, task_ids) -> str:
    return f"{image} {','.join(sorted(task_ids))}"


def tasks_to_reload(spec: dict, image: str, running: list) -> list:
    """The running tasks of an edge service (task inspects) that do not run `image`: a task that RUNS_LABEL
    lists runs the image it names (it took its files in place); any other runs the spec's own image."""
    took, _, ids = (spec.get("Labels") or {}).get(RUNS_LABEL, "").partition(" ")
    listed = set(filter(None, ids.split(",")))
    own = ((spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("Image")
    return [t for t in running if (took if t["ID"] in listed else own) != image]


def new_worker(before: set, processes: list) -> bool:
    """Has HAProxy's master started a worker since `before` (the pids then)? A worker it starts on a reload is
    told the old workers to stop (-sf). processes: (pid, command line) from the engine's `top`."""
    return any(pid not in before and " -sf " in f" {command} " for pid, command in processes)
