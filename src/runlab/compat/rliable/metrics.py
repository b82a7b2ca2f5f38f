"""rliable 1.2's ``rliable.metrics``: aggregate performance estimators, equal to rliable's.

On a ``(num_runs, num_tasks)`` matrix each function is the :mod:`runlab.stats` aggregate (so a
lambda built from them is recognised by the bootstrap and runs on the count engine); other
shapes (rliable also accepts ``(num_runs, num_tasks, ...)``) follow rliable's formulas over the
leading axes. Results are numpy scalars (or arrays for extra axes) as in rliable; NaN or
infinite scores raise :class:`runlab.errors.InputError` instead of propagating.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.stats

from runlab import stats
from runlab.errors import InputError


def _finite(scores: Any) -> np.ndarray:
    """Scores of any shape with at least one axis, as finite float64 (rliable's N-d inputs)."""
    arr = np.asarray(scores, dtype=np.float64)
    if arr.ndim == 0 or arr.size == 0:
        raise InputError(f"scores must be an array (num_runs, num_tasks, ...), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise InputError(
            f"scores has {int((~np.isfinite(arr)).sum())} non-finite value(s)",
            hint="drop or impute the missing runs/tasks before computing statistics",
        )
    return arr


def aggregate_mean(scores: np.ndarray) -> Any:
    """Mean over tasks of the per-task mean score (rliable ``aggregate_mean``)."""
    if np.ndim(scores) == 2:
        return np.float64(stats.mean(scores))
    return np.mean(np.mean(_finite(scores), axis=0), axis=0)


def aggregate_median(scores: np.ndarray) -> Any:
    """Median over tasks of the per-task mean score (rliable ``aggregate_median``)."""
    if np.ndim(scores) == 2:
        return np.float64(stats.median(scores))
    return np.median(np.mean(_finite(scores), axis=0), axis=0)


def aggregate_optimality_gap(scores: np.ndarray, gamma: float = 1) -> Any:
    """``gamma`` minus the mean of all scores clipped at ``gamma`` (rliable ``aggregate_optimality_gap``)."""
    if np.ndim(scores) == 2:
        return np.float64(stats.optimality_gap(scores, gamma))
    return gamma - np.mean(np.minimum(_finite(scores), gamma))


def aggregate_iqm(scores: np.ndarray) -> Any:
    """Interquartile mean (25 % trimmed mean) of all runs and tasks pooled (rliable ``aggregate_iqm``)."""
    if np.ndim(scores) == 2:
        return np.float64(stats.iqm(scores))
    return scipy.stats.trim_mean(_finite(scores), proportiontocut=0.25, axis=None)


def probability_of_improvement(scores_x: np.ndarray, scores_y: np.ndarray) -> Any:
    """P(X > Y) averaged over tasks, ties counting 1/2 (rliable ``probability_of_improvement``).

    ``scores_x (num_runs_x, num_tasks)`` and ``scores_y (num_runs_y, num_tasks)`` may have
    different run counts.
    """
    return np.float64(stats.probability_of_improvement(scores_x, scores_y))


__all__ = [
    "aggregate_iqm",
    "aggregate_mean",
    "aggregate_median",
    "aggregate_optimality_gap",
    "probability_of_improvement",
]
