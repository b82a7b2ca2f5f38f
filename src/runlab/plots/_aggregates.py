"""Aggregate estimates with confidence intervals: interval plot and bars with error bars.

Both read the long estimates table of :class:`runlab.compare.CompareResult`
(``method, aggregate, estimate, lower, upper``) so that every output shows the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from runlab.errors import InputError
from runlab.plots._style import new_figure, palette, short

_NEEDED = ("method", "aggregate", "estimate", "lower", "upper")


def _check(estimates: pd.DataFrame) -> None:
    missing = [c for c in _NEEDED if c not in estimates.columns]
    if missing:
        raise InputError(f"estimates must have columns {list(_NEEDED)}, missing {missing}")
    if estimates.empty:
        raise InputError("estimates is empty: nothing to plot")


def plot_interval_estimates(
    estimates: pd.DataFrame,
    *,
    aggregates: Sequence[str] | None = None,
    colors: dict[str, object] | None = None,
    xlabel: str = "score",
) -> Figure:
    """One panel per aggregate: a horizontal CI bar and a point estimate tick per method."""
    _check(estimates)
    aggs = list(aggregates) if aggregates is not None else list(dict.fromkeys(estimates["aggregate"]))
    methods = list(dict.fromkeys(estimates["method"]))
    colors = colors or palette(methods)
    fig, axes = new_figure(3.2 * len(aggs), 0.5 * len(methods) + 1.4, ncols=len(aggs))
    for ax, agg in zip(np.atleast_1d(axes), aggs, strict=True):
        sub = estimates[estimates["aggregate"] == agg].set_index("method")
        for y, method in enumerate(methods):
            if method not in sub.index:
                continue
            row = sub.loc[method]
            c = colors[method]
            ax.barh(y, row["upper"] - row["lower"], left=row["lower"], height=0.6, color=c, alpha=0.75)
            ax.vlines(row["estimate"], y - 0.3, y + 0.3, color="black", linewidth=1.5)
        ax.set_yticks(range(len(methods)), [short(m) for m in methods])
        ax.set_title(short(agg))
        ax.set_xlabel(xlabel)
        ax.grid(axis="x", alpha=0.3)
    return fig


def plot_bars(
    estimates: pd.DataFrame,
    aggregate: str = "IQM",
    *,
    colors: dict[str, object] | None = None,
    ylabel: str | None = None,
) -> Figure:
    """Bars of one aggregate per method with asymmetric CI error bars."""
    _check(estimates)
    sub = estimates[estimates["aggregate"] == aggregate]
    if sub.empty:
        raise InputError(
            f"aggregate must be one of {sorted(estimates['aggregate'].unique())}, got {aggregate!r}"
        )
    methods = list(sub["method"])
    colors = colors or palette(methods)
    est = sub["estimate"].to_numpy(float)
    lower, upper = sub["lower"].to_numpy(float), sub["upper"].to_numpy(float)
    fig, ax = new_figure(max(3.0, 0.9 * len(methods) + 1.5), 3.6)
    ax.bar(range(len(methods)), est, color=[colors[m] for m in methods])
    # The bar is drawn from the interval itself, not as +-errors around the estimate: a percentile
    # interval need not contain the point estimate (skewed or capped scores), and matplotlib
    # rejects the negative error that would follow.
    ax.errorbar(range(len(methods)), (lower + upper) / 2, yerr=(upper - lower) / 2, fmt="none",
                ecolor="black", capsize=4)
    ax.set_xticks(range(len(methods)), [short(m, 20) for m in methods], rotation=30, ha="right")
    ax.set_ylabel(ylabel or short(aggregate))
    ax.grid(axis="y", alpha=0.3)
    return fig
