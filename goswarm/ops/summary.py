"""GitHub's step summary: a job appends markdown to the file $GITHUB_STEP_SUMMARY names, and GitHub shows it on
the run's page. Outside GitHub Actions (the variable unset) nothing is written."""
import os

from goswarm.plan import report


def results(steps: list) -> list:
    """Each deploy step's outcome (deploy.Step), for --json and the summary."""
    return [report.service_result(s.service.name, s.plan.action, s.want, s.plan.changes) for s in steps]


def append(title: str, document: dict) -> None:
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    try:
        with open(path, "a", encoding="utf-8") as f:
            f.write(report.step_summary(title, document))
    except OSError as e:  # a summary is a nicety: the deploy's own result stands
        print(f"warning: cannot append to GITHUB_STEP_SUMMARY ({path}): {e.strerror or e}")
