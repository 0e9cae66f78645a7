"""program.py: the command a user runs, for messages that say what to run next."""
import os

import pytest

from goswarm import program


@pytest.mark.parametrize("argv, name", [
    (["/usr/local/bin/goswarm", "deploy"], "goswarm"),
    (["goswarm"], "goswarm"),
    (["/work/.venv/bin/inv", "deploy"], "inv"),
    (["invoke"], "inv"),
    ([f"/usr/lib/python3/site-packages{os.sep}invoke{os.sep}__main__.py", "deploy"], "inv"),  # python -m invoke
    (["/usr/lib/python3/site-packages/goswarm/__main__.py"], "goswarm"),  # python -m goswarm
    (["/home/me/invoices/run"], "goswarm"),  # a name that only starts like it
    ([], "goswarm"),
])
def test_name_follows_how_the_program_was_started(monkeypatch, argv, name):
    monkeypatch.setattr("sys.argv", argv)
    assert program.name() == name


def test_run_is_the_command_as_a_user_types_it(monkeypatch):
    monkeypatch.setattr("sys.argv", ["inv"])
    assert program.run("deploy.ps") == "`inv deploy.ps`"
    monkeypatch.setattr("sys.argv", ["goswarm"])
    assert program.run("swarm.init") == "`goswarm swarm.init`"
