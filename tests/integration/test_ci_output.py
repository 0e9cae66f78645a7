"""CI-friendly output on a real engine: `--json` documents that parse and say what happened, and the markdown
that deploy and redeploy append to $GITHUB_STEP_SUMMARY."""
import json

from helpers import free_port


def test_redeploy_and_deploy_report_in_json_and_in_the_step_summary(swarm, engine):
    name = swarm.add_service("quotes-service", port=8080, publish=free_port(), smoke="/health")
    summary = swarm.tmp / "step-summary.md"
    summary.write_text("# earlier steps\n")
    env = {"GITHUB_STEP_SUMMARY": str(summary)}

    first = swarm.inv("redeploy", "--service", name, "--json", env=env)
    document = json.loads(first.stdout)  # the whole of stdout: the progress went to stderr
    assert document["result"] == "ok" and document["error"] is None
    assert [s["stage"] for s in document["stages"]] == ["build", "image", "ship", "deploy", "smoke"]
    assert all(s["result"] == "ok" and s["seconds"] >= 0 for s in document["stages"])
    running = swarm.service(name)["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
    assert document["services"] == [{"service": name, "action": "create", "image": running, "digest": None,
                                      "release": swarm.service(name)["Spec"]["Labels"]["io.goswarm.image"],
                                      "changed": []}]
    assert f"create service {name}" in first.stderr

    deployed = json.loads(swarm.inv("deploy", "--service", name, "--json", env=env).stdout)
    assert deployed["result"] == "ok" and [s["stage"] for s in deployed["stages"]] == ["deploy"]
    assert [(s["service"], s["action"], s["image"]) for s in deployed["services"]] == [(name, "none", running)]
    smoked = json.loads(swarm.inv("deploy.smoke", "--service", name, "--json").stdout)
    assert smoked["result"] == "ok" and [a["service"] for a in smoked["answered"]] == [name]
    assert smoked["answered"][0]["url"].endswith("/health")
    built = json.loads(swarm.inv("build", "--service", name, "--json").stdout)
    assert built == {"compiled": []}  # the redeploy compiled it; its progress ("up to date") went to stderr
    addons = json.loads(swarm.inv("addons.ls", "--json").stdout)
    assert {a["addon"] for a in addons} >= {"visualizer", "dvizz"} and all(
        isinstance(a["docker_socket"], bool) for a in addons)
    text = summary.read_text()
    assert text.startswith("# earlier steps\n### ✅ goswarm redeploy\n")
    assert "| smoke |" in text and f"| {name} | create |" in text
    assert text.count("### ✅ goswarm deploy\n") == 1 and f"| {name} | none |" in text

    tasks = json.loads(swarm.inv("deploy.ps", "--service", name, "--json").stdout)
    assert [(t["service"], t["desired"], t["state"]) for t in tasks] == [(name, "running", "running")]
    status = json.loads(swarm.inv("swarm.status", "--json").stdout)
    assert any(s["service"] == name and s["replicas"] == "1/1" for s in status["services"])
    assert any(n["role"] == "manager" for n in status["nodes"])
    assert json.loads(swarm.inv("machine.ls", "--json", env={"MACHINES_DIR": str(swarm.tmp / "none")}).stdout) == []


def test_a_failed_redeploy_is_still_one_json_document_and_one_error_line(swarm):
    name = swarm.add_service("quotes-service", "-bad", port=8080)
    source = swarm.source("quotes-service")
    source.write_text(source.read_text() + "\nthis is not Go\n")
    summary = swarm.tmp / "step-summary.md"
    failed = swarm.inv("redeploy", "--service", name, "--json", check=False,
                       env={"GITHUB_STEP_SUMMARY": str(summary)})
    document = json.loads(failed.stdout)
    assert document["result"] == "failed" and document["stages"] == [
        {"stage": "build", "seconds": document["stages"][0]["seconds"], "result": "failed"}]
    # The progress (here the compiler's output) went to stderr, and its last line is the one error line.
    assert "Traceback" not in failed.output and failed.returncode == 1
    errors = [line for line in failed.stderr.splitlines() if line.startswith("error:")]
    assert errors == [failed.stderr.strip().splitlines()[-1]] == [f"error: {document['error']}"]
    assert summary.read_text().startswith("### ❌ goswarm redeploy\n\n> ")
    smoke = json.loads(swarm.inv("deploy.smoke", "--service", name, "--json", check=False).stdout)
    assert smoke == {"result": "ok", "error": None, "answered": []}  # no smoke path: nothing to test
