"""A headless Chromium, for the page's PNG snapshot: the browser paints it as a person would see it."""
import shutil
import subprocess
from pathlib import Path

from goswarm.errors import PipelineError

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars")


def chromium() -> str:
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise PipelineError("a .png snapshot needs Chromium, which is not installed (apt-get install chromium); "
                        "a .svg snapshot needs nothing")


def screenshot(url: str, path: Path, width: int, height: int, profile: Path, timeout: float = 60) -> None:
    """Chromium opens `url` and writes what it painted to `path` (PNG)."""
    argv = [chromium(), *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
            f"--screenshot={path}", url]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise PipelineError(f"Chromium took more than {timeout:.0f}s to paint the page") from None
    if done.returncode != 0 or not path.is_file():
        last = (done.stderr.strip().splitlines() or ["no output"])[-1][:200]
        raise PipelineError(f"Chromium could not write {path}: {last}")
