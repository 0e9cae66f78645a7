"""Cross-compile every Go service into static binaries, dist/<service>-<os>-<arch>.

A binary is rebuilt only when its build key changed: the files of every package `go list -deps` says it
compiles (other local modules and embedded files included), the platform, the Go environment (GOFLAGS and
its tags...), the Go version and the flags. dist/.keys/ records the last key, and next to it the files that
go list named: a no-op run hashes those again and starts no go command (go list costs 0.15-0.2 s).
"""
import functools
import hashlib
import json
import os
import shlex
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from goswarm import parallel
from goswarm.errors import PipelineError
from goswarm.io import environment
from goswarm.plan import config, gograph, gosource, output, platforms

FLAGS = "-trimpath -buildvcs=false"
# goswarm's own programs (the edges, the probe) are built with these, never the user's build.ldflags, and
# without the user's GOFLAGS: a change of the user's build settings must not rebuild or replace the edge.
HELPER_LDFLAGS = "-s -w"
GO_MISSING = "Go is not installed (no `go` on PATH): `apt-get install golang-go`, or see https://go.dev/doc/install"


@dataclass(frozen=True)
class Artifact:
    service: config.Service
    platform: platforms.Platform
    path: Path


def plan(services, targets, dist: Path) -> list:
    """One artifact per service and platform. Pure."""
    return [Artifact(s, p, dist / platforms.artifact_name(s.name, p)) for s in services for p in targets]


def file_digest(path: Path) -> str:
    """sha256 of a file. The build and image stages both need the binary's: it is read once per version."""
    stat = path.stat()
    return _digest(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=256)
def _digest(path: str, mtime_ns: int, size: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def source_files(root: Path, dist: Path = None) -> list:
    """What goes into a binary: every file of the module but hidden ones, tests, and the build's own output
    (`dist`, when it lies inside the module: a service at the project root)."""
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.endswith("_test.go")
                  and not any(part.startswith(".") for part in p.relative_to(root).parts)
                  and not (dist and dist in p.parents))


def source_hash(root: Path, dist: Path = None) -> str:
    """Hash of a service's sources: names and contents."""
    h = hashlib.sha256()
    for path in source_files(root, dist):
        h.update(str(path.relative_to(root)).encode() + b"\0" + file_digest(path).encode() + b"\0")
    return h.hexdigest()


# What a package directory's files may hold for the compiler (a README beside main.go does not count).
_COMPILED = (".go", ".s", ".S", ".c", ".h", ".cc", ".cpp", ".cxx", ".hh", ".hpp", ".hxx", ".m", ".f", ".F",
             ".for", ".f90", ".syso", ".swig", ".swigcxx", ".sx")


def graph_hash(graph: gograph.Graph) -> str:
    """Hash of the files a Graph names: each directory's compiler inputs (names and contents; a file added or
    removed counts), and each single file (or that it is missing)."""
    h = hashlib.sha256()
    for directory in graph.dirs:
        try:
            names = sorted(e.name for e in os.scandir(directory) if e.is_file() and e.name.endswith(_COMPILED)
                           and not e.name.startswith((".", "_")) and not e.name.endswith("_test.go"))
        except OSError:
            names = []
        h.update(f"d\0{directory}\0{len(names)}\0".encode())
        for name in names:
            h.update(f"{name}\0{file_digest(Path(directory, name))}\0".encode())
    for path in graph.files:
        try:
            digest = file_digest(Path(path))
        except OSError:
            digest = "missing"
        h.update(f"f\0{path}\0{digest}\0".encode())
    return h.hexdigest()


def graph_file(artifact: Artifact) -> Path:
    return key_file(artifact).with_name(artifact.path.name + ".graph")


def go_environment(artifact: Artifact, ldflags: str, go_version: str) -> str:
    """What the build's environment adds to its key: the Go variables, `go env -w` settings, Go, the flags."""
    goenv = os.environ.get("GOENV") or os.path.join(os.environ.get("XDG_CONFIG_HOME") or
                                                    os.path.expanduser("~/.config"), "go", "env")
    try:
        settings = Path(goenv).read_text() if goenv != "off" else ""
    except OSError:
        settings = ""
    variables = gograph.environment(dict(os.environ), go_env(artifact))
    return gograph.env_key(variables, settings, go_version, FLAGS, ldflags, artifact.service.main)


def kept_key(artifact: Artifact, environment_key: str):
    """The build key from the files go list named last time, without asking Go; None when there is no such
    record for this environment."""
    try:
        kept = json.loads(graph_file(artifact).read_text())
        if kept["env"] != environment_key:
            return None
        graph = gograph.Graph.from_json(kept["graph"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return build_key(artifact, graph_hash(graph), environment_key, "")


def fresh_key(sh, artifact: Artifact, environment_key: str):
    """Ask `go list -deps` what the binary compiles, keep the answer, and return the build key; None when go
    list fails (a broken import: go build will say it), so the build is never taken as up to date."""
    if not sh.dry:
        workdir(artifact)
    result = sh.read(f"cd {shlex.quote(str(directory(artifact)))} && {_assignments(artifact)} "
                     f"{gograph.command(shlex.quote(artifact.service.main))}")
    if not result.ok:
        return None
    graph = gograph.parse(result.stdout)
    if not sh.dry:
        try:
            path = graph_file(artifact)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"env": environment_key, "graph": graph.to_json()}))
        except OSError:
            pass  # a record only: the next run asks go list again
    return build_key(artifact, graph_hash(graph), environment_key, "")


def build_key(artifact: Artifact, sources: str, go_version: str, ldflags: str) -> str:
    """Everything `go build` reads, hashed: same key, same binary (-trimpath makes builds reproducible)."""
    parts = [sources, go_version, str(artifact.platform), json.dumps(artifact.platform.go_env, sort_keys=True),
             FLAGS, ldflags, artifact.service.main]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def key_file(artifact: Artifact) -> Path:
    return artifact.path.parent / ".keys" / artifact.path.name


def up_to_date(artifact: Artifact, key: str) -> bool:
    """The recorded key matches, and the binary is still the one built with it."""
    try:
        recorded = json.loads(key_file(artifact).read_text())
        return recorded.get("key") == key and recorded.get("binary") == file_digest(artifact.path)
    except (OSError, ValueError):
        return False


def record(artifact: Artifact, key: str) -> None:
    """Keep the key next to the binary. A half-written key file reads as no key: the next run rebuilds."""
    path = key_file(artifact)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"key": key, "binary": file_digest(artifact.path)}))
    except OSError as e:
        path.unlink(missing_ok=True)
        raise PipelineError(f"cannot write {output.shown(path)}: {(e.strerror or str(e)).lower()}; free space in "
                            f"{output.shown(artifact.path.parent)} and run again (nothing was deployed)") from None


def ldflags_for(artifact: Artifact, ldflags: str) -> str:
    """The user's ldflags for the user's programs; goswarm's own helpers always get HELPER_LDFLAGS. Pure."""
    return HELPER_LDFLAGS if artifact.service.name in config.HELPERS else ldflags


def helper_env(artifact: Artifact) -> dict:
    """goswarm's own programs build without the user's GOFLAGS (tags, -mod…), which are about the user's code."""
    return {"GOFLAGS": "''"} if artifact.service.name in config.HELPERS else {}


def gopath_env(artifact: Artifact) -> dict:
    """A `gopath:` service (no go.mod, a vendor/) builds as it was written: GOPATH mode, in a GOPATH of goswarm's
    own under dist/ where src/<its import path> is its directory."""
    if not artifact.service.gopath:
        return {}
    return {"GO111MODULE": "off", "GOPATH": shlex.quote(str(_gopath_root(artifact)))}


def _gopath_root(artifact: Artifact) -> Path:
    return artifact.path.parent.resolve() / ".gopath"


def directory(artifact: Artifact) -> Path:
    """Where its go commands run: its module, or for a `gopath:` service its place in goswarm's GOPATH."""
    if not artifact.service.gopath:
        return artifact.service.path
    return _gopath_root(artifact) / "src" / artifact.service.gopath


def workdir(artifact: Artifact) -> None:
    """A `gopath:` service's place in goswarm's GOPATH: a link to its directory, made or corrected."""
    if not artifact.service.gopath:
        return
    link, target = directory(artifact), artifact.service.path.resolve()
    try:
        if link.is_symlink() and Path(os.readlink(link)) == target:
            return
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target, target_is_directory=True)
    except OSError as e:
        raise PipelineError(f"cannot make {output.shown(link)} for GOPATH mode: {(e.strerror or str(e)).lower()} "
                            f"(nothing was deployed)") from None


def go_env(artifact: Artifact) -> dict:
    """The variables its go commands get: the platform's, and goswarm's helpers' or GOPATH mode's."""
    return {**artifact.platform.go_env, **helper_env(artifact), **gopath_env(artifact)}


def _assignments(artifact: Artifact) -> str:
    return " ".join(f"{k}={v}" for k, v in go_env(artifact).items())


def go_command(artifact: Artifact, ldflags: str) -> str:
    """The `go build` line, runnable as shown (so --echo/--dry print something a user can paste)."""
    ldflags = ldflags_for(artifact, ldflags)
    return (
        f"cd {shlex.quote(str(directory(artifact)))} && {_assignments(artifact)} go build {FLAGS}"
        f" -ldflags={shlex.quote(ldflags)} -o {shlex.quote(str(artifact.path))} {shlex.quote(artifact.service.main)}"
    )


def go_facts(sh, dist: Path):
    """The Go version and the platforms it can target. Asking Go costs two process starts (30-40 ms, most
    of a no-op redeploy's own time), so the answer is kept in dist/.keys/go, keyed by the go binary
    (its resolved path, size and mtime) and the variables that pick a toolchain."""
    go = shutil.which("go")
    if not go:
        raise PipelineError(GO_MISSING)
    real = Path(go).resolve()
    stat = real.stat()
    key = [str(real), stat.st_size, stat.st_mtime_ns, *(os.environ.get(v) for v in ("GOROOT", "GOTOOLCHAIN"))]
    cache = dist / ".keys" / "go"
    try:
        kept = json.loads(cache.read_text())
        if kept["key"] == key:
            return kept["version"], platforms.parse_dist_list(kept["dist_list"])
    except (OSError, ValueError, KeyError, TypeError):
        pass  # no answer kept yet (or an unreadable one): ask Go
    result = sh.read("go env GOVERSION && go tool dist list")
    if not result.ok:
        raise PipelineError(f"`go tool dist list` failed: {result.stderr.strip()[:200]}")
    version, _, dist_list = result.stdout.partition("\n")
    if not sh.dry:
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_text(json.dumps({"key": key, "version": version.strip(), "dist_list": dist_list}))
        except OSError:
            pass  # a cache only: a full or read-only dist/ costs the next run 30 ms, the build reports it
    return version.strip(), platforms.parse_dist_list(dist_list)


def compile_all(sh, artifacts, ldflags: str, go_version: str, force: bool = False) -> list:
    """Build in parallel what changed; on any compile error, raise with the compiler's own message.
    force: compile the user's services even when up to date (never goswarm's own helpers).

    Returns the artifacts that were compiled (the rest were up to date).
    """
    for artifact in artifacts:
        if not artifact.service.path.is_dir():
            raise PipelineError(f"services.{artifact.service.name}.path: {artifact.service.path} is not a directory")
    environments = {a.path: go_environment(a, ldflags_for(a, ldflags), go_version) for a in artifacts}
    keys = {a.path: kept_key(a, environments[a.path]) for a in artifacts}
    stale = [a for a in artifacts if force and a.service.name not in config.HELPERS or keys[a.path] is None
             or not up_to_date(a, keys[a.path])]
    for artifact in artifacts:
        if artifact not in stale:
            print(f"{output.shown(artifact.path)}: up to date (same packages, files, Go environment and flags)")
    if not stale:
        return []
    for artifact in stale:  # what it compiles may have changed with the edit (a new import): ask go list
        keys[artifact.path] = fresh_key(sh, artifact, environments[artifact.path])
    if not sh.dry:
        try:
            artifacts[0].path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise PipelineError(f"cannot create {output.shown(artifacts[0].path.parent)}: {e.strerror or e}") from None

    def one(artifact):
        if not sh.dry:
            workdir(artifact)
        if force and artifact.service.name not in config.HELPERS and not sh.dry:
            artifact.path.unlink(missing_ok=True)  # go build may leave an up-to-date binary as it is
        return artifact, sh.run(go_command(artifact, ldflags), hide=True, warn=True)

    # go build uses every core already: more builds at once than cores only thrash
    with ThreadPoolExecutor(max_workers=parallel.workers(len(stale), parallel.CORES)) as pool:
        results = list(pool.map(one, stale))
    failed = [(a, r) for a, r in results if not r.ok]
    full = [a for a, r in failed if "no space left on device" in r.stderr]
    if full:
        raise PipelineError(f"go build could not write {output.shown(full[0].path)}: no space left on device; "
                            f"free space in {output.shown(full[0].path.parent)} and run again (nothing was deployed)")
    for artifact, result in failed:
        print(f"--- go build {artifact.service.name} ({artifact.platform}) failed:\n{result.stderr.rstrip()}")
    if failed:
        names = ", ".join(sorted({a.service.name for a, _ in failed}))
        raise PipelineError(f"compile failed for {names}; nothing was deployed")
    if not sh.dry:
        for artifact in stale:
            if keys[artifact.path] is None:
                key_file(artifact).unlink(missing_ok=True)
            else:
                record(artifact, keys[artifact.path])
    return stale


def with_mains(services: list, root: Path) -> list:
    """The Go mains that `services` name in `with:`, each once, as things to compile under their own names
    (dist/healthchecker-<os>-<arch>), in the module (go.mod) above each, as a service is."""
    found = {}
    for service in services:
        for directory in service.with_mains:
            name = config.binary_name(directory)
            if name not in found:
                found[name] = _main_to_compile(f"services.{service.name}.with", name, directory, root, service)
    return list(found.values())


def _main_to_compile(where: str, name: str, directory: Path, root: Path, service: config.Service) -> config.Service:
    if not directory.is_dir():
        raise PipelineError(f"{where}: {output.shown(directory)} is not a directory")
    sources = {p.name: environment.read_text(p) for p in directory.glob("*.go") if not p.name.endswith("_test.go")}
    if not gosource.is_main(sources):
        raise PipelineError(f"{where}: {output.shown(directory)} is not a Go main package "
                            f"(no file with `package main` and `func main()`)")
    above = [d for d in (directory, *directory.parents) if d == root or root in d.parents]
    module = next((d for d in above if (d / "go.mod").is_file()), None)
    gopath = service.gopath if module is None and service.path in above else ""  # the service's GOPATH mode
    module = service.path if gopath else module or directory
    package = "." if module == directory else "./" + directory.relative_to(module).as_posix()
    return config.Service(name, module, port=1, main=package, gopath=gopath)


def run(sh, cfg, services: list, targets: list = None, force: bool = False) -> list:
    """Validate, then compile what changed, for `services`, their `with:` mains and the edge and probe their
    images need; returns the artifacts that were compiled. targets: platforms (default: build.platforms)."""
    targets = targets or cfg.platforms
    go_version, supported = go_facts(sh, cfg.dist)
    platforms.validate(targets, supported)
    chosen = [*config.to_compile(services, environment.GO_SOURCES), *with_mains(services, cfg.root)]
    return compile_all(sh, plan(chosen, targets, cfg.dist), cfg.ldflags, go_version, force)
