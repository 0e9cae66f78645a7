"""A published port that stops answering while the tasks behind it run: what it means and what to do. Pure.

Seen once: a load run past its open-file limit took the engine's docker-proxy of a host-mode port down with it,
and the port refused connections while every task showed healthy; a rollback cannot fix that, the engine must
publish the port again.
"""

SILENT = ("refused", "reset")  # what a port without a listener (or a dead proxy) answers


def holder(name: str, publish_mode: str) -> str:
    """The service whose tasks hold an app's published port: its edge in edge mode, else itself."""
    return f"{name}-edge" if publish_mode == "edge" else name


def silent_port(problem: str, service: str, port: int, states: list) -> str:
    """A hint to add to a failed smoke test (else ""): the port refuses although each task of `service`, which
    holds it, is running (a task with a health check runs only once healthy). states: their Status.State."""
    if not any(word in problem.lower() for word in SILENT) or not states or set(states) != {"running"}:
        return ""
    return (f"; yet the {len(states)} task(s) of {service} that hold port {port} are running and healthy, so the "
            f"engine's mapping of the port is gone (its docker-proxy may have exited): `docker service update "
            f"--force {service}` makes the engine publish it again")
