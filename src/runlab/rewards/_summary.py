"""Summary of a replay: selectivity, tracking lag and steady-state noise of the LP signal.

- ``gini`` per update: Gini coefficient of the sampling distribution,
  ``G = sum_i (2 i - T - 1) p_(i) / (T sum p)`` over the ascending-sorted probabilities ``p_(1..T)``
  (0 = uniform, ``1 - 1/T`` = all mass on one task); ``entropy``: ``-sum p log p / log T`` (1 = uniform).
  The summary keeps their means over updates and their final values.
- ``tracking_lag``: for each *rising* task -- one whose mean input over ``w = 10`` consecutive
  episodes of its own stays above the mean of its first ``2 w`` episodes by more than 4 standard
  errors of that difference (``4 sigma sqrt(1/w + 1/(2w))``, ``sigma`` = std of successive
  differences / sqrt 2) for ``w`` windows in a row; the rise is the first such window's last episode -- the number of updates from the first update at or
  after the rise until the task's probability exceeds uniform ``1/T``. A task that never gets
  there counts the updates left (censored; ``tracking_lag_censored`` counts them). The summary
  is the mean over rising tasks (NaN when none rises).
- ``lp_noise`` / ``prob_noise``: over the second half of the updates, the mean over tasks of the
  standard deviation of successive differences of the LP signal (probability) divided by ``sqrt 2``
  (the noise of a series with its slow trend removed).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

RISE_WINDOW = 10


def gini(prob: np.ndarray) -> np.ndarray:
    """Row-wise Gini coefficient of non-negative weights."""
    t = prob.shape[1]
    p = np.sort(prob, axis=1)
    i = np.arange(1, t + 1)
    total = p.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return ((2 * i - t - 1) * p).sum(axis=1) / (t * total)


def entropy(prob: np.ndarray) -> np.ndarray:
    """Row-wise entropy divided by ``log T`` (1 for the uniform distribution)."""
    t = prob.shape[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        h = -np.where(prob > 0, prob * np.log(prob), 0.0).sum(axis=1)
    return h / math.log(t) if t > 1 else np.zeros(len(prob))


def rise_episode(codes: np.ndarray, x: np.ndarray, task: int, w: int = RISE_WINDOW) -> int | None:
    """Episode (global index) at which ``task``'s input starts a sustained rise; ``None`` if never."""
    pos = np.flatnonzero(codes == task)
    if len(pos) < 3 * w:
        return None
    v = x[pos]
    noise = np.std(np.diff(v), ddof=1) / math.sqrt(2)
    bar = v[: 2 * w].mean() + max(4 * noise * math.sqrt(1 / w + 1 / (2 * w)), 1e-9)
    csum = np.concatenate([[0.0], np.cumsum(v)])
    above = ((csum[w:] - csum[:-w]) / w > bar).astype(np.int64)  # window ending at sample j + w - 1
    run = np.concatenate([[0], np.cumsum(above)])
    sustained = np.flatnonzero(run[w:] - run[:-w] == w)  # w consecutive windows above the bar
    return None if len(sustained) == 0 else int(pos[sustained[0] + w - 1])


def summarize(prob: np.ndarray, lp: np.ndarray, codes: np.ndarray, x: np.ndarray, at: np.ndarray,
              names: list[str]) -> tuple[dict[str, Any], pd.DataFrame]:
    """The summary mapping and the per-update table (module docstring)."""
    k, t = prob.shape
    g, h = gini(prob), entropy(prob)
    per_update = pd.DataFrame({"update": np.arange(k), "episode": at, "gini": g, "entropy": h})
    lags, censored, rising = [], 0, {}
    for task in range(t):
        e = rise_episode(codes, x, task)
        if e is None or k == 0:
            continue
        start = int(np.searchsorted(at, e))
        if start >= k:
            continue
        rising[names[task]] = e
        above = np.flatnonzero(prob[start:, task] > (1.0 + 1e-9) / t)
        if len(above):
            lags.append(int(above[0]))
        else:
            lags.append(k - start)
            censored += 1
    half = prob[k // 2:]
    summary = {
        "updates": int(k), "tasks": int(t),
        "gini_mean": _mean(g), "gini_final": float(g[-1]) if k else math.nan,
        "entropy_mean": _mean(h), "entropy_final": float(h[-1]) if k else math.nan,
        "tracking_lag": float(np.mean(lags)) if lags else math.nan,
        "tracking_lag_censored": int(censored), "rising_tasks": rising,  # task -> rise episode
        "lp_noise": _diff_noise(lp[k // 2:]), "prob_noise": _diff_noise(half),
    }
    return summary, per_update


def _mean(v: np.ndarray) -> float:
    v = v[np.isfinite(v)]
    return float(v.mean()) if len(v) else math.nan


def _diff_noise(m: np.ndarray) -> float:
    if len(m) < 3:
        return math.nan
    return float(np.mean(np.std(np.diff(m, axis=0), axis=0, ddof=1)) / math.sqrt(2))
