import re
import shutil
import subprocess

import pytest

from goswarm.plan import config, edgeproxy

LDD = """\tlinux-vdso.so.1 (0x00007ffd)
\tlibssl.so.3 => /lib/x86_64-linux-gnu/libssl.so.3 (0x00007fbc59ff4000)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007fbc59408000)
\t/lib64/ld-linux-x86-64.so.2 (0x00007fbc5a0ed000)
"""


def lines(prefix: str) -> list:
    return [line.strip() for line in edgeproxy.HAPROXY_CFG.splitlines() if line.strip().startswith(prefix)]


def test_the_config_names_no_app_the_service_env_says_which():
    assert edgeproxy.env(8080, "accountservice", 6767, 3) == {
        "EDGE_PORT": "8080", "EDGE_APP": "accountservice", "EDGE_APP_PORT": "6767", "EDGE_SLOTS": "16",
        "EDGE_TIMEOUT": "60000ms"}
    assert lines("bind") == ['bind ":${EDGE_PORT}"']
    template = lines("server-template")[0]
    assert '"tasks.${EDGE_APP}:${EDGE_APP_PORT}" resolvers docker' in template and "init-addr libc,none" in template


def test_there_are_slots_for_an_old_and_a_new_task_of_every_replica():
    assert edgeproxy.slots(1) == 16 and edgeproxy.slots(20) == 42


def test_the_dns_is_asked_again_well_inside_the_two_seconds_swarm_waits_before_sigterm():
    holds = {line.split()[1]: line.split()[2] for line in lines("hold")}
    assert holds["valid"] == "250ms" and holds["obsolete"] == "0s"
    assert "check inter 500ms fall 1" in lines("server-template")[0]
    assert lines("nameserver") == ["nameserver dns 127.0.0.11:53"]


def test_only_idempotent_requests_are_retried_after_they_were_sent():
    assert lines("retry-on") == ["retry-on conn-failure empty-response response-timeout"]
    assert lines("option redispatch") and lines("retries")
    assert lines("http-request disable-l7-retry") == [
        "http-request disable-l7-retry unless { method GET HEAD OPTIONS }"]


def test_it_stops_softly_within_its_grace_as_nobody():
    assert lines("hard-stop-after") == ["hard-stop-after 10s"]
    changes = edgeproxy.image_changes()
    assert "USER 65534:65534" in changes and edgeproxy.STOP_SIGNAL == "SIGUSR1"
    assert not lines("stats socket") and lines("log ") == ["log stderr format raw local0", "log global"]
    assert lines("option dontlog-normal")  # only what failed or was retried


def test_ldd_output_gives_every_library_and_the_loader():
    assert edgeproxy.libraries(LDD) == ["/lib/x86_64-linux-gnu/libssl.so.3", "/lib/x86_64-linux-gnu/libc.so.6",
                                         "/lib64/ld-linux-x86-64.so.2"]
    with pytest.raises(ValueError, match="libfoo.so.1 => not found"):
        edgeproxy.libraries("\tlibfoo.so.1 => not found\n")


def test_haproxy_accepts_the_config(tmp_path):  # .ci/run installs it, as edge mode needs it
    (tmp_path / "haproxy.cfg").write_text(edgeproxy.HAPROXY_CFG)
    env = {"EDGE_PORT": "8080", **edgeproxy.env(8080, "app", 6767)}
    command = [shutil.which("haproxy") or "/usr/sbin/haproxy", "-c", "-f", str(tmp_path / "haproxy.cfg")]
    checked = subprocess.run(command, env=env, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # Only Docker's DNS knows tasks.app: libc cannot resolve it here, and a new edge starts without tasks until
    # its resolver finds them (init-addr libc,none). Any other warning is the config's.
    said = [line for line in (checked.stdout + checked.stderr).splitlines()
            if "WARNING" in line and "could not resolve address 'tasks.app'" not in line]
    assert not said, said


def test_the_response_timeout_is_the_services_and_haproxy_takes_it(tmp_path):
    app = config.parse_service("app", {"path": ".", "port": 80, "publish": 8080, "publish_mode": "edge",
                                       "response_timeout": 1.5}, tmp_path)
    assert config.edge_of(app, tmp_path).env["EDGE_TIMEOUT"] == "1500ms"
    assert edgeproxy.env(8080, "app", 80)["EDGE_TIMEOUT"] == "60000ms"
    assert re.search(r'^backend app\n(  .*\n)*  timeout server "\$\{EDGE_TIMEOUT\}"\n', edgeproxy.HAPROXY_CFG, re.M)
    for raw, message in (({"publish": 8080}, "needs publish_mode: edge"),
                         ({"publish": 8080, "publish_mode": "edge", "protocol": "tcp"}, "needs publish_mode: edge"),
                         ({"publish": 8080, "publish_mode": "edge", "response_timeout": 0}, "from 0.1 to 3600")):
        with pytest.raises(config.ConfigError, match=message):
            config.parse_service("app", {"path": ".", "port": 80, "response_timeout": 5, **raw}, tmp_path)


def spec(image: str, runs: str = "") -> dict:
    labels = {edgeproxy.RELOAD_LABEL: edgeproxy.RELOAD_SIGNAL, **({edgeproxy.RUNS_LABEL: runs} if runs else {})}
    return {"Labels": labels, "TaskTemplate": {"ContainerSpec": {"Image": image}}}


def test_the_tasks_to_reload_are_those_that_run_another_image_than_the_one_wanted():
    tasks = [{"ID": "t1"}, {"ID": "t2"}]
    assert edgeproxy.tasks_to_reload(spec("sha256:a"), "sha256:a", tasks) == []
    assert edgeproxy.tasks_to_reload(spec("sha256:a"), "sha256:b", tasks) == tasks
    # t1 and t2 took b in place; a task started since (t3) runs the spec's own image, a
    reloaded = spec("sha256:a", edgeproxy.runs_label("sha256:b", ["t2", "t1"]))
    assert reloaded["Labels"][edgeproxy.RUNS_LABEL] == "sha256:b t1,t2"
    assert edgeproxy.tasks_to_reload(reloaded, "sha256:b", tasks + [{"ID": "t3"}]) == [{"ID": "t3"}]
    # going back to the spec's image (a rollback) reloads the tasks that took another
    assert edgeproxy.tasks_to_reload(reloaded, "sha256:a", tasks + [{"ID": "t3"}]) == tasks


def test_a_reload_is_seen_by_the_worker_that_the_master_starts_with_minus_sf():
    before = {"101", "102"}
    master = ("101", "/usr/sbin/haproxy -W -db -f /etc/haproxy/haproxy.cfg")
    old = ("102", "/usr/sbin/haproxy -W -db -f /etc/haproxy/haproxy.cfg")
    assert not edgeproxy.new_worker(before, [master, old])
    assert not edgeproxy.new_worker(before, [master, old, ("103", "/usr/sbin/haproxy -W -db -f x.cfg")])
    assert edgeproxy.new_worker(before, [master, old, ("103", "/usr/sbin/haproxy -sf 102 -x sockpair@3 -W -db")])
    # the master runs HAProxy's own binary again: the worker it starts is the sign, not the master's pid
    assert not edgeproxy.new_worker({"101", "103"}, [master, ("103", "/usr/sbin/haproxy -sf 102 -x sockpair@3")])


def test_the_edge_runs_haproxy_as_a_master_that_reloads_on_sigusr2():
    assert any('"-W"' in change for change in edgeproxy.image_changes())
    assert '"-W"' in edgeproxy.base_dockerfile("haproxy:2.8-alpine", "probe", "/.goswarm/probe")
    assert edgeproxy.RELOAD_SIGNAL == "SIGUSR2" and edgeproxy.STOP_SIGNAL == "SIGUSR1"
