"""The repository passes `ruff check` (its rules are in pyproject.toml). ruff comes with the [test] extra:
without it this test fails rather than skips, so a style check is never silently left out."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_ruff_finds_nothing():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"ruff check (from pip install -e '.[test]'):\n{result.stdout}{result.stderr}"
