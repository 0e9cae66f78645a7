"""The release history on the swarm (plan/history.py): an entry per deploy that changed something, each a small
swarm config labelled with the project (the destination's), the newest KEEP kept. `deploy.rollback --to N`
reads it."""
import base64
import datetime as dt
import json

from goswarm.errors import PipelineError
from goswarm.io import engine, engineapi
from goswarm.plan import history as plan

TRIES = 5  # another run of the project (under another lock name) may take the same number first


def read(client, project: str) -> list:
    """The project's entries, parsed (any order)."""
    with engine.errors("reading the release history"):
        found = client.configs.list(filters={"label": [f"{plan.LABEL}.project={project}", plan.SEQ_LABEL]})
    entries = []
    for config in found:
        try:
            entries.append(json.loads(base64.b64decode(config.attrs["Spec"]["Data"])))
        except (KeyError, ValueError):
            continue  # not one of ours after all: skipped
    return entries


def record(sh, client, project: str, images: dict) -> None:
    """Add an entry for a deploy that ran `images` (key -> image.Image); drop the oldest beyond KEEP."""
    if sh.dry or not images:
        return
    docker = engine.sdk()
    for _ in range(TRIES):
        known = sorted(read(client, project), key=lambda e: e["seq"])
        seq = (known[-1]["seq"] + 1) if known else 1
        data = plan.entry(seq, dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                          {key: (i.repository, i.tag, i.deploy_ref) for key, i in images.items()})
        with engine.errors("recording the release in the history"):
            try:
                engineapi.create_swarm_config(client, plan.object_name(project, seq), data,
                                              {f"{plan.LABEL}.project": project, plan.SEQ_LABEL: str(seq)})
                break
            except docker.errors.APIError as e:
                if e.status_code != 409:  # 409: that number was just taken: read again, take the next
                    raise
    else:
        raise PipelineError(f"recording the release in the history: {TRIES} other runs took the next number first")
    with engine.errors("pruning the release history"):
        for old in known[:max(0, len(known) + 1 - plan.KEEP)]:
            for config in client.configs.list(filters={"name": plan.object_name(project, old["seq"])}):
                engineapi.remove_swarm_config(client, config.id)  # gone already: another run pruned it
