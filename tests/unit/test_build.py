"""Build keys: what makes `inv build` compile again, and what does not."""

from types import SimpleNamespace

import pytest

from goswarm.errors import PipelineError
from goswarm.ops import build
from goswarm.plan import config, platforms

AMD64 = platforms.Platform("linux", "amd64")
ARM7 = platforms.Platform("linux", "arm", "v7")


def artifact(tmp_path, platform=AMD64, main="."):
    service = config.Service("svc", tmp_path / "src", 8080, main=main)
    return build.Artifact(service, platform, tmp_path / "dist" / platforms.artifact_name("svc", platform))


def test_source_hash_sees_edits_but_not_hidden_files_or_tests(tmp_path):
    (tmp_path / "main.go").write_text("package main\n")
    before = build.source_hash(tmp_path)
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("x")
    (tmp_path / "main_test.go").write_text("package main // tests do not go into the binary\n")
    assert build.source_hash(tmp_path) == before
    (tmp_path / "main.go").write_text("package main // changed\n")
    assert build.source_hash(tmp_path) != before


def test_source_hash_sees_new_files_and_renames(tmp_path):
    (tmp_path / "main.go").write_text("package main\n")
    before = build.source_hash(tmp_path)
    (tmp_path / "go.sum").write_text("")
    with_sum = build.source_hash(tmp_path)
    assert with_sum != before
    (tmp_path / "go.sum").rename(tmp_path / "other.txt")
    assert build.source_hash(tmp_path) != with_sum


@pytest.mark.parametrize("change", [
    dict(sources="s2"), dict(go_version="go1.20"), dict(ldflags=""), dict(platform=ARM7), dict(main="./cmd/x"),
])
def test_build_key_changes_with_every_input(tmp_path, change):
    base = dict(sources="s1", go_version="go1.19.8", ldflags="-s -w", platform=AMD64, main=".")
    def key(sources, go_version, ldflags, platform, main):
        return build.build_key(artifact(tmp_path, platform, main), sources, go_version, ldflags)
    assert key(**base) == key(**base)
    assert key(**{**base, **change}) != key(**base)


def test_up_to_date_needs_the_recorded_key_and_the_same_binary(tmp_path):
    a = artifact(tmp_path)
    assert not build.up_to_date(a, "k1")  # nothing built yet
    a.path.parent.mkdir(parents=True)
    a.path.write_bytes(b"\x7fELF one")
    build.record(a, "k1")
    assert build.up_to_date(a, "k1")
    assert not build.up_to_date(a, "k2")  # the sources (or Go, or flags) changed
    a.path.write_bytes(b"\x7fELF overwritten by hand")
    assert not build.up_to_date(a, "k1")
    a.path.unlink()
    assert not build.up_to_date(a, "k1")


def test_a_corrupt_key_file_means_rebuild(tmp_path):
    a = artifact(tmp_path)
    a.path.parent.mkdir(parents=True)
    a.path.write_bytes(b"\x7fELF")
    build.key_file(a).parent.mkdir()
    build.key_file(a).write_text("{not json")
    assert not build.up_to_date(a, "k1")


def test_with_mains_compile_under_their_own_names_in_their_module(tmp_path):
    (tmp_path / "go.mod").write_text("module m\n")
    (tmp_path / "cmd" / "healthchecker").mkdir(parents=True)
    (tmp_path / "cmd" / "healthchecker" / "main.go").write_text("package main\n\nfunc main() {}\n")
    (tmp_path / "own").mkdir()
    (tmp_path / "own" / "go.mod").write_text("module own\n")
    (tmp_path / "own" / "main.go").write_text("package main\n\nfunc main() {}\n")
    a = config.Service("a", tmp_path / "a", 1, with_mains=(tmp_path / "cmd" / "healthchecker", tmp_path / "own"))
    b = config.Service("b", tmp_path / "b", 1, with_mains=(tmp_path / "cmd" / "healthchecker",))
    helper = config.Service("healthchecker", tmp_path, 1, main="./cmd/healthchecker")
    assert build.with_mains([a, b], tmp_path) == [helper, config.Service("own", tmp_path / "own", 1)]


@pytest.mark.parametrize("files, message", [
    ({}, "is not a directory"),
    ({"hc/lib.go": "package lib\n"}, "is not a Go main package"),
    ({"hc/main_test.go": "package main\nfunc main() {}\n"}, "is not a Go main package"),
])
def test_a_with_that_is_no_go_main_is_one_line(tmp_path, files, message):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    service = config.Service("a", tmp_path / "a", 1, with_mains=(tmp_path / "hc",))
    with pytest.raises(PipelineError, match=f"services.a.with: .*hc {message}"):
        build.with_mains([service], tmp_path)


def test_the_build_output_inside_a_module_is_not_its_source(tmp_path):
    """A service at the project root (path: .) holds dist/: its binaries must not change its build key."""
    (tmp_path / "main.go").write_text("package main\n")
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "svc-linux-amd64").write_bytes(b"\x7fELF")
    assert build.source_files(tmp_path, tmp_path / "dist") == [tmp_path / "main.go"]
    before = build.source_hash(tmp_path, tmp_path / "dist")
    (tmp_path / "dist" / "svc-linux-amd64").write_bytes(b"\x7fELF, rebuilt")
    assert build.source_hash(tmp_path, tmp_path / "dist") == before


class GoShell:
    """A Shell whose `read` answers as Go would and counts the questions."""

    dry = False

    def __init__(self):
        self.asked = 0

    def read(self, command):
        self.asked += 1
        return SimpleNamespace(ok=True, stdout="go1.19.8\nlinux/amd64\nlinux/arm64\n", stderr="")


def test_go_facts_are_asked_once_per_toolchain(tmp_path, monkeypatch):
    fake_go = tmp_path / "bin" / "go"
    fake_go.parent.mkdir()
    fake_go.write_text("#!/bin/sh\n")
    fake_go.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake_go.parent))
    monkeypatch.delenv("GOTOOLCHAIN", raising=False)
    sh, dist = GoShell(), tmp_path / "dist"
    first = build.go_facts(sh, dist)
    assert first[0] == "go1.19.8" and sh.asked == 1
    assert build.go_facts(sh, dist) == first and sh.asked == 1  # kept in dist/.keys/go
    monkeypatch.setenv("GOTOOLCHAIN", "go1.22.0")  # another toolchain: ask again
    build.go_facts(sh, dist)
    assert sh.asked == 2
    fake_go.write_text("#!/bin/sh\n# a new go\n")  # another binary (size and mtime): ask again
    build.go_facts(sh, dist)
    assert sh.asked == 3
    (dist / ".keys" / "go").write_text("{not json")  # a damaged record is asked again, not an error
    assert build.go_facts(sh, dist) == first and sh.asked == 4


def test_the_edge_and_the_probe_never_take_the_users_ldflags_or_goflags(tmp_path):
    edge = build.Artifact(config.Service(config.EDGE, tmp_path, 80), AMD64, tmp_path / "e")
    app = build.Artifact(config.Service("app", tmp_path, 80), AMD64, tmp_path / "a")
    assert build.ldflags_for(edge, "-X main.v=2") == build.HELPER_LDFLAGS
    assert build.ldflags_for(app, "-X main.v=2") == "-X main.v=2"
    assert build.build_key(edge, "s", "go1", build.ldflags_for(edge, "-X main.v=1")) == \
        build.build_key(edge, "s", "go1", build.ldflags_for(edge, "-X main.v=2"))
    assert "GOFLAGS=''" in build.go_command(edge, "-X main.v=2") and "main.v" not in build.go_command(edge, "-X")
    assert "GOFLAGS" not in build.go_command(app, "-X main.v=2")


def test_a_gopath_service_builds_in_gopath_mode_from_its_place_in_goswarms_gopath(tmp_path):
    (tmp_path / "src").mkdir()
    service = config.Service("svc", tmp_path / "src", 80, main="./hello", gopath="github.com/you/app")
    old = build.Artifact(service, AMD64, tmp_path / "dist" / "svc-linux-amd64")
    place = tmp_path / "dist" / ".gopath" / "src" / "github.com" / "you" / "app"
    command = build.go_command(old, "-s")
    assert command.startswith(f"cd {place} && ") and f"GO111MODULE=off GOPATH={tmp_path}/dist/.gopath go build" in \
        command and command.endswith(" ./hello")
    build.workdir(old)
    assert place.is_symlink() and place.resolve() == tmp_path / "src"
    place.unlink()
    place.symlink_to(tmp_path)  # a link left by a project that was moved: corrected
    build.workdir(old)
    assert place.resolve() == tmp_path / "src"
    modules = build.Artifact(config.Service("svc", tmp_path / "src", 80, main="./hello"), AMD64, old.path)
    assert build.go_command(modules, "-s").startswith(f"cd {tmp_path}/src && ") and "GOPATH" not in \
        build.go_command(modules, "-s")
    assert build.go_environment(old, "-s", "go1") != build.go_environment(modules, "-s", "go1")


@pytest.mark.parametrize("value", ["/abs/path", "github.com/../x", "a b", 3])
def test_gopath_must_be_an_import_path(tmp_path, value):
    raw = {"path": ".", "port": 80, "gopath": value}
    with pytest.raises(config.ConfigError, match="gopath must be the import path"):
        config.parse_service("svc", raw, tmp_path)
