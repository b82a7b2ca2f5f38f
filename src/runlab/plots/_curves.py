"""Sample-efficiency curves: an aggregate along training steps with CI bands."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure

from runlab.plots._style import lines_with_bands


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
    fig, ax = lines_with_bands(steps, points, intervals, colors, what="curve", unit="step", marker="o",
                               markersize=3)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(loc="best", fontsize="small")
    ax.grid(alpha=0.3)
    return fig
