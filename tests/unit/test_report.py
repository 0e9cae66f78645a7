import json

from goswarm.plan import report

SPEC = {"Labels": {"io.goswarm.image": "r/p/app:abc"},
        "TaskTemplate": {"ContainerSpec": {"Image": "r/p/app:abc@sha256:" + "1" * 64}}}


def test_records_key_rows_by_their_headers():
    assert report.records([("a", 1)], ("NAME", "REPLICAS")) == [{"name": "a", "replicas": 1}]
    assert report.records([], ("NAME",)) == []


def test_a_service_result_names_the_digest_it_runs():
    result = report.service_result("app", "update", SPEC, [("image", "x", "y"), ("env", [], ["A=1"])])
    assert result == {"service": "app", "action": "update", "image": SPEC["TaskTemplate"]["ContainerSpec"]["Image"],
                      "digest": "sha256:" + "1" * 64, "release": "r/p/app:abc", "changed": ["image", "env"]}
    local = report.service_result("app", "create", {"TaskTemplate": {"ContainerSpec": {"Image": "sha256:abc"}}})
    assert local["digest"] is None and local["changed"] == []
    assert report.service_result("app-edge", "remove", {})["image"] == ""


def test_a_pipeline_document_is_json_with_its_stages_and_how_it_ended():
    ok = report.pipeline([("build", 0.12345, "ok"), ("deploy", 2.0, "ok")], [])
    assert ok == {"result": "ok", "error": None, "seconds": 2.123, "services": [],
                  "stages": [{"stage": "build", "seconds": 0.123, "result": "ok"},
                             {"stage": "deploy", "seconds": 2.0, "result": "ok"}]}
    assert json.loads(report.dumps(ok)) == ok
    assert report.pipeline([("deploy", 1, "failed")], [])["result"] == "failed"
    assert report.pipeline([], [], "no registry")["result"] == "failed"


def test_the_step_summary_is_a_short_markdown_section():
    document = report.pipeline([("push", 1.5, "ok"), ("deploy", 3.25, "failed")],
                               [report.service_result("app", "update", SPEC)], "app did not converge")
    assert report.step_summary("goswarm redeploy", document) == (
        "### ❌ goswarm redeploy\n\n> app did not converge\n\n"
        "| stage | time | result |\n|---|---:|---|\n| push | 1.50 s | ok |\n| deploy | 3.25 s | failed |\n"
        "| **total** | 4.75 s | |\n\n"
        "| service | action | digest |\n|---|---|---|\n| app | update | `sha256:111111111111` |\n\n")
    assert report.step_summary("x", report.pipeline([], [])) == "### ✅ x\n\n"
