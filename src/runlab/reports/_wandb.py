"""Results back to W&B: wandb Tables and Images per comparison, the processed data as an Artifact.

Uses the real ``wandb`` client; ``wandb.mode: offline`` in the configuration (or
``WANDB_MODE=offline``) writes a local run directory that ``wandb sync`` uploads later.
"""

from __future__ import annotations

import re
from pathlib import Path

from runlab.errors import RunlabError
from runlab.reports._analysis import Analysis
from runlab.reports._data import frames
from runlab.reports._figures import NamedFigure


def _key(text: str) -> str:
    """A W&B-friendly key part: letters, digits, ``_ - .`` only."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "comparison"


def export_to_wandb(analysis: Analysis, figs: list[NamedFigure], out_dir: Path) -> Path:
    """Log one analysis run; return its local run directory (``.../wandb/<offline->run-...``)."""
    import wandb

    cfg = analysis.config
    try:
        run = wandb.init(
            project=cfg.wandb.project or "runlab-analysis",
            entity=cfg.wandb.entity,
            mode=cfg.wandb.mode,
            dir=str(out_dir),
            job_type="analysis",
            name=_key(cfg.title),
            config={"runlab": cfg.model_dump(mode="json")},
            reinit="create_new",
        )
    except Exception as exc:  # wandb raises many unrelated types for auth/network problems
        raise RunlabError(
            f"cannot start a W&B run for the export: {exc}",
            hint="run `wandb login`, or set wandb.mode=offline to write a local run to sync later",
        ) from None
    with run:
        tables = frames(analysis)
        payload: dict[str, object] = {}
        for i, name in enumerate(analysis.results):
            prefix = f"{i}_{_key(name)}"
            for table in ("estimates", "tests", "improvement", "efficiency"):
                frame = tables[table]
                sub = frame[frame["comparison"] == name] if len(frame) else frame
                if table == "efficiency" and sub.empty:
                    continue
                payload[f"{prefix}/{table}"] = wandb.Table(dataframe=sub.reset_index(drop=True))
        payload["runs"] = wandb.Table(dataframe=analysis.runs.astype({"created_at": str}))
        for f in figs:
            payload[f"figures/{f.key}"] = wandb.Image(str(out_dir / "figures" / f"{f.key}.png"), caption=f.title)
        run.log(payload)
        artifact = wandb.Artifact(f"{_key(cfg.title)}-dataset", type="dataset", metadata={"title": cfg.title})
        artifact.add_dir(str(out_dir / "data"))
        run.log_artifact(artifact)
        run_dir = Path(run.dir).parent
    return run_dir
