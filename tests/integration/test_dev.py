"""inv dev on a real engine: a saved change is served, a compile error keeps the old version up, Ctrl-C stops."""
import os
import re
import signal
import subprocess
import time

import pytest

from helpers import ROOT, assert_one_line_error, free_port, http_get, wait_for

TABLE = re.compile(r"^stage\s+time\s+result$", re.MULTILINE)


class Dev:
    """`inv dev` in the background, with the argv and environment of Project.inv; output in a file."""

    def __init__(self, project, *args):
        self.log = project.tmp / "dev.log"
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen(
                project.argv("dev", *args), cwd=ROOT, env=project.environ(), stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)

    @property
    def output(self) -> str:
        return self.log.read_text()

    def wait_for_output(self, text: str, count: int = 1, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while self.output.count(text) < count:
            if self.proc.poll() is not None:
                pytest.fail(f"inv dev exited {self.proc.returncode} before printing {text!r}:\n{self.output}")
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout}s waiting for {text!r} x{count} from inv dev:\n{self.output}")
            time.sleep(0.2)
        return self.output

    def ctrl_c(self) -> int:
        os.killpg(self.proc.pid, signal.SIGINT)  # as a terminal does: the whole foreground group
        return self.proc.wait(30)

    def kill(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


def serves(url: str, name: str) -> bool:
    return http_get(url) == f'{{"id":"10000","name":"{name}0"}}\n'


def test_dev_serves_each_saved_change_and_survives_a_compile_error(swarm):
    port = free_port()
    name = swarm.add_service("accountservice", port=6767, publish=port, publish_mode="host", smoke="/accounts/10000")
    url = f"http://127.0.0.1:{port}/accounts/10000"
    main_go = swarm.source("accountservice")
    good = main_go.read_text()
    dev = Dev(swarm, "--service", name)
    try:
        dev.wait_for_output(f"dev: {name} is serving the sources")
        dev.wait_for_output("Watching…")
        assert serves(url, "Person_")
        assert len(TABLE.findall(dev.output)) == 1

        edited = f"Edited{os.getpid()}_"
        main_go.write_text(good.replace('"Person_"', f'"{edited}"'))
        wait_for(lambda: serves(url, edited), 60, f"{edited} to be served")
        out = dev.wait_for_output(f"dev: {name} is serving the change (total ")
        assert f"change in {name} (main.go) -> redeploy" in out
        assert len(TABLE.findall(out)) == 2
        cycle = out[out.index(f"change in {name}"):]
        for stage in ("build", "image", "deploy", "smoke", "total"):
            assert re.search(rf"^{stage}\s+\d+\.\d\ds", cycle, re.MULTILINE), cycle

        broken = good.replace('"Person_"', f'"{edited}"').replace("func main() {", "func main() {\n\tnoSuchThing()", 1)
        main_go.write_text(broken)
        out = dev.wait_for_output("the running version stays up. Watching…")
        assert "undefined: noSuchThing" in out  # the compiler's own message
        failed = [line for line in out.splitlines() if line.startswith("dev: ") and "stays up" in line]
        assert len(failed) == 1 and f"compile failed for {name}" in failed[0], out
        assert serves(url, edited)

        fixed = f"Fixed{os.getpid()}_"
        main_go.write_text(good.replace('"Person_"', f'"{fixed}"'))
        wait_for(lambda: serves(url, fixed), 60, f"{fixed} to be served")
        dev.wait_for_output(f"dev: {name} is serving the change (total ", count=2)

        main_go.with_name("main_test.go").write_text("package main\n")  # cannot change the binary
        again = f"Again{os.getpid()}_"
        main_go.write_text(good.replace('"Person_"', f'"{again}"'))  # a real change after it
        out = dev.wait_for_output(f"dev: {name} is serving the change (total ", count=3)
        changes = [line for line in out.splitlines() if f"change in {name}" in line]
        # The real change's line names main.go alone, and no cycle ran for main_test.go before it.
        assert len(changes) == 4 and changes[-1].endswith(f"] change in {name} (main.go) -> redeploy"), out
        assert serves(url, again)

        assert dev.ctrl_c() == 0, dev.output
    finally:
        dev.kill()
    assert dev.output.rstrip().endswith("dev: stopped")
    assert "Traceback" not in dev.output


def test_ctrl_c_in_the_middle_of_a_redeploy_exits_130(swarm):
    port = free_port()
    name = swarm.add_service("accountservice", port=6767, publish=port, publish_mode="host", smoke="/accounts/10000")
    main_go = swarm.source("accountservice")
    dev = Dev(swarm, "--service", name)
    try:
        dev.wait_for_output(f"dev: {name} is serving the sources")
        main_go.write_text(main_go.read_text().replace('"Person_"', '"Interrupted_"'))
        dev.wait_for_output(f"change in {name} (main.go) -> redeploy")
        dev.wait_for_output(f"update service {name}")  # the deploy stage: the swarm is rolling the service
        assert dev.ctrl_c() == 130, dev.output
    finally:
        dev.kill()
    out = dev.output
    assert "dev: stopped" in out and "Traceback" not in out, out
    assert "is serving the change" not in out, out


def test_dry_run_and_mistakes(swarm):
    name = swarm.add_service("accountservice", port=6767, publish=free_port(), smoke="/accounts/10000")
    dry = swarm.inv("dev", "--service", name, dry=True)
    assert f"[dry] would watch {swarm.tmp / 'src' / 'accountservice'} and redeploy {name} when it changes" in dry.output
    assert f"[dry] would create service {name}" in dry.output
    assert swarm.service(name) is None
    assert_one_line_error(swarm.inv("dev", "--service", "nosuch", check=False), "unknown service 'nosuch'")
    assert_one_line_error(swarm.inv("dev", "--debounce", "soon", check=False), "--debounce takes a number, got 'soon'")


@pytest.mark.parametrize("mode", ["host", "edge"])
def test_live_swaps_a_change_into_the_same_tasks_and_redeploy_puts_the_release_back(swarm, engine, mode):
    port = free_port()
    name = swarm.add_service("accountservice", suffix=f"-live{mode}", port=6767, publish=port, publish_mode=mode,
                             smoke="/accounts/10000", replicas=2 if mode == "edge" else 1)
    url = f"http://127.0.0.1:{port}/accounts/10000"
    main_go = swarm.source("accountservice")
    good = main_go.read_text()

    def running_tasks() -> set:
        return {t["ID"] for t in engine.api.tasks(filters={"service": name, "desired-state": "running"})
                if t["Status"]["State"] == "running"}

    dev = Dev(swarm, "--service", name, "--live")
    try:
        dev.wait_for_output(f"dev: {name} runs under goswarm's supervisor: a change of its Go code is swapped")
        assert serves(url, "Person_")
        spec = engine.api.inspect_service(name)["Spec"]
        assert spec["Labels"]["io.goswarm.live"] == "/service"
        assert spec["TaskTemplate"]["ContainerSpec"]["Command"][:2] == ["/.goswarm/probe", "-supervise"]
        tasks = running_tasks()

        edited = f"Live{os.getpid()}_"
        main_go.write_text(good.replace('"Person_"', f'"{edited}"'))
        out = dev.wait_for_output(f"dev: {name} is serving the change in the same {len(tasks)} task(s) (total ")
        assert serves(url, edited)  # served once the swap says so: no waiting
        assert f"change in {name} (main.go) -> swap into the running tasks" in out
        assert running_tasks() == tasks  # no new task, no rollout
        took = float(re.search(rf"dev: {name} is serving the change in the same \d+ task\(s\) \(total ([\d.]+) s\)",
                               out).group(1))
        assert took < 30, out

        broken = good.replace("func main() {", "func main() {\n\tnoSuchThing()", 1)
        main_go.write_text(broken)
        out = dev.wait_for_output("the running version stays up. Watching…")
        assert "undefined: noSuchThing" in out
        assert serves(url, edited) and running_tasks() == tasks
        assert "(live: no release until the next redeploy)" in swarm.inv("swarm.status").output

        if mode == "host":  # it compiles, but never listens: the swap says why, read from the probe in the task
            said = dev.output.count("Watching…")
            main_go.write_text(good.replace('\tport := os.Getenv("PORT")',
                                            '\ttime.Sleep(time.Hour)\n\tport := os.Getenv("PORT")', 1))
            out = dev.wait_for_output("Watching…", count=said + 1, timeout=120)
            failed = [line for line in out.splitlines() if "did not start in task" in line]
            # The probe's own words after 10 s, and that the task runs the new program; or, as the task fails its health
            # check within 2 s, what the engine did about it, and what serves then
            assert len(failed) == 1 and (
                "started again, but not ready within 10s: dial tcp" in failed[0]
                and failed[0].endswith("that task runs the new program, which is not ready; the next save swaps "
                                       "again. Watching…")
                or "the engine stopped the task while the new program started" in failed[0]
                and failed[0].endswith("until the next save, that task serves the image's version. Watching…")), out
        assert dev.ctrl_c() == 0
    finally:
        dev.kill()
        main_go.write_text(good)
    result = swarm.inv("redeploy", "--service", name)  # a live session is no release: redeploy puts one back
    spec = engine.api.inspect_service(name)["Spec"]
    assert "io.goswarm.live" not in spec["Labels"] and "Command" not in spec["TaskTemplate"]["ContainerSpec"]
    assert serves(url, "Person_"), result.output
