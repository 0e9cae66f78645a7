"""`goswarm viz` in a real headless Chromium (Debian's, driven by selenium and chromedriver) against a 3-node
netns lab: the columns and cards, a rolling update seen within a second or two of the engine (the lag is
measured and kept in tests/artifacts/viz-lag.json), a failing health check's error, the engine stopped."""
import json
import os
import shutil
import signal
import threading
import time

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service as DriverService
from test_lab import client_of, leftovers, records, rename_accounts

from goswarm.plan import topology
from helpers import (
    ROOT,
    SUFFIX,
    assert_one_line_error,
    free_port,
    lab_project,
    read_until,
    start_inv,
    wait_for,
)

PREFIX = f"vz{SUFFIX}"
MANAGER = f"{PREFIX}-1"
ARTIFACTS = ROOT / "tests" / "artifacts"
SECOND = 1_000_000_000


@pytest.fixture(scope="module")
def lab(tmp_path_factory, engine):
    project = lab_project(tmp_path_factory.mktemp("vizlab"), engine, PREFIX)
    project.pids, project.veths = [], []
    try:
        project.inv("lab.up", "--nodes", "3")
        project.pids = [pid for m in records(project) for pid in m["extras"]["pids"].values()]
        project.veths = [m["extras"]["veth"] for m in records(project)]
        project.service_name = project.add_service("accountservice", port=6767, publish=free_port(), replicas=3,
                                                   smoke="/accounts/10000")
        project.inv("redeploy", "--service", project.service_name)
        yield project
    finally:
        project.inv("lab.down", check=False)
        leftovers(project)


@pytest.fixture(scope="module")
def viz(lab):
    """`inv viz` against the lab's manager, over ssh:// as for any machine; stopped with Ctrl-C."""
    port = free_port()
    proc = start_inv(lab, "viz", "--port", str(port))
    try:
        read_until(proc, f"viz: serving http://127.0.0.1:{port}/", 60)
        lines = []  # read all along: a full pipe would block the server's prints
        reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
        reader.start()
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(20)
        reader.join(5)
        out = "".join(lines)
        (ARTIFACTS / "viz-server.log").write_text(out)
        assert proc.returncode == 0 and "viz: stopped" in out and "Traceback" not in out, out


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    for path in ("/usr/bin/chromium", "/usr/bin/chromedriver"):
        if not shutil.which(path):
            pytest.fail(f"{path} is missing: apt-get install chromium chromium-driver (.ci/run does)")
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    profile = tmp_path_factory.mktemp("chromium-profile")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1100,900",
                 f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=DriverService("/usr/bin/chromedriver"))
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


def manager(lab):
    return client_of(records(lab)[0])


def running(lab, name) -> list:
    return [t for t in manager(lab).api.tasks(filters={"service": name, "desired-state": "running"})
            if t["Status"]["State"] == "running"]


# The page renders every change anew; what a test reads of it, it reads in one go.
SNAPSHOT = """
const text = (e) => (e ? e.innerText : "");
return {
  banner: document.getElementById("banner").className.includes("shown") ? text(document.getElementById("banner")) : "",
  legend: text(document.getElementById("legend")),
  columns: Array.from(document.querySelectorAll(".node"), (col) => ({
    node: col.dataset.node || "", pending: col.classList.contains("pending"),
    title: text(col.querySelector("h2")), text: text(col),
    cards: Array.from(col.querySelectorAll(".card"), (c) => ({
      task: c.dataset.task, service: c.dataset.service, state: c.dataset.state, image: c.dataset.image,
      trouble: c.classList.contains("trouble"), text: text(c), error: text(c.querySelector(".error"))}))})),
};
"""


def page(browser) -> dict:
    return browser.execute_script(SNAPSHOT)


def cards(browser, service) -> list:
    return [(c["task"], c["state"], c["image"]) for col in page(browser)["columns"] for c in col["cards"]
            if c["service"] == service]


def banner(browser) -> str:
    return page(browser)["banner"]


def shot(browser, name: str) -> None:
    width = browser.execute_script("return document.getElementById('columns').scrollWidth")
    height = browser.execute_script("return document.body.scrollHeight")
    browser.set_window_size(max(1100, width + 40), max(700, height + 40))
    browser.save_screenshot(str(ARTIFACTS / name))


def test_three_node_columns_and_a_card_per_task(lab, viz, browser):
    name = lab.service_name
    tasks = running(lab, name)
    assert len(tasks) == 3
    browser.get(viz)
    seen = page(browser)
    columns = [c for c in seen["columns"] if not c["pending"]]
    assert sorted(c["title"] for c in columns) == [f"{PREFIX}-1", f"{PREFIX}-2", f"{PREFIX}-3"]
    assert "manager (leader) · active · ready" in columns[0]["text"] and "engine 20.10" in columns[0]["text"]
    for column in columns:  # one card per task, each in its own node's column
        assert [c["task"] for c in column["cards"] if c["service"] == name] == [
            t["ID"] for t in tasks if t["NodeID"] == column["node"]]
    shown = [c for col in columns for c in col["cards"] if c["service"] == name]
    assert sorted(c["task"] for c in shown) == sorted(t["ID"] for t in tasks)
    image = manager(lab).api.inspect_service(name)["Spec"]["Labels"]["io.goswarm.image"]
    assert {c["state"] for c in shown} == {"running"} and {c["image"] for c in shown} == {image}
    port = lab.config["services"][name]["publish"]
    assert all(f"port {port}->6767/host" in c["text"] and "healthy" in c["text"] for c in shown)
    assert f"{lab.network} (overlay)" in seen["legend"]
    assert seen["banner"] == ""
    shot(browser, "viz-lab.png")


@pytest.mark.exclusive  # it times the page against the engine: nothing may run beside it
def test_a_rolling_update_reaches_the_page_within_two_seconds_of_the_engine(lab, viz, browser):
    name = lab.service_name
    browser.get(viz)
    before = manager(lab).api.inspect_service(name)["Spec"]["Labels"]["io.goswarm.image"]
    rename_accounts(lab, "Viz_")
    lab.inv("redeploy", "--service", name)
    spec = manager(lab).api.inspect_service(name)["Spec"]
    after = spec["Labels"]["io.goswarm.image"]
    assert after != before
    new = running(lab, name)
    assert len(new) == 3

    def shown_new():
        states = {(task, state, image) for task, state, image in cards(browser, name)}
        return states == {(t["ID"], "running", after) for t in new}
    wait_for(shown_new, 5, "the page to show the three new tasks running")
    renders = browser.execute_script("return window.vizRenders")
    lags = []
    for task in new:
        engine_at = topology.epoch(task["Status"]["Timestamp"])  # when the task turned running
        dom_at = min(r["at"] for r in renders if [task["ID"], "running", after] in r["tasks"]) / 1000
        lags.append(dom_at - engine_at)
    report = {"service": name, "lags_s": [round(x, 3) for x in lags], "max_s": round(max(lags), 3),
              "mean_s": round(sum(lags) / len(lags), 3), "poll_s": 0.5, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                                          time.gmtime())}
    (ARTIFACTS / "viz-lag.json").write_text(json.dumps(report, indent=1) + "\n")
    print(f"viz lag behind the engine: {report}")
    assert max(lags) <= 2.0, report
    assert min(lags) > -0.05, report  # the page never runs ahead of the engine (same clock)
    shot(browser, "viz-after-update.png")


def test_a_task_failing_its_health_check_shows_its_error(lab, viz, browser):
    client = manager(lab)
    image = client.api.inspect_service(lab.service_name)["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
    sick = f"{PREFIX}-sick"
    lab.names.append(sick)
    client.api.create_service(
        {"ContainerSpec": {"Image": image, "Env": ["PORT=6767"],
                           "Healthcheck": {"Test": ["CMD", "/.goswarm/probe", "http://127.0.0.1:6767/no-such-page"],
                                           "Interval": SECOND // 2, "Timeout": SECOND, "Retries": 1}},
         "Placement": {"Constraints": ["node.role==manager"]}}, name=sick)
    try:
        browser.get(viz)

        def failed_card():  # the service drains on SIGTERM and exits 0: the engine says "complete", no error
            for c in (c for col in page(browser)["columns"] for c in col["cards"]):
                # (a task still waiting to be scheduled is in trouble too, with the scheduler's word: not this one)
                if c["service"] == sick and c["trouble"] and c["error"] and c["state"] != "pending":
                    return c
        try:
            card = wait_for(failed_card, 60, "a failed card for the sick service")
        except BaseException:
            tasks = client.api.tasks(filters={"service": sick})
            states = [(t["Status"]["State"], t["Status"].get("Err")) for t in tasks]
            print(f"{sick}'s tasks: {states}")
            print(page(browser))
            raise
        assert card["error"].startswith("health check failed: GET http://127.0.0.1:6767/no-such-page: status 404"), card
        assert "unhealthy" in card["text"]
        shot(browser, "viz-unhealthy.png")
    finally:
        client.api.remove_service(sick)


def test_a_task_no_node_can_take_waits_in_its_own_column_with_the_schedulers_reason(lab, viz, browser):
    client = manager(lab)
    image = client.api.inspect_service(lab.service_name)["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
    stuck = f"{PREFIX}-stuck"
    lab.names.append(stuck)
    client.api.create_service({"ContainerSpec": {"Image": image},
                               "Placement": {"Constraints": ["node.labels.nowhere==1"]}}, name=stuck)
    try:
        browser.get(viz)

        def waiting():
            seen = page(browser)
            for column in seen["columns"]:
                for card in column["cards"]:
                    if column["pending"] and card["service"] == stuck and card["error"]:
                        return seen, column["title"], card["error"]
        seen, title, reason = wait_for(waiting, 30, "the stuck task in the column of tasks no node took")
        assert title == "not on any node"
        assert reason == "no suitable node (scheduling constraints not satisfied on 3 nodes)"
        assert len([c for c in seen["columns"] if not c["pending"]]) == 3
        shot(browser, "viz-pending.png")
    finally:
        client.api.remove_service(stuck)


def test_the_engine_stopped_is_a_banner_and_the_page_recovers(lab, viz, browser):
    from invoke import Context

    from goswarm.io import netns
    from goswarm.io.shell import Shell

    browser.get(viz)
    assert banner(browser) == ""
    boss = records(lab)[0]
    netns.stop_engine(Shell(Context().run), boss["extras"])
    try:
        text = wait_for(lambda: banner(browser), 20, "the banner saying the engine is unreachable")
        assert text.startswith("Cannot reach the Docker engine:"), text
        assert "showing the last state seen" in text
        assert len([c for c in page(browser)["columns"] if not c["pending"]]) == 3  # never a blank screen
        shot(browser, "viz-engine-down.png")
    finally:
        lab.inv("machine.provision", boss["name"])
    def recovered():  # the manager's own task was stopped with its engine: it may stay on the page, ended
        running = [task for task, state, _ in cards(browser, lab.service_name) if state == "running"]
        return banner(browser) == "" and len(running) == 3
    wait_for(recovered, 90, "the page to recover once the engine is back")
    assert os.path.exists(ARTIFACTS / "viz-engine-down.png")


def test_snapshots_svg_and_png(lab, tmp_path):
    svg = lab.inv("viz", "--snapshot", str(tmp_path / "lab.svg"))
    assert "wrote" in svg.output and "3 nodes" in svg.output
    text = (tmp_path / "lab.svg").read_text()
    assert text.startswith("<svg") and lab.service_name in text and f"{PREFIX}-2" in text
    png = lab.inv("viz", "--snapshot", str(tmp_path / "lab.png"))
    assert "wrote" in png.output
    assert (tmp_path / "lab.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    shutil.copy(tmp_path / "lab.png", ARTIFACTS / "viz-snapshot.png")
    worker = lab.inv("viz", "--snapshot", str(tmp_path / "w.svg"), "--manager", f"{PREFIX}-2", check=False)
    assert_one_line_error(worker, f"machine {PREFIX}-2 is not a swarm manager: point viz at the manager")
    assert not (tmp_path / "w.svg").exists()
    bad = lab.inv("viz", "--snapshot", str(tmp_path / "lab.gif"), check=False)
    assert bad.returncode == 1 and bad.stderr.strip().startswith("error:") and "Traceback" not in bad.output
    assert len(bad.stderr.strip().splitlines()) == 1

