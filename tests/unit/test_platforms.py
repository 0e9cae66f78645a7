import pytest

from goswarm.errors import PipelineError
from goswarm.plan import platforms
from goswarm.plan.platforms import Platform

DIST = {"linux/amd64", "linux/arm64", "linux/arm", "darwin/arm64", "windows/amd64"}


@pytest.mark.parametrize("text, expected", [
    ("linux/amd64", Platform("linux", "amd64")),
    (" Linux/ARM64 ", Platform("linux", "arm64")),
    ("linux/arm/v7", Platform("linux", "arm", "v7")),
])
def test_parse(text, expected):
    assert platforms.parse(text) == expected


@pytest.mark.parametrize("text", ["linux", "linux/", "/amd64", "a/b/c/d", ""])
def test_parse_refuses_malformed(text):
    with pytest.raises(PipelineError, match="os/arch"):
        platforms.parse(text)


def test_parse_list_dedupes_and_keeps_order():
    got = platforms.parse_list("linux/arm64, linux/amd64,linux/arm64")
    assert got == [Platform("linux", "arm64"), Platform("linux", "amd64")]
    assert platforms.parse_list(["linux/amd64"]) == [Platform("linux", "amd64")]


def test_parse_list_refuses_empty():
    with pytest.raises(PipelineError, match="no platform"):
        platforms.parse_list(" , ")


@pytest.mark.parametrize("platform, env", [
    (Platform("linux", "amd64"), {"CGO_ENABLED": "0", "GOOS": "linux", "GOARCH": "amd64"}),
    (Platform("linux", "arm", "v7"), {"CGO_ENABLED": "0", "GOOS": "linux", "GOARCH": "arm", "GOARM": "7"}),
])
def test_go_env(platform, env):
    assert platform.go_env == env


@pytest.mark.parametrize("platform, name", [
    (Platform("linux", "amd64"), "accountservice-linux-amd64"),
    (Platform("linux", "arm", "v7"), "accountservice-linux-arm-v7"),
])
def test_artifact_name_follows_the_blog(platform, name):
    assert platforms.artifact_name("accountservice", platform) == name


def test_parse_dist_list():
    assert platforms.parse_dist_list("aix/ppc64\nlinux/amd64\n\n") == {"aix/ppc64", "linux/amd64"}


def test_validate_accepts_known():
    platforms.validate([Platform("linux", "amd64"), Platform("linux", "arm", "v7")], DIST)


def test_validate_lists_the_valid_ones():
    with pytest.raises(PipelineError) as e:
        platforms.validate([Platform("linux", "amd46")], DIST)
    assert "'linux/amd46'" in str(e.value) and "linux/arm64" in str(e.value)


@pytest.mark.parametrize("bad", [Platform("linux", "amd64", "v7"), Platform("linux", "arm", "v9")])
def test_validate_refuses_bad_variant(bad):
    with pytest.raises(PipelineError, match="variant"):
        platforms.validate([bad], DIST)


def test_engine_platform_and_match():
    engine = platforms.engine_platform({"Os": "linux", "Arch": "x86_64"})
    assert engine == Platform("linux", "amd64")
    built = [Platform("linux", "arm64"), Platform("linux", "amd64")]
    assert platforms.for_engine(built, engine) == Platform("linux", "amd64")
    with pytest.raises(PipelineError, match="add linux/amd64"):
        platforms.for_engine([Platform("linux", "arm64")], engine)


def test_a_deploy_builds_only_what_the_nodes_run_and_all_of_it():
    amd64, arm64 = platforms.Platform("linux", "amd64"), platforms.Platform("linux", "arm64")
    platforms.deployable([amd64, arm64], [amd64])  # a manifest list may cover more than today's nodes
    with pytest.raises(PipelineError, match=r"build.platforms has windows/amd64, but the swarm's nodes run linux; "
                                            r"remove it \(`goswarm build --platform windows/amd64` still"):
        platforms.deployable([amd64, platforms.Platform("windows", "amd64")], [amd64])
    with pytest.raises(PipelineError, match=r"a swarm node runs linux/arm64, which build.platforms \(linux/amd64\) "
                                            r"does not include; add linux/arm64"):
        platforms.deployable([amd64], [amd64, arm64])
