"""The release history of a project (of a destination): what each deploy that changed something ran, kept on
the swarm, so that `deploy.rollback --to N` can go back N releases of a service from any machine. Pure: the
entries' form and the choice of one; ops/history.py keeps them as swarm configs.

An entry maps what a deploy ran, by the key a deploy's images go by (a service's name; an edge's image name,
goswarm-edge), to {"repository", "tag", "runs"}: "runs" is what the spec ran (a registry digest, or the local
image's id).
"""
import hashlib
import json
from typing import Optional

from goswarm.errors import PipelineError

KEEP = 20  # entries kept per project: the oldest go first
LABEL = "io.goswarm"
SEQ_LABEL = f"{LABEL}.release-seq"


def object_name(project: str, seq: int) -> str:
    """A history entry's swarm config: short and fixed in length whatever the project's name."""
    return f"goswarm-release-{hashlib.sha256(project.encode()).hexdigest()[:8]}-{seq:06d}"


def entry(seq: int, when: str, images: dict) -> bytes:
    """images: key -> (repository, tag, runs)."""
    return json.dumps({"seq": seq, "at": when, "images": {
        key: {"repository": repository, "tag": tag, "runs": runs}
        for key, (repository, tag, runs) in sorted(images.items())}}, sort_keys=True).encode()


def releases_of(entries: list, key: str) -> list:
    """The distinct releases of `key` (a service, or an edge's image) in `entries` (parsed, any order), the
    newest first; a release that came back later counts where it last ran."""
    seen, out = set(), []
    for item in sorted(entries, key=lambda e: e["seq"], reverse=True):
        image = item["images"].get(key)
        if image and image["runs"] not in seen:
            seen.add(image["runs"])
            out.append({**image, "seq": item["seq"], "at": item["at"]})
    return out


def ran_with(entries: list, key: str, seq: int) -> Optional[dict]:
    """What `key` ran as of entry `seq`: its image in the newest entry up to `seq` that has it (an edge, as of
    its app's release); None when no such entry has it."""
    for item in sorted(entries, key=lambda e: e["seq"], reverse=True):
        if item["seq"] <= seq and key in item["images"]:
            return {**item["images"][key], "seq": item["seq"], "at": item["at"]}
    return None


def back(entries: list, key: str, steps: int) -> Optional[dict]:
    """The release of `key` `steps` back from the newest (1: the one before it); None when `key` is in no entry.
    PipelineError when the history does not go back that far."""
    found = releases_of(entries, key)
    if not found:
        return None
    if steps >= len(found):
        raise PipelineError(f"{key} has {len(found) - 1} earlier release(s) in the history, so it cannot go "
                            f"{steps} back; `goswarm deploy.rollback --to 1` goes to the one before")
    return found[steps]
