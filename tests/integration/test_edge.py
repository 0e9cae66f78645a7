"""publish_mode: edge on a real engine: the edge holds the port, the app updates start-first, and a client
polling throughout never sees a failed request, on a single node without IPVS."""
import subprocess
import time

import pytest

from helpers import (
    Poller,
    assert_one_line_error,
    edit,
    free_port,
    http_get,
    processes_naming,
    running_image,
    start_inv,
    version,
    wait_for,
)

PERSON = '{"id":"10000","name":"Person_0"}\n'


@pytest.fixture
def edged(swarm):
    port = free_port()
    name = swarm.add_service("accountservice", port=6767, publish=port, publish_mode="edge", replicas=1,
                             smoke="/accounts/10000")
    result = swarm.inv("redeploy", "--service", name)
    assert f"create service {name}-edge" in result.output
    swarm.names.append(f"{name}-edge")  # cleaned up with the test's services
    return name, f"http://127.0.0.1:{port}/accounts/10000"


def test_an_update_behind_the_edge_drops_no_request(swarm, edged):
    name, url = edged
    assert http_get(url) == PERSON
    edge_version = version(swarm, f"{name}-edge")
    assert swarm.service(name)["Spec"]["EndpointSpec"].get("Ports") in (None, [])  # the edge holds the port
    edit(swarm, "accountservice", '"Person_"', '"Edged_"')
    with Poller(url) as a, Poller(url) as b, Poller(url) as c:
        result = swarm.inv("redeploy", "--service", name)
        wait_for(lambda: http_get(url) == '{"id":"10000","name":"Edged_0"}\n', 10, "the new release")
    answers = a.answers + b.answers + c.answers
    assert "start-first, one task at a time" in result.output
    # start-first needs no trial container: the old task serves until the new one is healthy, and a new task's
    # first health check reads the smoke path too
    assert "trial container" not in result.output
    check = swarm.service(name)["Spec"]["TaskTemplate"]["ContainerSpec"]["Healthcheck"]["Test"]
    assert check[check.index("-smoke") + 1] == "http://127.0.0.1:6767/accounts/10000"
    assert f"{name}-edge: no change" in result.output and version(swarm, f"{name}-edge") == edge_version
    assert len(answers) > 50
    assert set(answers) <= {PERSON, '{"id":"10000","name":"Edged_0"}\n'}, [x for x in answers if "failed" in x][:3]


def test_a_crashing_release_behind_the_edge_is_refused_without_a_failed_request(swarm, edged):
    name, url = edged
    image = running_image(swarm, name)
    edit(swarm, "accountservice", "func main() {", "func main() {\n\tos.Exit(5)")
    with Poller(url) as poller:
        started = time.monotonic()
        result = swarm.inv("redeploy", "--service", name, check=False)
        took = time.monotonic() - started
    assert result.returncode == 1 and "Traceback" not in result.output
    assert "exit (5)" in result.stderr and "runs again" in result.stderr, result.stderr
    assert took < 60 and running_image(swarm, name) == image
    assert len(poller.answers) > 10 and set(poller.answers) == {PERSON}


def test_switching_between_host_and_edge_keeps_the_port(swarm):
    port = free_port()
    url = f"http://127.0.0.1:{port}/accounts/10000"
    name = swarm.add_service("accountservice", port=6767, publish=port, publish_mode="host", smoke="/accounts/10000")
    swarm.names.append(f"{name}-edge")
    swarm.inv("redeploy", "--service", name)
    swarm.config["services"][name]["publish_mode"] = "edge"
    swarm.inv("redeploy", "--service", name)
    assert swarm.service(f"{name}-edge") is not None and http_get(url) == PERSON
    swarm.config["services"][name]["publish_mode"] = "host"
    result = swarm.inv("redeploy", "--service", name)
    assert f"remove service {name}-edge: {name} no longer uses publish_mode: edge" in result.output
    assert swarm.service(f"{name}-edge") is None and http_get(url) == PERSON
    swarm.inv("deploy.rm", "--service", name)


def test_a_change_of_the_users_ldflags_leaves_the_edge_as_it_is(swarm, edged):
    name, url = edged
    edge, image, app = version(swarm, f"{name}-edge"), running_image(swarm, f"{name}-edge"), version(swarm, name)
    swarm.config.setdefault("build", {})["ldflags"] = "-s -w -X main.release=ldflags-changed"
    result = swarm.inv("redeploy", "--service", name)
    assert f"{name}-edge: no change" in result.output and version(swarm, name) > app  # the app did change
    assert version(swarm, f"{name}-edge") == edge and running_image(swarm, f"{name}-edge") == image
    assert http_get(url) == PERSON


def test_swarm_status_names_a_published_port_whose_mapping_is_gone(swarm, edged):
    """The engine's docker-proxy of a host-mode port exits (seen when a load ran past its fd limit): the edge's
    task still runs and is healthy, and swarm.status says the port refuses and what to do."""
    import os
    import signal

    name, url = edged
    port = int(url.split(":")[2].split("/")[0])
    row = next(line for line in swarm.inv("swarm.status").output.splitlines() if line.startswith(f"{name}-edge "))
    assert f"{port} host: answers" in row, row
    proxies = processes_naming(f"-host-port {port} ")
    assert proxies, "no docker-proxy for the port"
    for pid in proxies:
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: "refused" in swarm.inv("swarm.status").output, 10, "the port to refuse")
    row = next(line for line in swarm.inv("swarm.status").output.splitlines() if line.startswith(f"{name}-edge "))
    assert f"{port} host: refused (the engine's mapping of the port is gone: `docker service update --force` it)" \
        in row and " 1/1 " in row, row
    # the fix the line names, as a user would run it:
    subprocess.run(["docker", "service", "update", "--force", "--detach=false", "-q", f"{name}-edge"], check=True,
                   capture_output=True, timeout=120)
    assert wait_for(lambda: http_get(url), 30, "the port again") == PERSON


def test_the_edge_is_built_from_an_haproxy_image_where_this_machines_cannot_serve(swarm, edged):
    """image.edge_base (and, on a machine without a Linux HAProxy for the swarm's platform, the official image): the
    edge is built FROM it. No image can be pulled here, so the base is the edge made of this machine's HAProxy; a
    base the engine cannot get fails in one line that says why it was chosen, and nothing changes."""
    name, url = edged
    edge, app = version(swarm, f"{name}-edge"), version(swarm, name)
    swarm.config["image"]["edge_base"] = "127.0.0.1:1/goswarm-test/no-such-haproxy:1"  # nothing listens there
    failed = swarm.inv("redeploy", "--service", name, check=False)
    assert_one_line_error(failed, "the HTTP edge is built FROM 127.0.0.1:1/goswarm-test/no-such-haproxy:1 because "
                                  "image.edge_base says so: let the engine pull it")
    assert (version(swarm, f"{name}-edge"), version(swarm, name)) == (edge, app)

    base = f"{swarm.config['image']['prefix']}/haproxy-base:test"
    swarm.engine.images.get(running_image(swarm, f"{name}-edge")).tag(base)
    swarm.config["image"]["edge_base"] = base
    with Poller(url) as poller:
        result = swarm.inv("redeploy", "--service", name)
    # built FROM the base (or found, built so by an earlier run: the same base and config make the same tag)
    assert f"update service {name}-edge" in result.output, result.output
    assert http_get(url) == PERSON and len(poller.answers) > 5
    image = swarm.engine.images.get(running_image(swarm, f"{name}-edge"))
    assert image.attrs["Config"]["Entrypoint"] == ["haproxy", "-W", "-db", "-f", "/etc/haproxy/haproxy.cfg"]


SLOW = '''mux.HandleFunc("/health", health)
	slow := http.NewServeMux()
	slow.HandleFunc("/slow", func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(3 * time.Second)
		fmt.Fprint(w, "slow done")
	})
	slow.Handle("/", getOnly(mux))
	return slow'''


def test_a_post_in_flight_on_a_stopping_task_completes(swarm):
    """A request that cannot be sent twice (a POST taking 3 s) is in flight on the old task when the rollout stops
    it: the task was out of the edge's set first, and finishes its requests on SIGTERM within its grace period."""
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    port = free_port()
    name = swarm.add_service("accountservice", port=6767, publish=port, publish_mode="edge", smoke="/accounts/10000")
    swarm.names.append(f"{name}-edge")
    edit(swarm, "accountservice", 'mux.HandleFunc("/health", health)\n\treturn getOnly(mux)', SLOW)
    swarm.inv("redeploy", "--service", name)

    def post(_) -> str:
        request = urllib.request.Request(f"http://127.0.0.1:{port}/slow", data=b"order", method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return f"{answer.status} {answer.read().decode()}"
        except OSError as e:
            return f"failed: {e}"

    with ThreadPoolExecutor(max_workers=40) as pool:
        run = start_inv(swarm, "redeploy", "--service", name, "--force")
        answers = []
        while run.poll() is None:  # a new POST every 0.25 s for as long as the rollout runs
            answers.append(pool.submit(post, None))
            time.sleep(0.25)
        out = run.stdout.read()
        answers = [a.result() for a in answers]
    assert run.returncode == 0, out
    assert len(answers) > 12 and set(answers) == {"200 slow done"}, [a for a in answers if a != "200 slow done"]
