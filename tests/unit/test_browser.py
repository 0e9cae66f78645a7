"""io/browser: a missing Chromium is one line; a real one paints a page from loopback."""
import shutil
from pathlib import Path

import pytest

from goswarm.errors import PipelineError
from goswarm.io import browser, viewserver


def test_without_chromium_a_png_snapshot_is_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PipelineError) as missing:
        browser.chromium()
    assert str(missing.value) == ("a .png snapshot needs Chromium, which is not installed (apt-get install "
                                  "chromium); a .svg snapshot needs nothing")


def test_chromium_paints_the_page(tmp_path):
    if not shutil.which("chromium"):
        pytest.fail("chromium is missing: apt-get install chromium (.ci/run does)")
    view = {"error": None, "nodes": [], "pending": [], "services": [], "networks": []}
    server = viewserver.Server(viewserver.Feed(view), lambda v: "").start()
    try:
        browser.screenshot(server.url + "?static", tmp_path / "page.png", 400, 300, tmp_path / "profile")
    finally:
        server.close()
    assert Path(tmp_path / "page.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
