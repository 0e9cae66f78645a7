"""Which project a service belongs to, and whether this one may change it. Pure.

Every service goswarm creates carries the io.goswarm.project label (servicespec.PROJECT_LABEL). A project
changes only its own services: one of another project's, or one no project made (by hand, by the blog's
`docker service create`, by a goswarm from before projects), is taken over only with --adopt, which says what
it takes.
"""
from typing import Optional

from goswarm.errors import PipelineError
from goswarm.plan.servicespec import LABEL, PROJECT_LABEL


class NotOurs(PipelineError):
    """A service of another project, or of none, that this run would change without --adopt."""


def owner(current: Optional[dict]) -> Optional[str]:
    """The project an engine's inspect of a service names, or None."""
    return (((current or {}).get("Spec") or {}).get("Labels") or {}).get(PROJECT_LABEL) or None


def what_runs(current: dict) -> str:
    """A service as it runs, in a few words: its image, tasks and published ports."""
    spec = current.get("Spec") or {}
    image = ((spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("Image", "?").split("@")[0]
    image = (spec.get("Labels") or {}).get(f"{LABEL}.image") or (  # goswarm's name for a local image's id
        image[:19] if image.startswith("sha256:") else image)
    replicas = ((spec.get("Mode") or {}).get("Replicated") or {}).get("Replicas")
    tasks = "one task per node" if replicas is None else f"{replicas} task{'s' if replicas != 1 else ''}"
    ports = [str(p.get("PublishedPort")) for p in (spec.get("EndpointSpec") or {}).get("Ports") or []]
    return f"{image}, {tasks}" + (f", port {', '.join(ports)}" if ports else "")


def check(name: str, current: Optional[dict], project: str, adopt: bool) -> Optional[str]:
    """None when the service is this project's (or new). Else, with adopt: the note to print about what is
    taken over; without: NotOurs, in one line."""
    if current is None:
        return None
    other = owner(current)
    if other == project:
        return None
    runs = what_runs(current)
    if other is None:
        if not adopt:
            raise NotOurs(f"service {name} exists and belongs to no goswarm project (no {PROJECT_LABEL} label: made "
                          f"by hand, or by a goswarm before projects; it runs {runs}): pass --adopt to take it over "
                          f"for project {project}; nothing was changed")
        return f"adopting service {name} (it runs {runs}, and belonged to no project) for project {project}"
    if not adopt:
        raise NotOurs(f"service {name} belongs to project {other}, not {project} (it runs {runs}): give this "
                      f"project's service another name, or pass --adopt to take it over; nothing was changed")
    return f"adopting service {name} from project {other} (it runs {runs}) for project {project}"


def must_be_ours(name: str, current: Optional[dict], project: str, action: str) -> None:
    """rm, scale and rollback change only this project's services (or ones no project labels: made before projects
    or by hand, which were always this tool's to manage). NotOurs, in one line, for another project's."""
    other = owner(current)
    if current is not None and other not in (None, project):
        raise NotOurs(f"service {name} belongs to project {other}, not {project} (it runs {what_runs(current)}): "
                      f"{action} it from project {other}; nothing was changed")
