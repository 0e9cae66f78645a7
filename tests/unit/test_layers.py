"""The layers of goswarm/ are real: a lower layer never imports a higher one, nothing imports in a cycle,
pure planning imports no I/O library, and the library below the tasks never sees Invoke."""
import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "goswarm"
TASKS = REPO / "tasks"  # goswarm.tasks: goswarm/tasks links to it (rglob does not follow the link)
# Lowest first. A module may import its own layer and those below it.
LAYERS = [
    ("base", ["goswarm", "goswarm.errors", "goswarm.program", "goswarm.poll", "goswarm.parallel"]),
    ("plan", ["goswarm.plan"]),
    ("io", ["goswarm.io"]),
    ("settings", ["goswarm.settings"]),
    ("ops", ["goswarm.ops"]),
    ("tasks", ["goswarm.tasks"]),
    ("cli", ["goswarm.cli", "goswarm.__main__"]),
]
IO_LIBRARIES = {"docker", "paramiko", "requests", "invoke", "subprocess", "socket", "urllib", "watchfiles", "os",
                "time", "shutil", "tempfile", "threading", "signal", "fcntl", "select", "http", "ssl"}


def module_name(path: Path) -> str:
    if path.is_relative_to(TASKS):
        parts = ("goswarm", "tasks", *path.relative_to(TASKS).with_suffix("").parts)
    else:
        parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict:
    return {module_name(p): p for root in (PACKAGE, TASKS) for p in root.rglob("*.py")}


def imports(path: Path) -> set:
    """Every module an import statement names, anywhere in the file (also inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def ours(name: str, known: dict):
    """The goswarm module an import names (`from goswarm.plan import config` names goswarm.plan.config)."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name if name.startswith("goswarm") and name != "goswarm" else None


def layer(name: str) -> int:
    for index, (_, prefixes) in enumerate(LAYERS):
        if any(name == p or name.startswith(p + ".") for p in prefixes if p != "goswarm") or name == "goswarm":
            return index
    raise AssertionError(f"{name} is in no layer: add it to LAYERS in {__file__}")


def graph() -> dict:
    known = modules()
    edges = {}
    for name, path in known.items():
        if name == "goswarm":
            continue
        targets = {ours(i, known) for i in imports(path)} - {None, name}
        edges[name] = {t for t in targets if not name.startswith(t + ".")}  # a package's own __init__
    return edges


def test_every_module_is_in_a_layer():
    for name in graph():
        layer(name)


@pytest.mark.parametrize("name, targets", sorted(graph().items()))
def test_no_module_imports_a_higher_layer(name, targets):
    upward = sorted(t for t in targets if layer(t) > layer(name))
    assert not upward, f"{name} ({LAYERS[layer(name)][0]}) imports {upward}"


def test_no_import_cycles():
    edges = graph()
    state = {}

    def visit(node, path):
        state[node] = "open"
        for target in sorted(edges.get(node, ())):
            if state.get(target) == "open":
                cycle = path[path.index(target):] + [target]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target, path + [target])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])


@pytest.mark.parametrize("name", sorted(n for n in modules() if layer(n) == 1 or n.startswith("goswarm.plan")))
def test_planning_is_pure(name):
    libraries = {i.split(".")[0] for i in imports(modules()[name])}
    assert not libraries & IO_LIBRARIES, f"{name} imports {sorted(libraries & IO_LIBRARIES)}"


@pytest.mark.parametrize("name", sorted(n for n in modules() if layer(n) <= layer("goswarm.ops")))
def test_the_library_never_sees_invoke(name):
    assert "invoke" not in {i.split(".")[0] for i in imports(modules()[name])}, f"{name} imports invoke"


def raw_api_lines(path: Path) -> list:
    return [node.lineno for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Attribute) and node.attr == "api"]


@pytest.mark.parametrize("name", sorted(n for n in modules() if layer(n) > layer("goswarm.io")))
def test_only_io_speaks_the_engine_api(name):
    """ops/ and above ask io/engineapi in domain words; the SDK's low-level client (`client.api`) is io/'s."""
    raw = raw_api_lines(modules()[name])
    assert not raw, f"{name} uses the engine's low-level client (.api) on lines {raw}: add a function to io/engineapi"


def test_the_checks_see_a_violation():
    """The graph this file builds does find imports (a check that can fail)."""
    assert "goswarm.plan.config" in graph()["goswarm.settings"]
    assert layer("goswarm.ops.deploy") > layer("goswarm.io.engine") > layer("goswarm.plan.config")
    assert "goswarm.ops.deploy" in graph()["goswarm.tasks.deploy"]  # tasks/ is read as goswarm.tasks
    assert raw_api_lines(modules()["goswarm.io.engineapi"])
