"""Probability of improvement P(X > Y) per pair of methods, with CIs."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from runlab.errors import InputError
from runlab.plots._style import new_figure, short

_NEEDED = ("method_x", "method_y", "probability", "lower", "upper")


def plot_probability_of_improvement(table: pd.DataFrame, *, color: object = "#0072B2") -> Figure:
    """One row per pair: CI bar and point; the 0.5 line marks "no difference"."""
    missing = [c for c in _NEEDED if c not in table.columns]
    if missing:
        raise InputError(f"table must have columns {list(_NEEDED)}, missing {missing}")
    if table.empty:
        raise InputError("table is empty: nothing to plot")
    fig, ax = new_figure(5.6, 0.45 * len(table) + 1.4)
    labels = []
    for y, row in enumerate(table.itertuples(index=False)):
        ax.barh(y, row.upper - row.lower, left=row.lower, height=0.6, color=color, alpha=0.7)
        ax.vlines(row.probability, y - 0.3, y + 0.3, color="black", linewidth=1.5)
        labels.append(f"P({short(row.method_x, 18)} > {short(row.method_y, 18)})")
    ax.axvline(0.5, color="grey", linestyle="--", linewidth=1)
    ax.set_yticks(range(len(table)), labels)
    ax.set_xlim(0, 1)
    ax.set_xlabel("probability of improvement")
    ax.grid(axis="x", alpha=0.3)
    return fig
