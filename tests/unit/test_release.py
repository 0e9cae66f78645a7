import json
from pathlib import Path

import pytest

from goswarm.errors import PipelineError
from goswarm.io.shell import Shell
from goswarm.ops import image, release
from goswarm.plan import config

SHA = "sha256:" + "c" * 64


class Cfg:
    root = Path("/project")
    dist = Path("/project/dist")
    destination = ""
    services = {"a": config.Service("a", Path("/project/a"), 80, publish=8080, publish_mode="edge")}

    @staticmethod
    def pull_ref(ref):
        return ref.replace("127.0.0.1:5000/", "10.77.0.1:5000/")

    @staticmethod
    def repository(service):
        return f"127.0.0.1:5000/p/{service}"


def pushed(name="a", repo="127.0.0.1:5000/p/a") -> image.Image:
    return image.Image(name, repo, "0123456789ab", "sha256:local", f"{repo}:0123456789ab@{SHA}",
                       {"Test": ["CMD", "/x"]}, SHA, (("linux/amd64", SHA),), "linux/amd64", "h" * 64, "")


def test_the_release_file_path():
    assert release.path_of(Cfg) == Path("/project/dist/release.json")
    assert release.path_of(Cfg, "out/r.json") == Path("/project/out/r.json")
    assert release.path_of(Cfg, "/tmp/r.json") == Path("/tmp/r.json")


def test_written_and_read_back_as_the_images_deploy_takes(tmp_path, capsys):
    path = tmp_path / "sub" / "release.json"
    release.write(Shell(None), [pushed(), pushed(config.EDGE, "127.0.0.1:5000/p/goswarm-edge")], path)
    data = json.loads(path.read_text())
    assert data["services"]["a"]["digest"] == f"127.0.0.1:5000/p/a@{SHA}"
    assert data["services"]["a"]["revision"] is None and data["services"]["a"]["healthcheck"]["Test"]
    assert set(data["services"]) == {"a", config.EDGE}
    assert list(tmp_path.joinpath("sub").iterdir()) == [path]  # no partial file left
    images = release.images_of(Cfg, release.read(path))
    assert images["a"].deploy_ref == f"10.77.0.1:5000/p/a:0123456789ab@{SHA}"  # as the nodes name it
    assert images["a"].id == "" and images["a"].healthcheck == {"Test": ["CMD", "/x"]}
    assert [s.name for s in release.services_of(Cfg, release.read(path))] == ["a"]


def test_dry_writes_nothing(tmp_path, capsys):
    release.write(Shell(None, dry=True), [pushed(), image.Image("b", "r/b", "new")], tmp_path / "release.json")
    assert not (tmp_path / "release.json").exists() and "[dry] would write" in capsys.readouterr().out


def test_an_image_that_was_not_pushed_is_no_release():
    with pytest.raises(PipelineError, match="was not pushed"):
        release.entry(image.Image("a", "p/a", "t", "sha256:x"))


def test_a_missing_release_file_is_one_line(tmp_path):
    with pytest.raises(PipelineError, match="does not exist: image.push writes it"):
        release.read(tmp_path / "nope.json")
