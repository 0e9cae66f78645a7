"""inv dev: which service a change belongs to, what is ignored, and the watcher over real files."""
import itertools
import os
import threading
import time
from pathlib import Path

import pytest

from goswarm import poll
from goswarm.ops import dev

P = Path("/p")
ROOTS = {"account": P / "services/account", "quotes": P / "services/quotes", "inner": P / "services/account/inner"}
DIST = P / "dist"


@pytest.mark.parametrize("paths, expected", [
    (["services/account/main.go"], {"account": ["main.go"]}),
    (["services/account/handlers/h.go", "services/account/go.mod"], {"account": ["go.mod", "handlers/h.go"]}),
    (["services/account/main.go", "services/quotes/main.go"], {"account": ["main.go"], "quotes": ["main.go"]}),
    (["services/account/inner/main.go"], {"inner": ["main.go"]}),  # the deepest service path wins
    (["services/account/innerx.go"], {"account": ["innerx.go"]}),  # a path prefix is not a parent
    (["services/account/Dockerfile"], {"account": ["Dockerfile"]}),
    (["services/account/main_test.go"], {}),
    (["services/account/main.go~", "services/account/.#main.go", "services/account/.main.go.swp"], {}),
    (["services/account/4913", "services/account/x.swx"], {}),
    (["services/account/.git/index", "services/account/.idea/x.go"], {}),
    (["services/quotes/main_test.go", "services/quotes/quotes.go"], {"quotes": ["quotes.go"]}),
    (["README.md", "services/other/main.go"], {}),
])
def test_owners(paths, expected):
    assert dev.owners([P / p for p in paths], ROOTS, DIST) == expected


def test_the_build_output_is_ignored_even_inside_a_service():
    roots = {"root": P}
    assert dev.owners([P / "dist/root-linux-amd64", P / "dist"], roots, DIST) == {}
    assert dev.owners([P / "main.go", P / "distance.go"], roots, DIST) == {"root": ["distance.go", "main.go"]}


def test_services_sharing_a_path_share_its_changes():
    roots = {"api": P / "svc", "worker": P / "svc"}
    assert dev.owners([str(P / "svc/lib.go")], roots, DIST) == {"api": ["lib.go"], "worker": ["lib.go"]}


def test_hidden_is_judged_below_the_service_path():
    roots = {"a": P / ".work/a"}
    assert dev.owners([P / ".work/a/main.go"], roots, DIST) == {"a": ["main.go"]}


@pytest.mark.parametrize("changed, line", [
    ({"a": ["main.go"]}, "a (main.go)"),
    ({"a": ["main.go"], "b": ["x.go", "y.go"]}, "a (main.go), b (x.go, y.go)"),
    ({"a": ["1.go", "2.go", "3.go", "4.go", "5.go"]}, "a (1.go, 2.go, 3.go +2 more)"),
])
def test_describe(changed, line):
    assert dev.describe(changed) == line


WATCH_BOUND = 10  # seconds: every wait on the watcher below ends by then


def save(path: Path, text: str = "package main\n") -> None:
    """Save as many editors do, by renaming a finished file into place: one change, so one burst."""
    staged = path.parent.parent / f".staged-{path.name}"
    staged.write_text(text)
    os.replace(staged, path)


def queued(watcher, count: int, timeout: float = WATCH_BOUND):
    """Until `count` bursts wait unread in the watcher (None if they do not come within `timeout`)."""
    return poll.until(lambda: True if watcher.bursts.qsize() >= count else None, timeout, 0.01)


def set_up(watcher, probe: Path) -> None:
    """Save a file until the watcher reports it: the event that says it is set up and sees every change.
    Returns once the burst of the last save has been read, so that no burst of the probe's is left."""
    deadline = time.monotonic() + WATCH_BOUND
    for attempt in itertools.count():
        last = f"touch-{attempt}.go"
        save(probe / last)
        if queued(watcher, 1, 0.2) or time.monotonic() > deadline:
            break
    while last not in (burst := watcher.next() or {}).get("probe", []):
        assert burst, "the watcher stopped before it reported a change"


def test_changes_come_in_bursts_and_none_are_lost_while_busy(tmp_path):
    roots = {name: tmp_path / "src" / name for name in ("a", "b", "probe")}
    for root in roots.values():
        root.mkdir(parents=True)
    watcher = dev.Watcher(roots, tmp_path / "dist", 50)
    bound = threading.Timer(WATCH_BOUND, watcher.stop.set)  # a stopped watcher ends every read
    bound.start()
    try:
        set_up(watcher, roots["probe"])
        # Busy (a redeploy runs): nothing reads while these bursts come in.
        save(roots["a"] / "main.go")
        (roots["a"] / "main_test.go").write_text("package main\n")
        (roots["a"] / "main.go~").write_text("x")
        assert queued(watcher, 1), "no burst for a/main.go"
        save(roots["b"] / "b.go")
        (roots["b"] / "4913").write_text("")  # vim checks that it may write here
        assert queued(watcher, 2), "no burst for b/b.go"
        # Done: one read gets every change made meanwhile, merged, and none of the ignored files.
        assert watcher.next() == {"a": ["main.go"], "b": ["b.go"]}
    finally:
        bound.cancel()
        watcher.stop.set()
        watcher.thread.join(WATCH_BOUND)
    assert not watcher.thread.is_alive()
