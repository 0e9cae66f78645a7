import json

import pytest

from goswarm.plan import release

SHA = "sha256:" + "a" * 64
ARM = "sha256:" + "b" * 64
REPO = "127.0.0.1:5000/pfx/accountservice"


def good(**fields) -> dict:
    entry = {"image": REPO, "tag": "3f9c0a1b2c4d", "digest": f"{REPO}@{SHA}",
             "platforms": {"linux/amd64": SHA, "linux/arm64": ARM}, "source_hash": "f" * 64, "revision": "1a2b3c4",
             "healthcheck": None, **fields}
    return {"version": 1, "services": {"accountservice": entry}}


def test_a_release_round_trips_and_is_stable():
    entries = release.parse(json.dumps(good()))
    entry = entries["accountservice"]
    assert entry.sha == SHA and entry.platforms == {"linux/amd64": SHA, "linux/arm64": ARM}
    assert entry.ref == f"{REPO}:3f9c0a1b2c4d@{SHA}"
    text = release.dumps(entries)
    assert release.parse(text) == entries and release.dumps(release.parse(text)) == text
    assert json.loads(text)["services"]["accountservice"]["digest"] == f"{REPO}@{SHA}"


def test_without_a_tag_the_reference_is_the_digest():
    entry = release.parse(json.dumps(good(tag="")))["accountservice"]
    assert entry.ref == f"{REPO}@{SHA}"


@pytest.mark.parametrize("text, fragment", [
    ("{not json", "release.json is not JSON (Expecting property name"),
    ("[]", "has no `services` mapping"),
    ('{"services": []}', "has no `services` mapping"),
    ('{"services": {}}', "names no service"),
    ('{"version": 2, "services": {"a": {}}}', "release file version 2"),
    (json.dumps({"services": {"a": "x"}}), "services.a must be a mapping, got str"),
    (json.dumps(good(extra=1)), "services.accountservice.extra is not a release field"),
    (json.dumps(good(image="Upper/Case")), "services.accountservice.image must be a repository"),
    (json.dumps(good(image=f"{REPO}@{SHA}")), "services.accountservice.image must be a repository"),
    (json.dumps(good(digest=f"{REPO}:latest")), "services.accountservice.digest must be"),
    (json.dumps(good(digest=f"other/repo@{SHA}")), "services.accountservice.digest must be"),
    (json.dumps(good(digest=f"{REPO}@sha256:abc")), "services.accountservice.digest must be"),
    (json.dumps(good(platforms=["linux/amd64"])), "platforms must map os/arch to sha256"),
    (json.dumps(good(platforms={"amd64": SHA})), "'amd64': 'sha256:"),
    (json.dumps(good(platforms={"linux/amd64": "latest"})), "'linux/amd64': 'latest' is not"),
    (json.dumps(good(revision=7)), "revision must be a git revision or null"),
    (json.dumps(good(tag=3)), "tag must be a string"),
    (json.dumps(good(healthcheck={"Test": "probe"})), "healthcheck must be null or the image's Healthcheck"),
])
def test_a_malformed_release_is_one_line_naming_the_field(text, fragment):
    with pytest.raises(release.ReleaseError) as e:
        release.parse(text, "release.json")
    assert fragment in str(e.value) and "\n" not in str(e.value)


def test_what_a_release_deploys():
    entries = {"a": 1, "b": 2, "goswarm-edge": 3}
    edge = {"a": False, "b": True}.get
    assert release.to_deploy(entries, ["a", "b", "c"], None, edge, "goswarm-edge") == ["a", "b"]
    assert release.to_deploy(entries, ["a", "b", "c"], ["a"], edge, "goswarm-edge") == ["a"]
    with pytest.raises(release.ReleaseError, match="no entry for c: push it"):
        release.to_deploy(entries, ["a", "b", "c"], ["c"], edge, "goswarm-edge")
    with pytest.raises(release.ReleaseError, match="names x, which is no service in the config"):
        release.to_deploy({"x": 1}, ["a"], None, edge, "goswarm-edge")
    with pytest.raises(release.ReleaseError, match="no entry for goswarm-edge, which publish_mode: edge needs"):
        release.to_deploy({"b": 1}, ["a", "b"], None, edge, "goswarm-edge")


def test_a_release_pointing_a_service_at_another_repository_is_refused():
    entries = release.parse(json.dumps(good()))
    release.check_repositories(entries, ["accountservice"], lambda name: f"127.0.0.1:5000/pfx/{name}")
    with pytest.raises(release.ReleaseError) as e:
        release.check_repositories(entries, ["accountservice"], lambda name: f"127.0.0.1:5000/other/{name}")
    assert str(e.value) == ("the release's image for accountservice is 127.0.0.1:5000/pfx/accountservice, not "
                            "accountservice's repository 127.0.0.1:5000/other/accountservice: a release deploys only "
                            "the images goswarm pushed for its services; nothing was changed")
