"""The project's hooks (`hooks:` in goswarm.yaml): shell commands run on this machine, in the project's directory,
around a deploy that changes something. pre-deploy runs under the deploy lock before any service changes, and
one that fails stops the run with nothing changed; post-deploy runs once every rollout went through.

Each gets the process's environment and GOSWARM_HOOK, GOSWARM_PROJECT, GOSWARM_DESTINATION, GOSWARM_SERVICES
(comma-separated), GOSWARM_IMAGES (service=image name, one per line) and GOSWARM_DIGESTS (service=what its spec
runs: the registry digest, or the local image's id).
"""
import os
import subprocess

from goswarm.errors import PipelineError


def variables(cfg, which: str, releases: dict) -> dict:
    """The GOSWARM_* variables a hook gets; releases: service name -> (its image's name, what its spec runs:
    the registry digest, or the local image's id). Pure."""
    return {"GOSWARM_HOOK": which, "GOSWARM_PROJECT": cfg.project, "GOSWARM_DESTINATION": cfg.destination,
            "GOSWARM_SERVICES": ",".join(releases),
            "GOSWARM_IMAGES": "\n".join(f"{name}={ref}" for name, (ref, _) in releases.items()),
            "GOSWARM_DIGESTS": "\n".join(f"{name}={runs}" for name, (_, runs) in releases.items())}


def run(sh, cfg, which: str, releases: dict) -> None:
    """Run the `which` hook's commands in turn; the first that fails is one error line (its own output above)."""
    for command in cfg.hooks.get(which) or ():
        if sh.dry:
            print(f"[dry] would run the {which} hook: {command}")
            continue
        print(f"-> {which} hook: {command}")
        try:
            done = subprocess.run(command, shell=True, cwd=cfg.root, stdin=subprocess.DEVNULL,
                                  env={**os.environ, **variables(cfg, which, releases)})
        except OSError as e:
            raise PipelineError(f"the {which} hook `{command}` could not start: {e.strerror or e}") from None
        if done.returncode != 0:
            after = ("nothing was deployed" if which == "pre-deploy" else
                     "the deploy itself went through: every service runs its new release")
            raise PipelineError(f"the {which} hook `{command}` exited {done.returncode}; {after}")
