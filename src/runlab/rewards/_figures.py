"""Matplotlib figures of stream analyses and replays (``Figure`` objects, no pyplot state).

Task names are data: they reach matplotlib only through :func:`_label`, which escapes ``$`` (so a
name never switches on mathtext) and shortens long names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from runlab.rewards._analyze import StreamAnalysis
    from runlab.rewards._replay import ReplayResult
    from runlab.rewards._streams import RewardStreams

#: Okabe-Ito, colour-blind safe.
COLORS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")


def _label(text: Any, limit: int = 40) -> str:
    s = str(text).replace("\n", " ")
    s = s if len(s) <= limit else s[: limit - 1] + "…"
    return s.replace("$", r"\$")


def _figure(width: float, height: float, nrows: int = 1, ncols: int = 1) -> tuple[Figure, np.ndarray]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    return fig, axes


def _stream_title(group: str, task: str) -> str:
    return _label(task) + (f"\n[{_label(group, 24)}]" if group else "")


def plot_reward_streams(streams: RewardStreams, window: int = 10) -> Figure:
    """Reward vs sample index, one panel per (group, task), one colour per seed (rolling mean)."""
    d = streams.data
    panels = list(d.groupby(["group", "task"], sort=False))
    ncols = min(3, len(panels))
    nrows = -(-len(panels) // ncols)
    fig, axes = _figure(4.2 * ncols, 3.0 * nrows, nrows, ncols)
    seeds = list(dict.fromkeys(d["seed"]))
    for ax, ((group, task), part) in zip(axes, panels, strict=False):
        for seed, s in part.groupby("seed", sort=False):
            color = COLORS[seeds.index(seed) % len(COLORS)]
            r = s["reward"].to_numpy()
            ax.plot(s["sample_index"], r, color=color, lw=0.4, alpha=0.3)
            if len(r) >= window:
                k = np.convolve(r, np.ones(window) / window, mode="valid")
                ax.plot(s["sample_index"].to_numpy()[window - 1:], k, color=color, lw=1.3, label=f"seed {_label(seed, 12)}")
        ax.set_title(_stream_title(group, task), fontsize=8)
        ax.set_xlabel("sample index", fontsize=8)
        ax.set_ylabel("reward", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    if panels:
        axes[0].legend(fontsize=6)
    fig.suptitle(f"Reward per sample by seed (thick: rolling mean of {window})", fontsize=10)
    return fig


def plot_slope_noise_bands(analysis: StreamAnalysis) -> Figure:
    """Mean over seeds of the rolling slope and rolling noise per task, with the min-max band."""
    fig, axes = _figure(11, 3.8, 1, 2)
    w = analysis.windows
    if w is None or w.empty:
        return fig
    keys = list(dict.fromkeys(zip(w["group"], w["task"], strict=True)))
    for ax, kind, title in ((axes[0], "slope", f"rolling OLS slope ({analysis.slope_window} samples)"),
                            (axes[1], "noise", f"rolling std ({analysis.noise_window} samples)")):
        part = w[w["kind"] == kind]
        for i, (group, task) in enumerate(keys):
            sel = part[(part["group"] == group) & (part["task"] == task)]
            if sel.empty:
                continue
            agg = sel.groupby("sample_index")["value"].agg(["mean", "min", "max"])
            color = COLORS[i % len(COLORS)]
            ax.plot(agg.index, agg["mean"], color=color, lw=1.1,
                    label=_label(task, 28) + (f" [{_label(group, 12)}]" if group else ""))
            ax.fill_between(agg.index, agg["min"], agg["max"], color=color, alpha=0.12, lw=0)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("sample index (window end)", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[1].legend(fontsize=6)
    return fig


def plot_noise_distribution(analysis: StreamAnalysis) -> Figure:
    """Violins (with box) of the rolling-noise values of every window, per task."""
    w = analysis.windows
    fig, axes = _figure(max(5.0, 1.1 * analysis.per_task.shape[0] + 2), 4)
    ax = axes[0]
    if w is None or w.empty:
        return fig
    part = w[w["kind"] == "noise"]
    groups = list(part.groupby(["group", "task"], sort=False))
    data = [g["value"].to_numpy() for _, g in groups if len(g) > 1]
    names = [_label(t, 22) + (f"\n[{_label(gr, 12)}]" if gr else "") for (gr, t), g in groups if len(g) > 1]
    if data:
        ax.violinplot(data, showextrema=False)
        ax.boxplot(data, widths=0.15, showfliers=False)
        ax.set_xticks(np.arange(1, len(data) + 1), names, rotation=30, ha="right", fontsize=7)
    ax.set_ylabel(f"rolling std ({analysis.noise_window} samples)", fontsize=8)
    ax.set_title("Sampling noise per task", fontsize=9)
    return fig


def plot_variance(analysis: StreamAnalysis) -> Figure:
    """Seed variance vs task variance per group (bars), with the ratio written above each pair."""
    v = analysis.variance_by_group
    fig, axes = _figure(max(4.5, 1.8 * len(v) + 2), 3.6)
    ax = axes[0]
    x = np.arange(len(v))
    ax.bar(x - 0.2, v["seed_var"].fillna(0), 0.4, color=COLORS[0], label="seed variance")
    ax.bar(x + 0.2, v["task_var"].fillna(0), 0.4, color=COLORS[1], label="task variance")
    for i, row in enumerate(v.itertuples(index=False)):
        top = np.nanmax([row.seed_var, row.task_var, 0])
        text = f"ratio {row.ratio:.2f}" if np.isfinite(row.ratio) else "ratio n/a"
        ax.text(i, top * 1.02, text, ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, [_label(g, 20) or "all streams" for g in v["group"]], fontsize=8)
    ax.set_ylabel("variance of mean reward", fontsize=8)
    ax.set_title("Seed vs task variance (ratio > 1: seeds differ more than tasks)", fontsize=9)
    ax.legend(fontsize=7)
    return fig


def plot_replay(results: Sequence[ReplayResult], titles: Sequence[str] | None = None) -> Figure:
    """Sampling probability over updates per task, one panel per replay (side by side)."""
    n = len(results)
    fig, axes = _figure(5.0 * n, 3.8, 1, n)
    for i, (ax, res) in enumerate(zip(axes, results, strict=True)):
        for t, task in enumerate(res.tasks):
            ax.plot(res.episode, res.prob[:, t], color=COLORS[t % len(COLORS)], lw=1.0, label=_label(task, 28))
        if res.tasks:
            ax.axhline(1 / len(res.tasks), color="grey", lw=0.6, ls="--")
        title = titles[i] if titles else repr(res.scorer)
        ax.set_title(_label(title, 60), fontsize=8)
        ax.set_xlabel("episode", fontsize=8)
        ax.set_ylabel("sampling probability", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].legend(fontsize=6)
    return fig
