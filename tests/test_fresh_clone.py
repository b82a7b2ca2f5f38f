"""What a new user does first: clone the repository and run ``make demo``, on a fresh venv.

The clone is of the committed HEAD (not the working tree), so this checks exactly what lands:
the lock installs, the project installs with ``--no-deps`` on top, and all demo steps finish.
The slowest test of the suite by design (a whole install from the lock plus the demo).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs a git checkout")
def test_make_demo_on_a_fresh_clone(tmp_path: Path) -> None:
    clone = tmp_path / "runlab"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHONPATH", "RUNLAB_"))}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    t0 = time.perf_counter()
    proc = subprocess.run(["make", "demo"], cwd=clone, env=env, capture_output=True, text=True, timeout=1500)
    wall = time.perf_counter() - t0
    assert proc.returncode == 0, (proc.stdout[-4000:], proc.stderr[-4000:])
    summary = json.loads((clone / "demo-output" / "summary.json").read_text())
    assert summary["runs_ingested"] > 0 and summary["estimates"], summary
    assert (clone / "demo-output" / "report" / "report.html").is_file()
    # The venv is exactly the lock plus the project: pip finds nothing broken or missing.
    check = subprocess.run([str(clone / ".venv" / "bin" / "python"), "-m", "pip", "check"], capture_output=True,
                           text=True)
    assert check.returncode == 0, check.stdout
    print(f"fresh clone: make demo took {wall:.0f} s")
