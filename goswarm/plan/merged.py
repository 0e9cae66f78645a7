"""`goswarm config`: the config as goswarm reads it (the defaults, goswarm.yaml, a destination's file, GOSWARM_*
variables and `-f`), without Invoke's own sections, and with the values that look secret masked. Pure: the task
renders it."""
import re

MASK = "********"
# env: keys whose values are credentials by their name (a secret belongs in `secrets:`, which names no value)
SECRET_NAME = re.compile(r"pass|secret|token|credential|private|api_?key|(^|_)key$", re.I)


def view(cfg: dict, sections, project: str, destination: str = "") -> dict:
    """goswarm's part of the merged config, in `sections` order, with the project label goswarm derives (the
    destination's own); every service's env values masked where the name says they are secret."""
    out = {"destination": destination} if destination else {}
    for key in sections:
        if key in cfg:
            out[key] = cfg[key]
    out["project"] = project
    for group in ("services", "addons"):
        for fields in (out.get(group) or {}).values():
            if isinstance(fields, dict) and isinstance(fields.get("env"), dict):
                fields["env"] = {k: MASK if SECRET_NAME.search(str(k)) else v for k, v in fields["env"].items()}
    return out
