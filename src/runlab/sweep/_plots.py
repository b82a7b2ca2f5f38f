"""Sweep figures: objective vs trial, the cost-score Pareto front, parameter importance.

The numbers behind each figure are pure functions (:func:`best_so_far`, :func:`pareto_front`,
:func:`parameter_importance`) so they can be tested and reused without matplotlib; the drawing
functions import matplotlib (Agg) lazily so ``import runlab.sweep`` stays light.

Importance is the correlation ratio (eta squared) of the score over quantile bins of each
parameter in the normalised space: the share of score variance that the parameter's bin
explains on its own, adjusted for the number of bins (like adjusted R squared) so that a
parameter that does not matter scores near 0 rather than near ``(bins - 1) / (n - 1)``. The bin means are the partial-dependence curve drawn next to it. It is a
one-parameter-at-a-time screen, not a fANOVA; with few trials it is noisy, and says so by
needing at least ``2 * bins`` successful trials.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from runlab.errors import InputError
from runlab.sweep._store import Trial


def _successes(trials: Sequence[Trial]) -> list[Trial]:
    return [t for t in trials if t.state == "success" and t.score is not None and math.isfinite(t.score)]


def best_so_far(scores: Sequence[float], goal: str) -> np.ndarray:
    """Running best of ``scores`` (NaN entries = failures are skipped), shape ``(n,)``."""
    arr = np.asarray(scores, dtype=float)
    filled = np.where(np.isnan(arr), -np.inf if goal == "maximize" else np.inf, arr)
    out = np.maximum.accumulate(filled) if goal == "maximize" else np.minimum.accumulate(filled)
    return np.where(np.isinf(out), np.nan, out)


def pareto_front(cost: Sequence[float], score: Sequence[float], goal: str) -> np.ndarray:
    """Indices of the non-dominated points (no other point is cheaper-or-equal and better), by cost."""
    c = np.asarray(cost, dtype=float)
    s = np.asarray(score, dtype=float) * (1.0 if goal == "maximize" else -1.0)
    order = np.lexsort((-s, c))  # by cost, then best score first
    front, best = [], -np.inf
    for i in order:
        if s[i] > best:
            front.append(i)
            best = s[i]
    return np.asarray(front, dtype=int)


@dataclass(frozen=True, kw_only=True)
class Importance:
    """One parameter's screen: importance in [0, 1] and its partial dependence."""

    path: str
    importance: float
    """Share of score variance explained by the parameter's bins (bias-adjusted eta squared)."""
    bin_centres: np.ndarray
    """Mean parameter value (user units) in each occupied bin, shape ``(k,)``."""
    bin_means: np.ndarray
    """Mean score in each occupied bin, shape ``(k,)``."""


def parameter_importance(trials: Sequence[Trial], config: Any, *, bins: int = 5) -> list[Importance]:
    """Importance of each numeric parameter over the successful trials, most important first."""
    from runlab.sweep._space import NumericParam, load_sweep_config

    cfg = load_sweep_config(config)
    ok = _successes(trials)
    if len(ok) < 2 * bins:
        raise InputError(
            f"parameter importance needs at least {2 * bins} successful trials, got {len(ok)}",
            hint="run more trials, or lower bins",
        )
    score = np.array([t.score for t in ok], dtype=float)
    total = float(np.var(score))
    out = []
    for param in cfg.parameters.params:
        flat = [cfg.parameters.flatten(t.suggestion)[param.path] for t in ok]
        unit = np.asarray(param.normalize(flat), dtype=float)
        edges = np.unique(np.quantile(unit, np.linspace(0, 1, bins + 1)))
        which = np.clip(np.searchsorted(edges, unit, side="right") - 1, 0, max(len(edges) - 2, 0))
        groups = [np.flatnonzero(which == k) for k in np.unique(which)]
        means = np.array([score[g].mean() for g in groups])
        between = sum(len(g) * (m - score.mean()) ** 2 for g, m in zip(groups, means, strict=True)) / len(score)
        numeric = isinstance(param, NumericParam)
        centres = np.array([np.mean([float(flat[i]) for i in g]) if numeric else float(k)
                            for g, k in zip(groups, np.unique(which), strict=True)])
        out.append(Importance(path=param.path, importance=_adjusted(between / total if total > 0 else 0.0,
                                                                    len(score), len(groups)),
                              bin_centres=centres, bin_means=means))
    return sorted(out, key=lambda imp: -imp.importance)


def _adjusted(eta2: float, n: int, k: int) -> float:
    """Bias-corrected eta squared in [0, 1]: ``1 - (1 - eta2) (n - 1) / (n - k)``."""
    if k < 2 or n <= k:
        return float(eta2)
    return float(min(1.0, max(0.0, 1.0 - (1.0 - eta2) * (n - 1) / (n - k))))


# -- drawing ----------------------------------------------------------------------------------
def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def plot_objective(trials: Sequence[Trial], goal: str, *, title: str = "") -> Any:
    """Score of every trial in allocation order, the best so far, and failures as red marks."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    idx = np.array([t.index for t in trials])
    scores = np.array([t.score if t.state == "success" and t.score is not None else np.nan for t in trials])
    ok = ~np.isnan(scores)
    ax.scatter(idx[ok], scores[ok], s=18, label="trial")
    ax.plot(idx, best_so_far(scores, goal), color="black", drawstyle="steps-post", label="best so far")
    failed = np.array([t.state == "failure" for t in trials], dtype=bool)
    if failed.any():
        low = np.nanmin(scores) if ok.any() else 0.0
        ax.scatter(idx[failed], np.full(failed.sum(), low), marker="x", color="red", label="failure")
    ax.set(xlabel="trial", ylabel="score", title=title or f"objective ({goal})")
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    return fig


def plot_pareto(trials: Sequence[Trial], goal: str, *, title: str = "") -> Any:
    """Cost against score of successful trials with the Pareto front (cheap and good) drawn."""
    plt = _pyplot()
    ok = [t for t in _successes(trials) if t.cost is not None and t.cost > 0]
    fig, ax = plt.subplots(figsize=(6, 4))
    if ok:
        cost = np.array([t.cost for t in ok], dtype=float)
        score = np.array([t.score for t in ok], dtype=float)
        front = pareto_front(cost, score, goal)
        ax.scatter(cost, score, s=18, alpha=0.7, label="trial")
        ax.plot(cost[front], score[front], color="black", marker="o", drawstyle="steps-post", label="Pareto front")
        ax.set_xscale("log")
        ax.legend(loc="best", fontsize=8)
    ax.set(xlabel="cost", ylabel="score", title=title or "cost-score Pareto front")
    fig.tight_layout()
    return fig


def plot_importance(importances: Sequence[Importance], *, title: str = "") -> Any:
    """Bar chart of importances and one partial-dependence panel per parameter."""
    plt = _pyplot()
    n = len(importances)
    fig, axes = plt.subplots(1, n + 1, figsize=(3.2 * (n + 1), 3.4), squeeze=False)
    bar = axes[0, 0]
    bar.barh([i.path for i in importances][::-1], [i.importance for i in importances][::-1])
    bar.set(xlabel="importance (eta^2)", xlim=(0, 1), title=title or "parameter importance")
    for ax, imp in zip(axes[0, 1:], importances, strict=True):
        ax.plot(imp.bin_centres, imp.bin_means, marker="o")
        ax.set(xlabel=imp.path, ylabel="mean score")
    fig.tight_layout()
    return fig


def save_sweep_plots(trials: Sequence[Trial], config: Any, out_dir: Path, *, name: str = "sweep") -> list[Path]:
    """Write ``objective.png``, ``pareto.png`` and (with enough trials) ``importance.png``."""
    plt = _pyplot()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    goal = str(config.get("goal", "maximize")) if isinstance(config, dict) else config.goal
    figures = {"objective.png": plot_objective(trials, goal, title=f"{name}: objective ({goal})"),
               "pareto.png": plot_pareto(trials, goal, title=f"{name}: cost-score Pareto front")}
    with contextlib.suppress(InputError):  # too few successful trials: the figure would be noise
        figures["importance.png"] = plot_importance(parameter_importance(trials, config),
                                                    title=f"{name}: importance")
    paths = []
    for filename, fig in figures.items():
        fig.savefig(out / filename, dpi=110)
        plt.close(fig)
        paths.append(out / filename)
    return paths


__all__ = [
    "Importance",
    "best_so_far",
    "parameter_importance",
    "pareto_front",
    "plot_importance",
    "plot_objective",
    "plot_pareto",
    "save_sweep_plots",
]
