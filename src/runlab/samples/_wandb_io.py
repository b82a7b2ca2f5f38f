"""Writing real W&B offline runs, and tidying their directories for shipping.

Every sample run goes through the real ``wandb`` client in offline mode, so runlab's reader meets
exactly the files users have. Training that runs many agents in one process first collects each
run's rows (:class:`RunLog`) and writes them afterwards, possibly from several processes; the SB3
benchmark logs live from inside its callback through :func:`offline_run`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT = "runlab-samples"
ENTITY = "runlab"


@dataclass(frozen=True, kw_only=True)
class RunSpec:
    """Identity and config of one W&B run."""

    run_id: str
    """W&B run id (lowercase letters, digits, dashes); fixed so regenerations keep ids."""
    name: str
    group: str
    job_type: str
    tags: tuple[str, ...]
    config: dict[str, Any]
    """Nested config (``trainer.*``, ``env.*``, ``seed``...)."""


@dataclass(kw_only=True)
class RunLog:
    """A run's content collected in memory: history rows in order and artifacts to log."""

    spec: RunSpec
    rows: list[dict[str, float]] = field(default_factory=list)
    """Each row is one ``wandb.log`` call."""
    artifacts: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    """``(name, type, metadata, {file name: JSON content})``."""
    summary: dict[str, Any] = field(default_factory=dict)
    """Extra summary values set before finishing."""


def _settings() -> Any:
    import wandb

    # No console capture, system stats, code or git snapshot: they would add machine-specific
    # bytes to shipped runs and cost time, and runlab reads none of them.
    return wandb.Settings(
        console="off", x_disable_stats=True, save_code=False, disable_git=True, silent=True, x_disable_meta=True
    )


@contextlib.contextmanager
def offline_run(spec: RunSpec, root: Path) -> Iterator[Any]:
    """``wandb.init(mode="offline")`` under ``root``; the run is finished when the block exits."""
    import wandb

    os.environ.setdefault("WANDB_SILENT", "true")
    root.mkdir(parents=True, exist_ok=True)
    run = wandb.init(
        mode="offline",
        dir=str(root),
        project=PROJECT,
        entity=ENTITY,
        id=spec.run_id,
        name=spec.name,
        group=spec.group,
        job_type=spec.job_type,
        tags=list(spec.tags),
        config=spec.config,
        settings=_settings(),
        reinit="finish_previous",
    )
    ok = False
    try:
        yield run
        ok = True
    finally:
        run.finish(exit_code=0 if ok else 1)


def log_artifact(run: Any, name: str, type_: str, metadata: dict[str, Any], files: dict[str, Any]) -> None:
    """Log a W&B artifact made of JSON files.

    Offline, W&B stages artifact content outside the run directory (under the user's data dir),
    so a copied run would lose it; each file is therefore also written to the run's
    ``files/artifacts/<name>/`` where it travels with the run.
    """
    import wandb

    art = wandb.Artifact(name, type=type_, metadata=metadata)
    for fname, content in files.items():
        text = json.dumps(content, indent=1, sort_keys=True)
        with art.new_file(fname, mode="w", encoding="utf-8") as fh:
            fh.write(text)
        local = Path(run.dir) / "artifacts" / name / fname
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_text(text, encoding="utf-8")
    run.log_artifact(art)


def write_run_log(log: RunLog, root: Path) -> str:
    """Write a collected run through the wandb client; returns the run id."""
    with offline_run(log.spec, root) as run:
        for row in log.rows:
            run.log(row)
        for name, type_, metadata, files in log.artifacts:
            log_artifact(run, name, type_, metadata, files)
        for k, v in log.summary.items():
            run.summary[k] = v
    return log.spec.run_id


def tidy_wandb_dir(root: Path) -> list[Path]:
    """Drop the machine-local parts of ``root/wandb`` and return the run directories.

    Removed: ``latest-run`` and ``debug*.log`` links, each run's ``logs/`` (debug logs that name
    local paths and link into the user's cache) and empty ``tmp/``. Kept: ``run-<id>.wandb`` and
    ``files/``, i.e. everything W&B would sync.
    """
    wdir = root / "wandb"
    if not wdir.is_dir():
        return []
    for p in wdir.iterdir():
        if p.is_symlink() or (p.is_file() and p.name.startswith("debug")):
            p.unlink()
    runs = sorted(p for p in wdir.iterdir() if p.is_dir() and p.name.startswith(("offline-run-", "run-")))
    for run_dir in runs:
        for sub in ("logs", "tmp"):
            if (run_dir / sub).exists():
                shutil.rmtree(run_dir / sub)
    return runs
