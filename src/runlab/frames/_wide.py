"""Wide pivots of a tidy frame: one column per run (or per run and task) for one metric."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from runlab.errors import InputError


def wide(tidy: pd.DataFrame, metric: str, *, columns: str | Sequence[str] = "run_id", index: str = "step") -> pd.DataFrame:
    """``index`` down, one column per value of ``columns`` (e.g. ``run_name``, or ``["run_id", "task"]``)."""
    cols = [columns] if isinstance(columns, str) else list(columns)
    missing = [c for c in [metric, index, *cols] if c not in tidy.columns]
    if missing:
        raise InputError(f"wide() needs columns {missing} in the frame; it has {list(tidy.columns)}")
    keyed = tidy.set_index([index, *cols])[metric]
    if keyed.index.has_duplicates:
        raise InputError(
            f"several rows share the same ({index}, {', '.join(cols)}) for {metric!r}",
            hint="add 'task' (or 'run_id' instead of 'run_name') to columns",
        )
    out = keyed.unstack(cols)
    out.columns.name = None if len(cols) == 1 else out.columns.name
    return out.sort_index()
