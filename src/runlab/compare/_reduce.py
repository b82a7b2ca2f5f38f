"""Curves to scores: one number per (run, task), then the per-method arrays."""

from __future__ import annotations

import numpy as np
import pandas as pd


def reduce_curves(long: pd.DataFrame, reducer: str, n: int) -> pd.DataFrame:
    """One score per (run, task) from the finite values ordered by step."""
    long = long.sort_values(["run_id", "task", "step"], kind="stable")
    grouped = long.groupby(["run_id", "task"], sort=True)
    if reducer == "last":
        out = grouped["value"].last()
    elif reducer == "max":
        out = grouped["value"].max()
    elif reducer == "last_n_mean":
        out = grouped["value"].apply(lambda v: float(v.to_numpy()[-n:].mean()))
    else:
        out = grouped[["step", "value"]].apply(_auc)
    return out.rename("score").reset_index()


def _auc(g: pd.DataFrame) -> float:
    x = g["step"].to_numpy(dtype=float)
    y = g["value"].to_numpy(dtype=float)
    if len(x) == 1 or x[-1] == x[0]:
        return float(y.mean())
    return float(np.trapezoid(y, x) / (x[-1] - x[0]))


def to_arrays(
    reduced: pd.DataFrame, methods: list[str], tasks: list[str]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    task_ix = {t: j for j, t in enumerate(tasks)}
    scores: dict[str, np.ndarray] = {}
    ids: dict[str, np.ndarray] = {}
    for method in methods:
        sub = reduced[reduced["method"] == method].sort_values(["task", "run_id"])
        slot = sub.groupby("task").cumcount().to_numpy()
        rows = int(slot.max()) + 1
        s = np.full((rows, len(tasks)), np.nan)
        r = np.full((rows, len(tasks)), "", dtype=object)
        cols = sub["task"].map(task_ix).to_numpy()
        s[slot, cols] = sub["score"].to_numpy(dtype=float)
        r[slot, cols] = sub["run_id"].to_numpy()
        scores[method], ids[method] = s, r
    return scores, ids
