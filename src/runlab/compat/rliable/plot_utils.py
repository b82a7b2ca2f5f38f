"""rliable 1.2's ``rliable.plot_utils``, drawn by :mod:`runlab.plots`.

Same functions, keyword arguments and return values (an ``Axes``, or ``(fig, axes)`` for
:func:`plot_interval_estimates`). Without ``ax`` a new figure comes from :mod:`runlab.plots`
(no pyplot state: display it by returning ``ax.figure`` in a notebook or ``fig.savefig``); with
``ax`` the plot is drawn onto it. ``color_palette="colorblind"`` means runlab's Okabe-Ito palette;
any other seaborn/matplotlib palette name works as in rliable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

from runlab import plots


def _colors(keys: Sequence[str], colors: Mapping[str, Any] | None, color_palette: str) -> Mapping[str, Any]:
    return colors if colors is not None else plots.palette(list(keys), color_palette)


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    _, new = plots.new_figure(*figsize)
    return new


def _non_linear_scaling(
    performance_profiles: Mapping[str, np.ndarray],
    tau_list: Sequence[float] | np.ndarray,
    xticklabels: Sequence[float] | None = None,
    num_points: int = 5,
    log_base: float = 2,
) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    """Thresholds rescaled to ``1 - mean profile`` (x spacing proportional to the runs in a
    range), the rescaled tick positions and their labels."""
    mean_profile = np.mean([np.asarray(p, dtype=float) for p in performance_profiles.values()], axis=0)
    nonlinear_tau = 1 - mean_profile
    taus = list(tau_list)
    if xticklabels is None:
        stop = np.log(len(taus) - 1) / np.log(log_base)
        tau_indices = np.int32(np.logspace(0, stop, base=log_base, num=num_points))
        labels = [taus[i] for i in tau_indices]
    else:
        labels = list(xticklabels)
        tau_indices = np.array([taus.index(x) for x in labels])
    return nonlinear_tau, nonlinear_tau[tau_indices], labels


def _decorate_axis(ax: Axes, wrect: float = 10, hrect: float = 10, ticklabelsize: Any = "large") -> Axes:
    """rliable's axis style: no top/right spines, thick outward left/bottom spines, no ticks."""
    ax.spines["right"].set_visible(False)
    ax.spines["top"].set_visible(False)
    ax.spines["left"].set_linewidth(2)
    ax.spines["bottom"].set_linewidth(2)
    ax.tick_params(length=0.1, width=0.1, labelsize=ticklabelsize)
    ax.spines["left"].set_position(("outward", hrect))
    ax.spines["bottom"].set_position(("outward", wrect))
    return ax


def _annotate_and_decorate_axis(
    ax: Axes,
    labelsize: Any = "x-large",
    ticklabelsize: Any = "x-large",
    xticks: Sequence[float] | None = None,
    xticklabels: Sequence[Any] | None = None,
    yticks: Sequence[float] | None = None,
    legend: bool = False,
    grid_alpha: float = 0.2,
    legendsize: Any = "x-large",
    xlabel: str = "",
    ylabel: str = "",
    wrect: float = 10,
    hrect: float = 10,
) -> Axes:
    """Labels, ticks, grid and (optionally) a legend, then :func:`_decorate_axis`."""
    ax.set_xlabel(xlabel, fontsize=labelsize)
    ax.set_ylabel(ylabel, fontsize=labelsize)
    if xticks is not None:
        ax.set_xticks(ticks=list(xticks))
        ax.set_xticklabels(list(xticklabels) if xticklabels is not None else list(xticks))
    if yticks is not None:
        ax.set_yticks(list(yticks))
    ax.grid(True, alpha=grid_alpha)
    ax = _decorate_axis(ax, wrect=wrect, hrect=hrect, ticklabelsize=ticklabelsize)
    if legend:
        ax.legend(fontsize=legendsize)
    return ax


def plot_performance_profiles(
    performance_profiles: Mapping[str, np.ndarray],
    tau_list: Sequence[float] | np.ndarray,
    performance_profile_cis: Mapping[str, np.ndarray] | None = None,
    use_non_linear_scaling: bool = False,
    ax: Axes | None = None,
    colors: Mapping[str, Any] | None = None,
    color_palette: str = "colorblind",
    alpha: float = 0.15,
    figsize: tuple[float, float] = (10, 5),
    xticks: Sequence[float] | None = None,
    yticks: Sequence[float] | None = None,
    xlabel: str = r"Normalized Score ($\tau$)",
    ylabel: str = r"Fraction of runs with score $> \tau$",
    linestyles: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> Axes:
    """One line per method (its profile over ``tau_list``) with its CI band; returns the ``Axes``."""
    ax = _axes(ax, figsize)
    colors = _colors(list(performance_profiles), colors, color_palette)
    linestyles = linestyles or {}
    linewidth = kwargs.pop("linewidth", 2.0)
    x = np.asarray(tau_list, dtype=float)
    xticklabels: Any = xticks
    if use_non_linear_scaling:
        x, xticks_arr, labels = _non_linear_scaling(performance_profiles, tau_list, xticks)
        xticks = list(xticks_arr)
        xticklabels = [f"{v:g}" if isinstance(v, float | np.floating) else v for v in labels]
    for method, profile in performance_profiles.items():
        ax.plot(
            x,
            profile,
            color=colors[method],
            linestyle=linestyles.get(method, "solid"),
            linewidth=linewidth,
            label=method,
        )
        if performance_profile_cis is not None and method in performance_profile_cis:
            lower, upper = performance_profile_cis[method]
            ax.fill_between(x, lower, upper, color=colors[method], alpha=alpha, linewidth=0)
    return _annotate_and_decorate_axis(
        ax,
        xticks=xticks,
        xticklabels=xticklabels,
        yticks=[0.0, 0.25, 0.5, 0.75, 1.0] if yticks is None else yticks,
        xlabel=xlabel,
        ylabel=ylabel,
        **kwargs,
    )


def plot_interval_estimates(
    point_estimates: Mapping[str, Sequence[float]],
    interval_estimates: Mapping[str, np.ndarray],
    metric_names: Sequence[str],
    algorithms: Sequence[str] | None = None,
    colors: Mapping[str, Any] | None = None,
    color_palette: str = "colorblind",
    max_ticks: int = 4,
    subfigure_width: float = 3.4,
    row_height: float = 0.37,
    xlabel_y_coordinate: float = -0.1,
    xlabel: str = "Normalized Score",
    **kwargs: Any,
) -> tuple[Any, Any]:
    """One panel per metric: a CI bar and a point tick per algorithm (runlab's interval plot).

    Returns ``(fig, axes)``: ``axes`` is an array of ``Axes`` for several metrics, else one.
    ``xlabel_y_coordinate``, ``interval_height`` and ``wspace`` are accepted for compatibility;
    runlab's constrained layout places the label and panels itself.
    """
    algorithms = list(point_estimates) if algorithms is None else list(algorithms)
    rows = [
        {
            "method": alg,
            "aggregate": name,
            "estimate": float(np.atleast_1d(point_estimates[alg])[i]),
            "lower": float(np.asarray(interval_estimates[alg]).reshape(2, -1)[0, i]),
            "upper": float(np.asarray(interval_estimates[alg]).reshape(2, -1)[1, i]),
        }
        for i, name in enumerate(metric_names)
        for alg in algorithms
    ]
    fig = plots.plot_interval_estimates(
        pd.DataFrame(rows),
        aggregates=list(metric_names),
        colors=dict(_colors(algorithms, colors, color_palette)),
        xlabel="",
    )
    fig.set_size_inches(
        max(subfigure_width * len(metric_names), 2.0), max(row_height * len(algorithms) + 1.2, 1.5)
    )
    axes = fig.axes
    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(max_ticks))
        ax.set_xlabel("")
    fig.supxlabel(xlabel)
    return fig, (np.array(axes) if len(axes) > 1 else axes[0])


def plot_sample_efficiency_curve(
    frames: Sequence[float] | np.ndarray,
    point_estimates: Mapping[str, np.ndarray],
    interval_estimates: Mapping[str, np.ndarray],
    algorithms: Sequence[str] | None = None,
    colors: Mapping[str, Any] | None = None,
    color_palette: str = "colorblind",
    figsize: tuple[float, float] = (7, 5),
    xlabel: str = r"Number of Frames (in millions)",
    ylabel: str = "Aggregate Human Normalized Score",
    ax: Axes | None = None,
    labelsize: Any = "xx-large",
    ticklabelsize: Any = "xx-large",
    **kwargs: Any,
) -> Axes:
    """An aggregate along ``frames`` per algorithm, with its CI band; returns the ``Axes``."""
    ax = _axes(ax, figsize)
    algorithms = list(point_estimates) if algorithms is None else list(algorithms)
    colors = _colors(algorithms, colors, color_palette)
    marker = kwargs.pop("marker", "o")
    linewidth = kwargs.pop("linewidth", 2)
    for alg in algorithms:
        lower, upper = interval_estimates[alg]
        ax.plot(
            frames, point_estimates[alg], color=colors[alg], marker=marker, linewidth=linewidth, label=alg
        )
        ax.fill_between(frames, y1=lower, y2=upper, color=colors[alg], alpha=0.2, linewidth=0)
    return _annotate_and_decorate_axis(
        ax, xlabel=xlabel, ylabel=ylabel, labelsize=labelsize, ticklabelsize=ticklabelsize, **kwargs
    )


def plot_probability_of_improvement(
    probability_estimates: Mapping[str, Any],
    probability_interval_estimates: Mapping[str, np.ndarray],
    pair_separator: str = ",",
    ax: Axes | None = None,
    figsize: tuple[float, float] = (4, 3),
    colors: Sequence[Any] | None = None,
    color_palette: str = "colorblind",
    alpha: float = 0.75,
    xticks: Sequence[float] | None = None,
    xlabel: str = "P(X > Y)",
    left_ylabel: str = "Algorithm X",
    right_ylabel: str = "Algorithm Y",
    **kwargs: Any,
) -> Axes:
    """One row per pair ``"X,Y"``: the CI bar and point of P(X > Y); X named left, Y right.

    Without ``ax`` and with default styling this is runlab's probability-of-improvement plot.
    """
    pairs = list(probability_estimates)
    split = [p.split(pair_separator, 1) for p in pairs]
    points = [float(np.ravel(probability_estimates[p])[0]) for p in pairs]
    bounds = [np.ravel(probability_interval_estimates[p])[:2].astype(float) for p in pairs]
    if ax is None and colors is None and not kwargs and xticks is None:
        table = pd.DataFrame(
            {
                "method_x": [s[0] for s in split],
                "method_y": [s[-1] for s in split],
                "probability": points,
                "lower": [b[0] for b in bounds],
                "upper": [b[1] for b in bounds],
            }
        )
        fig = plots.plot_probability_of_improvement(table)
        fig.set_size_inches(*figsize)
        return fig.axes[0]
    ax = _axes(ax, figsize)
    palette = list(colors) if colors else list(plots.palette(pairs, color_palette).values())
    h = kwargs.pop("interval_height", 0.6)
    twin = ax.twinx()
    for i, (point, (lower, upper)) in enumerate(zip(points, bounds, strict=True)):
        ax.barh(y=i, width=upper - lower, height=h, left=lower, color=palette[i % len(palette)], alpha=alpha)
        twin.barh(y=i, width=upper - lower, height=h, left=lower, alpha=0.0)
        ax.vlines(x=point, ymin=i - 7.5 * h / 16, ymax=i + 6 * h / 16, color="k", alpha=min(alpha + 0.1, 1.0))
    _label_pair_axes(ax, twin, split, xticks, xlabel, left_ylabel, right_ylabel, kwargs)
    return ax


def _label_pair_axes(
    ax: Axes,
    twin: Axes,
    split: list[list[str]],
    xticks: Sequence[float] | None,
    xlabel: str,
    left_ylabel: str,
    right_ylabel: str,
    kwargs: dict[str, Any],
) -> None:
    """Algorithm X names on the left axis, Y names on the twin (right) axis, rliable's styling."""
    wrect = kwargs.pop("wrect", 5)
    ticklabelsize = kwargs.pop("ticklabelsize", "x-large")
    labelsize = kwargs.pop("labelsize", "x-large")
    ylabel_x = kwargs.pop("ylabel_x_coordinate", 0.2)
    for axis, names, label, x in (
        (ax, [s[0] for s in split], left_ylabel, -ylabel_x),
        (twin, [s[-1] for s in split], right_ylabel, 1 + 0.7 * ylabel_x),
    ):
        _annotate_and_decorate_axis(
            axis,
            xticks=xticks,
            yticks=range(len(split)),
            xlabel=xlabel,
            wrect=wrect,
            ticklabelsize=ticklabelsize,
            labelsize=labelsize,
            grid_alpha=0.2 if axis is ax else 0.0,
            **kwargs,
        )
        axis.set_yticklabels(names, fontsize=ticklabelsize)
        axis.set_ylabel(label, fontweight="bold", rotation="horizontal", va="bottom", fontsize=labelsize)
        axis.spines["left"].set_visible(False)
        axis.yaxis.set_label_coords(x, 1.0)


__all__ = [
    "plot_interval_estimates",
    "plot_performance_profiles",
    "plot_probability_of_improvement",
    "plot_sample_efficiency_curve",
]
