"""The docs: the MkDocs site builds with --strict (no broken link, no missing page), its generated pages come from
their homes, and the README stays a short introduction that names every task."""
import re
import subprocess
import sys
from pathlib import Path

from goswarm import settings
from goswarm.plan import config
from goswarm.tasks import namespace

ROOT = Path(__file__).resolve().parents[2]


def test_the_site_builds_strict_and_its_task_page_lists_every_flag(tmp_path):
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True, env={"NO_MKDOCS_2_WARNING": "1", "PATH": ""})
    assert result.returncode == 0 and "WARNING" not in result.stderr, result.stdout + result.stderr
    tasks_page = (tmp_path / "tasks" / "index.html").read_text()
    ns = namespace(ROOT)
    for name in ns.task_names:
        for arg in ns[name].get_arguments():
            assert f"--{arg.names[0]}" in tasks_page, f"{name} --{arg.names[0]} is not on the task page"
    assert "Failed requests during" in (tmp_path / "benchmarks" / "index.html").read_text()
    config_page = (tmp_path / "configuration" / "index.html").read_text()
    for field in sorted(config._FIELDS):
        assert f"<code>{field}</code>" in config_page, f"services.NAME.{field} is not in the config reference"
    for section, keys in settings.DEFAULTS.items():
        for key in keys if isinstance(keys, dict) and section != "addons" else ():
            assert f"<code>{section}.{key}</code>" in config_page, f"{section}.{key} is not in the config reference"


def test_the_readme_is_short_and_names_every_task():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    table = "\n".join(line for line in readme.splitlines() if line.startswith("| `"))
    named = set(re.findall(r"`([a-z.]+)`", table))
    for name in namespace(ROOT).task_names:
        shown = {"build.build": "build", "deploy.deploy": "deploy"}.get(name, name)
        assert shown in named, f"the README's task table lacks {shown}"


def test_every_page_in_docs_is_in_the_nav():
    nav = (ROOT / "mkdocs.yml").read_text()
    for page in (ROOT / "docs").glob("*.md"):
        assert f" {page.name}" in nav, f"{page.name} is not in mkdocs.yml's nav"
