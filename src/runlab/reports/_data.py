"""The processed dataset as files: Parquet for the notebook, CSV for everyone, JSON for settings.

Run names and labels travel only inside these files; the generated notebook reads them, so no
name is ever pasted into code.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from runlab.csvsafe import write_csv
from runlab.reports._analysis import Analysis

#: Table name -> file stem; the notebook and the W&B export use the same names.
TABLES: tuple[str, ...] = (
    "scores", "estimates", "tests", "improvement", "profile", "counts", "runs", "secondary",
    "efficiency", "efficiency_scores",
)


def frames(analysis: Analysis) -> dict[str, pd.DataFrame]:
    """Every table of the report, each with a ``comparison`` column where it has several."""
    parts: dict[str, list[pd.DataFrame]] = {k: [] for k in TABLES}
    for name, res in analysis.results.items():
        parts["scores"].append(res.matrix.to_frame().assign(comparison=name))
        parts["estimates"].append(res.estimates.assign(comparison=name))
        parts["tests"].append(res.tests.assign(comparison=name))
        parts["improvement"].append(res.improvement.assign(comparison=name))
        counts = res.matrix.missing.counts.rename_axis(index="method", columns="task")
        parts["counts"].append(counts.stack().rename("n_runs").reset_index().assign(comparison=name))
        if res.profile is not None:
            for m, p in res.profile.points.items():
                lo, hi = res.profile.intervals[m]
                parts["profile"].append(
                    pd.DataFrame(
                        {"method": m, "tau": res.profile.taus, "point": p, "lower": lo, "upper": hi, "comparison": name}
                    )
                )
    for name, curve in analysis.efficiency.items():
        parts["efficiency"].append(curve.curves().assign(comparison=name))
        parts["efficiency_scores"].append(curve.scores.assign(comparison=name))
    out = {k: (pd.concat(v, ignore_index=True) if v else pd.DataFrame()) for k, v in parts.items()}
    out["runs"] = analysis.runs
    out["secondary"] = analysis.secondary
    return out


def settings(analysis: Analysis) -> dict[str, Any]:
    """JSON-ready description: configuration, per-comparison settings, notes and missing data."""
    return {
        "title": analysis.config.title,
        "config": analysis.config.model_dump(mode="json"),
        "comparisons": {
            name: {
                "settings": res.settings,
                "tasks": res.tasks,
                "methods": res.matrix.methods,
                "notes": res.notes,
                "missing": res.matrix.missing.lines(),
                "higher_is_better": res.matrix.higher_is_better,
                "efficiency": analysis.efficiency[name].summary() if name in analysis.efficiency else None,
            }
            for name, res in analysis.results.items()
        },
        "notes": analysis.notes,
    }


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    return obj


def write_data(analysis: Analysis, out_dir: Path) -> dict[str, Path]:
    """Write ``data/<table>.parquet``, ``csv/<table>.csv`` and ``data/report.json``; return the paths."""
    data_dir, csv_dir = out_dir / "data", out_dir / "csv"
    data_dir.mkdir(parents=True, exist_ok=True)
    csv_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name, frame in frames(analysis).items():
        frame = frame.reset_index(drop=True)
        frame.columns = [str(c) for c in frame.columns]
        frame.to_parquet(data_dir / f"{name}.parquet", index=False)
        write_csv(frame, csv_dir / f"{name}.csv")
        paths[name] = data_dir / f"{name}.parquet"
        paths[f"{name}.csv"] = csv_dir / f"{name}.csv"
    meta = data_dir / "report.json"
    meta.write_text(json.dumps(_jsonable(settings(analysis)), indent=2, default=str), encoding="utf-8")
    paths["report.json"] = meta
    return paths
