import json
import os
import subprocess

from goswarm.ops import manifest


def test_the_private_config_hands_the_cli_the_credentials_from_the_environment_only():
    with manifest.private_config("127.0.0.1:5000", ("ci", "s3cret pw")) as (folder, env):
        config = json.loads((folder / "config.json").read_text())
        assert config == {"credHelpers": {"127.0.0.1:5000": "goswarm"}}
        assert (folder.stat().st_mode & 0o777) == 0o700
        for path in folder.rglob("*"):
            assert b"s3cret" not in path.read_bytes() if path.is_file() else True
        answer = subprocess.run(["docker-credential-goswarm", "get"], input="127.0.0.1:5000", capture_output=True,
                                text=True, env={**os.environ, **env}, check=True)
        assert json.loads(answer.stdout) == {"Username": "ci", "Secret": "s3cret pw"}
        stored = subprocess.run(["docker-credential-goswarm", "store"], input=b"{}", capture_output=True,
                                env={**os.environ, **env})
        assert stored.returncode == 0 and not stored.stdout
    assert not folder.exists()


def test_without_credentials_the_config_is_empty():
    with manifest.private_config("127.0.0.1:5000", None) as (folder, env):
        assert json.loads((folder / "config.json").read_text()) == {} and "PATH" not in env
    assert not folder.exists()
