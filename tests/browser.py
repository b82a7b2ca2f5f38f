"""Headless Chromium for the tests that render runlab's HTML the way a reader's browser does."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium not installed (make browser)")


def render_dom(url: str, user_dir: Path) -> str:
    """The DOM after the page's scripts ran (``--dump-dom``), with the background-networking flags
    this closed machine needs (without them Chromium's connections are refused at every start)."""
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={user_dir}",
         "--dump-dom", url],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout
