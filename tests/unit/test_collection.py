"""Every task explains itself: a docstring for `inv --list`, help for each flag."""
import subprocess
import sys

from goswarm.tasks import namespace


def all_tasks(collection, prefix=""):
    for name, task in collection.tasks.items():
        yield prefix + name, task
    for name, sub in collection.collections.items():
        yield from all_tasks(sub, prefix + name + ".")


def test_every_task_has_a_docstring_and_help_for_each_flag():
    tasks = dict(all_tasks(namespace()))
    assert {"redeploy", "setup", "build.build", "image.build", "image.push", "image.run", "swarm.init",
            "swarm.status", "deploy.deploy", "deploy.rm", "deploy.scale", "deploy.ps", "deploy.logs"} <= set(tasks)
    for name, task in tasks.items():
        assert (task.__doc__ or "").strip(), f"{name} has no docstring"
        for arg in task.get_arguments():
            assert arg.help, f"{name} --{arg.name} has no help"


def test_listing_imports_no_docker_paramiko_or_cryptography():
    code = ("import sys; from invoke.program import Program; "
            "Program(binary='inv').run(['inv', '--list'], exit=False); "
            "print(sorted(m for m in sys.modules "
            "if m.split('.')[0] in ('docker', 'paramiko', 'cryptography', 'requests')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_listing_imports_none_of_the_library_behind_the_tasks():
    """`goswarm --list` and `--help` load the task collections and the defaults, not the operations, the
    engine edges or the config parser: a list that costs no more than Invoke's own start."""
    code = ("import sys; from goswarm import cli; sys.argv = ['goswarm', '--list']\n"
            "try: cli.main()\nexcept SystemExit: pass\n"
            "print(sorted(m for m in sys.modules if m.startswith(('goswarm.ops', 'goswarm.io.machines', "
            "'goswarm.io.engine', 'goswarm.plan.config'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "redeploy" in out
    assert out.strip().splitlines()[-1] == "[]"
