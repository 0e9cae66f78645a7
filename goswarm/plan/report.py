"""What CI reads: `--json` documents, and the markdown a job appends to GitHub's step summary. Pure."""
import json
from typing import Optional


def dumps(document) -> str:
    return json.dumps(document, indent=2)


def records(rows, headers) -> list:
    """Table rows as objects keyed by the lower-cased headers (`docker ... --format json` style)."""
    keys = [str(h).lower() for h in headers]
    return [dict(zip(keys, row)) for row in rows]


def service_result(step_service: str, action: str, spec: dict, changes=()) -> dict:
    """One service's outcome: what the deploy did, and the image reference and digest it runs."""
    image = ((spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("Image", "")
    return {"service": step_service, "action": action, "image": image,
            "digest": image.partition("@")[2] or None,
            "release": (spec.get("Labels") or {}).get("io.goswarm.image"),
            "changed": [name for name, _before, _after in changes]}


def pipeline(timings: list, services: list, error: Optional[str] = None) -> dict:
    """A pipeline's stages ((name, seconds, result)), its services' results, and how it ended."""
    failed = error is not None or any(result != "ok" for _, _, result in timings)
    return {"result": "failed" if failed else "ok", "error": error,
            "stages": [{"stage": name, "seconds": round(seconds, 3), "result": result}
                       for name, seconds, result in timings],
            "seconds": round(sum(seconds for _, seconds, _ in timings), 3), "services": services}


def step_summary(title: str, document: dict) -> str:
    """A short markdown section for $GITHUB_STEP_SUMMARY from a pipeline() document."""
    mark = "✅" if document["result"] == "ok" else "❌"
    lines = [f"### {mark} {title}", ""]
    if document.get("error"):
        lines += [f"> {document['error']}", ""]
    if document["stages"]:
        lines += ["| stage | time | result |", "|---|---:|---|"]
        lines += [f"| {s['stage']} | {s['seconds']:.2f} s | {s['result']} |" for s in document["stages"]]
        lines += [f"| **total** | {document['seconds']:.2f} s | |", ""]
    if document["services"]:
        lines += ["| service | action | digest |", "|---|---|---|"]
        lines += [f"| {s['service']} | {s['action']} | `{(s['digest'] or s['image'])[:19]}` |"
                  for s in document["services"]]
        lines.append("")
    return "\n".join(lines) + "\n"
