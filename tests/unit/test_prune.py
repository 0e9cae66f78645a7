"""ops/prune.py's pure parts: which images of a repository go, and how a spec's image matches the engine's list."""
from types import SimpleNamespace

from goswarm.ops import prune


def image(ident: str, created: str, digests=()):
    return SimpleNamespace(id=ident, attrs={"Created": created, "RepoDigests": list(digests)})


def test_all_but_the_newest_go_unless_a_spec_runs_them():
    images = [image("sha256:a", "2026-01-01"), image("sha256:b", "2026-01-03"), image("sha256:c", "2026-01-02"),
              image("sha256:d", "2025-12-31", ["r/p/s@sha256:dd"])]
    assert [i.id for i in prune.stale(images, 1, set())] == ["sha256:c", "sha256:a", "sha256:d"]
    assert [i.id for i in prune.stale(images, 1, {"sha256:a", "r/p/s@sha256:dd"})] == ["sha256:c"]
    assert prune.stale(images, 4, set()) == []


def test_a_specs_image_as_the_engine_lists_its_digest():
    assert prune.digest_ref("127.0.0.1:5000/p/svc:abc@sha256:11") == "127.0.0.1:5000/p/svc@sha256:11"
    assert prune.digest_ref("127.0.0.1:5000/p/svc@sha256:11") == "127.0.0.1:5000/p/svc@sha256:11"
    assert prune.digest_ref("sha256:22") == "sha256:22"
