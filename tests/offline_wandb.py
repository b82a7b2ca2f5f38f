"""Runs written by the real wandb client, in offline mode, in a child process (so its background
service and global state stay out of the test process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def write_offline(args: list[str], out: Path, *, timeout: int = 300) -> Any:
    """Run ``python ARGS`` with ``WANDB_MODE=offline`` in ``out``; return the JSON its last line prints
    (``None`` when it prints none)."""
    env = {**os.environ, "WANDB_SILENT": "true", "WANDB_MODE": "offline"}
    env.pop("WANDB_API_KEY", None)
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, cwd=out,
                          timeout=timeout, check=True)
    lines = proc.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else None
