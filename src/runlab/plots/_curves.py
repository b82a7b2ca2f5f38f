"""Sample-efficiency curves: an aggregate along training steps with CI bands."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure

from runlab.errors import InputError
from runlab.plots._style import new_figure, palette, short


def plot_sample_efficiency(
    steps: np.ndarray,
    points: Mapping[str, np.ndarray],
    intervals: Mapping[str, np.ndarray] | None = None,
    *,
    colors: dict[str, object] | None = None,
    xlabel: str = "step",
    ylabel: str = "IQM score",
) -> Figure:
    """One line per method over ``steps`` and its CI band (``intervals[m]``: ``(2, len(steps))``)."""
    steps = np.asarray(steps, dtype=float)
    if not points:
        raise InputError("points is empty: nothing to plot")
    methods = list(points)
    colors = colors or palette(methods)
    fig, ax = new_figure(5.6, 3.8)
    for m in methods:
        p = np.asarray(points[m], dtype=float)
        if p.shape != steps.shape:
            raise InputError(f"curve of {m!r} must have {steps.size} points (one per step), got {p.shape}")
        ax.plot(steps, p, color=colors[m], label=short(m), linewidth=2, marker="o", markersize=3)
        if intervals is not None and m in intervals:
            lo, hi = np.asarray(intervals[m], dtype=float).reshape(2, -1)
            ax.fill_between(steps, lo, hi, color=colors[m], alpha=0.2, linewidth=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(loc="best", fontsize="small")
    ax.grid(alpha=0.3)
    return fig
