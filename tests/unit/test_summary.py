from pathlib import Path

from goswarm.ops import summary
from goswarm.plan import report, servicespec
from goswarm.plan.config import Service

DOCUMENT = report.pipeline([("deploy", 1.0, "ok")], [])


class Step:
    def __init__(self, service, action, want, changes=()):
        self.service, self.want = service, want
        self.plan = servicespec.Plan(service.name, action, list(changes))


def test_nothing_is_written_outside_github_actions(monkeypatch, tmp_path):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    summary.append("goswarm deploy", DOCUMENT)
    assert list(tmp_path.iterdir()) == []


def test_each_run_appends_its_section(monkeypatch, tmp_path):
    path = tmp_path / "summary.md"
    path.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(path))
    summary.append("goswarm deploy", DOCUMENT)
    summary.append("goswarm deploy", DOCUMENT)
    assert path.read_text() == "earlier step\n" + 2 * report.step_summary("goswarm deploy", DOCUMENT)


def test_an_unwritable_summary_is_a_warning(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "missing" / "summary.md"))
    summary.append("goswarm deploy", DOCUMENT)
    assert capsys.readouterr().out.startswith("warning: cannot append to GITHUB_STEP_SUMMARY")


def test_results_of_deploy_steps():
    app = Service("app", Path("/a"), 80)
    want = servicespec.desired(app, "r/app:1@sha256:ab", "r/app:1", "net")
    assert summary.results([Step(app, "update", want, [("image", "a", "b")])]) == [
        {"service": "app", "action": "update", "image": "r/app:1@sha256:ab", "digest": "sha256:ab",
         "release": "r/app:1", "changed": ["image"]}]
