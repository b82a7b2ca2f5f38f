"""Distributions of scores: performance profiles with CI bands, ECDFs, violins."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from runlab.errors import InputError
from runlab.plots._style import lines_with_bands, new_figure, palette, short


def plot_performance_profile(
    taus: np.ndarray,
    points: Mapping[str, np.ndarray],
    intervals: Mapping[str, np.ndarray] | None = None,
    *,
    colors: dict[str, object] | None = None,
    xlabel: str = r"score threshold $\tau$",
    ylabel: str = r"fraction of runs with score $> \tau$",
) -> Figure:
    """One line per method (fraction of runs above each threshold) and its CI band.

    ``points[m]``: shape ``(len(taus),)``; ``intervals[m]``: ``(2, len(taus))`` lower/upper.
    """
    fig, ax = lines_with_bands(taus, points, intervals, colors, what="profile", unit="tau")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_ylim(-0.02, 1.02)
    ax.legend(loc="best", fontsize="small")
    ax.grid(alpha=0.3)
    return fig


def plot_ecdf(
    score_dict: Mapping[str, np.ndarray], *, colors: dict[str, object] | None = None, xlabel: str = "score"
) -> Figure:
    """Empirical CDF of all (run, task) scores of each method, as steps."""
    if not score_dict:
        raise InputError("score_dict is empty: nothing to plot")
    methods = list(score_dict)
    colors = colors or palette(methods)
    fig, ax = new_figure(5.6, 3.8)
    for m in methods:
        x = np.sort(np.asarray(score_dict[m], dtype=float).ravel())
        x = x[np.isfinite(x)]
        if x.size == 0:
            continue
        ax.step(x, np.arange(1, x.size + 1) / x.size, where="post", color=colors[m], label=short(m))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("fraction of scores ≤ x")
    ax.legend(loc="best", fontsize="small")
    ax.grid(alpha=0.3)
    return fig


def plot_violins(
    frame: pd.DataFrame,
    *,
    by: str = "method",
    value: str = "score",
    colors: dict[str, object] | None = None,
) -> Figure:
    """A violin per ``by`` value (method or task) of the long score frame, with the points on top."""
    for col in (by, value):
        if col not in frame.columns:
            raise InputError(f"frame must have a {col!r} column, got {list(frame.columns)}")
    data = frame[np.isfinite(frame[value].to_numpy(float))]
    keys = list(dict.fromkeys(data[by]))
    if not keys:
        raise InputError("no finite scores to plot")
    colors = colors or palette(keys)
    fig, ax = new_figure(max(3.5, 0.8 * len(keys) + 1.5), 3.8)
    groups = [data.loc[data[by] == k, value].to_numpy(float) for k in keys]
    wide = [i for i, g in enumerate(groups) if g.size > 1 and np.ptp(g) > 0]
    if wide:
        parts = ax.violinplot([groups[i] for i in wide], positions=wide, showmedians=True)
        for i, body in zip(wide, parts["bodies"], strict=True):
            body.set_facecolor(colors[keys[i]])
            body.set_alpha(0.5)
    rng = np.random.default_rng(0)  # jitter only: fixed so that the figure is reproducible
    for i, g in enumerate(groups):
        ax.scatter(i + rng.uniform(-0.08, 0.08, g.size), g, s=8, color=colors[keys[i]], zorder=3)
    ax.set_xticks(range(len(keys)), [short(k, 20) for k in keys], rotation=30, ha="right")
    ax.set_xlabel(by)
    ax.set_ylabel(value)
    ax.grid(axis="y", alpha=0.3)
    return fig
