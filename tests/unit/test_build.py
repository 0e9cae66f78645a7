"""Build keys: what makes `inv build` compile again, and what does not."""

import pytest

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
