"""What the tasks print: paths as a user types them, tables, and the stage timings of a pipeline. Pure."""
from contextlib import contextmanager
from pathlib import Path


def shown(path: Path) -> str:
    """A path as a user would type it: relative to the current directory when it is below it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def table(rows, headers) -> str:
    """Left-aligned columns, as `docker service ls` prints them. Pure."""
    rows = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in rows)) if rows else len(str(h)) for i, h in enumerate(headers)]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(headers, widths)).rstrip()]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines)


class Stages:
    """Times the stages of a pipeline for its closing summary, on `clock` (seconds, e.g. time.monotonic)."""

    def __init__(self, clock):
        self.clock = clock
        self.timings = []
        self.services = []  # the deploy's result per service (plan.report.service_result)

    @contextmanager
    def stage(self, name: str):
        start = self.clock()
        status = "failed"
        try:
            yield
            status = "ok"
        finally:
            self.timings.append((name, self.clock() - start, status))

    def summary(self) -> str:
        rows = [(name, f"{seconds:.2f}s", status) for name, seconds, status in self.timings]
        total = sum(seconds for _, seconds, _ in self.timings)
        return table(rows + [("total", f"{total:.2f}s", "")], ("stage", "time", "result"))


def listed(names: list, what: str = "images", most: int = 3) -> str:
    """Names for one line: each of them when there are few, else how many, the first and the last. Pure."""
    if len(names) <= most:
        return ", ".join(names)
    return f"{len(names)} {what} ({names[0]} … {names[-1]})"


def size(count: float) -> str:
    """Bytes as a person reads them: 812 B, 4.1 MB."""
    for unit in ("B", "kB", "MB"):
        if count < 1000:
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} GB"
