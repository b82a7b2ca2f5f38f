"""``analyze``: rate of change, sampling noise, seed-vs-task variance and SPS correlation of streams.

Per stream (one (group, task, seed)), with ``w_s = slope_window`` and ``w_n = noise_window``:

- ``mean_slope`` / ``slope_std``: mean and standard deviation (``ddof=1``) over every complete
  window of ``w_s`` consecutive samples of the OLS slope of reward on ``sample_index``.
- ``ema_slope``: mean per-sample change of an EMA of the reward with ``alpha = 2 / (w_s + 1)``
  (the EMA-derivative variant): ``(e_{n-1} - e_0) / (n - 1)`` with ``e_0 = y_0``.
- ``noise``: mean over every complete window of ``w_n`` samples of the rolling standard deviation
  (``ddof=1``); ``noise_trend``: OLS slope of those rolling standard deviations on the window's
  last sample index (negative: noise shrinks as the task is solved); ``noise_change``: mean rolling
  std of the last third of windows divided by that of the first third, minus 1.
- ``sps_corr``: Pearson correlation of reward and SPS; ``sps_noise_corr``: of rolling std and SPS
  at the window's last sample (where SPS is logged).

Per task: the mean, standard deviation, minimum and maximum over seeds of these. ``variance`` is
described in :mod:`runlab.rewards._variance`; a class there is a (group, task) pair.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from runlab.errors import InputError
from runlab.rewards._rolling import (
    Segments,
    centre,
    complete_windows,
    ema_end,
    grouped_corr,
    grouped_index_slope,
    grouped_mean_std,
    window_slopes,
    window_std,
)
from runlab.rewards._streams import RewardStreams, StreamProblem
from runlab.rewards._variance import variance_parts


@dataclass(frozen=True)
class StreamAnalysis:
    """What :func:`analyze` found. Tables are pandas DataFrames; ``variance`` a plain mapping."""

    per_stream: pd.DataFrame
    """One row per stream: ``group, task, seed, samples, mean_reward, mean_slope, slope_std, ema_slope,
    noise, noise_trend, noise_change, sps_corr, sps_noise_corr``."""
    per_task: pd.DataFrame
    """One row per (group, task): ``seeds, samples`` and ``<metric>_mean/_std/_min/_max`` over seeds."""
    variance: dict[str, Any]
    """``seed_var, task_var, ratio, icc, icc_low, icc_high, reason`` over all (group, task) classes."""
    variance_by_group: pd.DataFrame
    """The same numbers within each group (one row per group)."""
    recommendations: list[str]
    """Sentences computed from the numbers above."""
    problems: tuple[StreamProblem, ...]
    """Input problems (from loading) plus streams shorter than a window."""
    slope_window: int
    noise_window: int
    windows: pd.DataFrame | None = field(default=None, repr=False)
    """With ``keep_windows=True``: every complete window's ``group, task, seed, sample_index`` (last
    sample), ``slope`` (slope windows) or ``noise`` (noise windows), in long form with ``kind``."""


def analyze(streams: RewardStreams, slope_window: int = 25, noise_window: int = 10, *,
            keep_windows: bool = False) -> StreamAnalysis:
    """Measure every stream in ``streams`` (vectorised over all of them; see the module docstring)."""
    from runlab.rewards._recommend import recommend

    for name, w in (("slope_window", slope_window), ("noise_window", noise_window)):
        if not isinstance(w, int | np.integer) or w < 2:
            raise InputError(f"{name} must be an integer >= 2, got {w!r}")
    d = streams.data
    if d.empty:
        raise InputError("no reward samples to analyse", hint="check the run selection or the input file")
    code = d["stream"].to_numpy()
    starts = np.searchsorted(code, np.arange(code[-1] + 1))  # codes run 0, 1, ... in sorted data
    lengths = np.diff(np.append(starts, len(d)))
    rows = Segments.from_lengths(lengths)
    y = d["reward"].to_numpy(dtype=float)
    yc, mean_reward = centre(y, rows)
    per = pd.DataFrame({c: d[c].to_numpy()[starts] for c in ("group", "task", "seed")})
    per["samples"] = lengths
    per["mean_reward"] = mean_reward
    s_mask, s_seg = complete_windows(starts, lengths, slope_window)
    slopes = window_slopes(yc, s_mask, slope_window)
    _, per["mean_slope"], per["slope_std"] = grouped_mean_std(slopes, s_seg)
    alpha = 2.0 / (slope_window + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        per["ema_slope"] = (ema_end(y, starts, lengths, alpha) - y[starts]) / (lengths - 1)
    n_mask, n_seg = complete_windows(starts, lengths, noise_window)
    noise = window_std(yc, n_mask, noise_window)
    _, per["noise"], _ = grouped_mean_std(noise, n_seg)
    per["noise_trend"] = grouped_index_slope(noise, n_seg)  # against the window's last sample index
    per["noise_change"] = _thirds_change(noise, n_seg)
    sps = d["sps"].to_numpy(dtype=float)
    logged = bool(np.isfinite(sps).any())
    per["sps_corr"] = grouped_corr(y, sps, rows) if logged else np.nan
    per["sps_noise_corr"] = grouped_corr(noise, sps[np.flatnonzero(n_mask) + noise_window - 1], n_seg) if logged else np.nan
    problems = list(streams.problems) + _short_problems(per, slope_window, noise_window)
    per_task = _per_task(per)
    codes = per.groupby(["group", "task"], sort=False).ngroup().to_numpy()
    variance = variance_parts(codes, per["mean_reward"].to_numpy())
    by_group = _variance_by_group(per) if per["group"].nunique() > 1 else pd.DataFrame(
        [{"group": per["group"].iloc[0], "tasks": per["task"].nunique(), "streams": len(per), **variance}])
    windows = None
    if keep_windows:
        windows = _windows_frame(per, s_seg.owner, np.flatnonzero(s_mask) - starts[s_seg.owner] + slope_window - 1,
                                 slopes, n_seg.owner,
                                 np.flatnonzero(n_mask) - starts[n_seg.owner] + noise_window - 1, noise)
    result = StreamAnalysis(per_stream=per, per_task=per_task, variance=variance, variance_by_group=by_group,
                            recommendations=[], problems=tuple(problems), slope_window=slope_window,
                            noise_window=noise_window, windows=windows)
    return StreamAnalysis(**{**result.__dict__, "recommendations": recommend(result)})


def _thirds_change(noise: np.ndarray, seg: Segments) -> np.ndarray:
    """Mean of the last third of each stream's windows over the first third, minus 1."""
    count = seg.count.astype(np.int64)
    third = count // 3
    out = np.full(seg.n, np.nan)
    ok = np.flatnonzero(third >= 1)
    if len(ok) == 0:
        return out
    start = (np.cumsum(count) - count)[ok]
    t = third[ok]
    # windows of one stream are contiguous: reduceat over [start, start + t) and [end - t, end)
    padded = np.append(noise, 0.0)  # so that an end index equal to len(noise) is valid
    end = start + count[ok]
    early = np.add.reduceat(padded, np.column_stack([start, start + t]).ravel())[::2]
    late = np.add.reduceat(padded, np.column_stack([end - t, end]).ravel())[::2]
    with np.errstate(invalid="ignore", divide="ignore"):
        out[ok] = late / early - 1
    return out


_TASK_METRICS = ("mean_reward", "mean_slope", "slope_std", "ema_slope", "noise", "noise_trend",
                 "noise_change", "sps_corr")


def _per_task(per: pd.DataFrame) -> pd.DataFrame:
    g = per.groupby(["group", "task"], sort=False)
    out = g.agg(seeds=("seed", "nunique"), samples=("samples", "sum"))
    stats = g[list(_TASK_METRICS)].agg(["mean", "std", "min", "max"])
    stats.columns = [f"{m}_{s}" for m, s in stats.columns]
    return out.join(stats).reset_index()


def _variance_by_group(per: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for group, part in per.groupby("group", sort=False):
        codes = part.groupby("task", sort=False).ngroup().to_numpy()
        rows.append({"group": group, "tasks": part["task"].nunique(), "streams": len(part),
                     **variance_parts(codes, part["mean_reward"].to_numpy())})
    return pd.DataFrame(rows)


def _short_problems(per: pd.DataFrame, ws: int, wn: int) -> list[StreamProblem]:
    out = []
    for row in per.itertuples(index=False):
        if row.samples < max(ws, wn):
            what = f"{row.samples} sample(s), fewer than the slope window {ws}" if row.samples < ws else \
                f"{row.samples} sample(s), fewer than the noise window {wn}"
            where = f"task {row.task!r}, seed {row.seed}" + (f", group {row.group!r}" if row.group else "")
            out.append(StreamProblem("short", row.group, row.task, row.seed, int(row.samples),
                                     f"{where}: {what}; its windowed metrics are missing"))
    return out


def _windows_frame(per: pd.DataFrame, s_owner: np.ndarray, s_last: np.ndarray, slopes: np.ndarray,
                   n_owner: np.ndarray, n_last: np.ndarray, noise: np.ndarray) -> pd.DataFrame:
    def part(owner: np.ndarray, last: np.ndarray, values: np.ndarray, kind: str) -> pd.DataFrame:
        return pd.DataFrame({"group": per["group"].to_numpy()[owner], "task": per["task"].to_numpy()[owner],
                             "seed": per["seed"].to_numpy()[owner], "sample_index": last, "kind": kind,
                             "value": values})
    return pd.concat([part(s_owner, s_last, slopes, "slope"), part(n_owner, n_last, noise, "noise")],
                     ignore_index=True)
