"""inv dev: which service a change belongs to, what is ignored, and the watcher over real files."""
import threading
import time
from pathlib import Path

import pytest

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


def test_changes_come_in_bursts_and_none_are_lost_while_busy(tmp_path):
    roots = {"a": tmp_path / "a", "b": tmp_path / "b"}
    for root in roots.values():
        root.mkdir()
    stop = threading.Event()

    def edit():
        time.sleep(0.5)  # the watcher is set up
        (roots["a"] / "main.go").write_text("package main\n")
        (roots["a"] / "main_test.go").write_text("package main\n")
        (roots["b"] / ".main.go.swp").write_text("x")
        time.sleep(0.5)  # the consumer is busy with the first burst (a redeploy)
        (roots["b"] / "b.go").write_text("package main\n")
        time.sleep(2)
        stop.set()

    editor = threading.Thread(target=edit)
    editor.start()
    bursts = []
    for burst in dev.changes(roots, tmp_path / "dist", 300, stop_event=stop):
        bursts.append(burst)
        time.sleep(1.0 if len(bursts) == 1 else 0)
    editor.join()
    assert bursts == [{"a": ["main.go"]}, {"b": ["b.go"]}]
