"""Sweep figures: objective vs trial, the cost-score Pareto front, parameter importance.

The numbers behind each figure are pure functions (:func:`best_so_far`, :func:`pareto_front`,
:func:`parameter_importance`) so they can be tested and reused without matplotlib; the drawing
functions import matplotlib (Agg) lazily so ``import runlab.sweep`` stays light.

Importance is the first-order share of score variance of a GP fitted to all successful trials
(see :func:`parameter_importance`); the main effect it is computed from is the
partial-dependence curve drawn next to it. It needs at least ten successful trials. An earlier
form (bias-adjusted eta squared over five quantile bins per parameter) clipped to exactly 0
for every parameter of a ten-trial sweep: two trials per bin leave the adjustment five degrees
of freedom, so real effects of PPO-sized noise vanished.
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
from runlab.sweep._pareto import pareto_front
from runlab.sweep._store import Trial


def _successes(trials: Sequence[Trial]) -> list[Trial]:
    return [t for t in trials if t.state == "success" and t.score is not None and math.isfinite(t.score)]


def best_so_far(scores: Sequence[float], goal: str) -> np.ndarray:
    """Running best of ``scores`` (NaN entries = failures are skipped), shape ``(n,)``."""
    arr = np.asarray(scores, dtype=float)
    filled = np.where(np.isnan(arr), -np.inf if goal == "maximize" else np.inf, arr)
    out = np.maximum.accumulate(filled) if goal == "maximize" else np.minimum.accumulate(filled)
    return np.where(np.isinf(out), np.nan, out)


@dataclass(frozen=True, kw_only=True)
class Importance:
    """One parameter's screen: importance in [0, 1] and its partial dependence."""

    path: str
    importance: float
    """Share of score variance explained by the parameter's main effect (first-order Sobol index
    of the fitted GP), in [0, 1]."""
    bin_centres: np.ndarray
    """Parameter values (user units; choice indices for categoricals) of the partial-dependence
    curve, shape ``(g,)``."""
    bin_means: np.ndarray
    """Main effect (mean predicted score) at each of ``bin_centres``, shape ``(g,)``."""


def parameter_importance(trials: Sequence[Trial], config: Any, *, grid: int = 25) -> list[Importance]:
    """Importance of each parameter over the successful trials, most important first.

    A GP (the sweep's own model) is fit to every successful trial in the normalised box; a
    parameter's main effect is the GP mean averaged over the other parameters' observed values,
    as a function of that parameter alone (partial dependence, ``grid`` points, or one per
    choice). Its importance is the variance of that main effect over the parameter's observed
    values, as a share of the score variance: a first-order Sobol index of the fitted surface.
    Pooling every trial through one smooth model is what keeps the screen informative at the
    ten or so trials of a short sweep, where one-parameter-at-a-time bins hold two trials each.
    """
    from runlab.sweep._gp import fit_gp
    from runlab.sweep._space import NumericParam, load_sweep_config

    cfg = load_sweep_config(config)
    ok = _successes(trials)
    if len(ok) < _MIN_TRIALS:
        raise InputError(
            f"parameter importance needs at least {_MIN_TRIALS} successful trials, got {len(ok)}",
            hint="run more trials",
        )
    space = cfg.parameters
    score = np.array([t.score for t in ok], dtype=float)
    unit = np.array([[float(p.normalize(p.check_value(space.flatten(t.suggestion)[p.path])))
                      for p in space.params] for t in ok])  # (n, d) in [-1, 1]
    gp = fit_gp((unit + 1.0) / 2.0, score)
    total = float(np.var(score))
    out = []
    for j, param in enumerate(space.params):
        if isinstance(param, NumericParam):
            values = np.unique(param.unnormalize(np.linspace(-1.0, 1.0, grid)))
            points = np.asarray(param.normalize(values), dtype=float)
        else:
            values = np.arange(len(param.values), dtype=float)
            points = np.asarray(param.normalize(list(param.values)), dtype=float)
        effect = _main_effect(gp, unit, j, points)  # (g,)
        at_trials = np.interp(unit[:, j], points, effect) if len(points) > 1 else np.full(len(ok), effect[0])
        share = float(np.var(at_trials)) / total if total > 0 else 0.0
        out.append(Importance(path=param.path, importance=min(1.0, share), bin_centres=values,
                              bin_means=effect))
    return sorted(out, key=lambda imp: -imp.importance)


_MIN_TRIALS = 10


def _main_effect(gp: Any, unit: np.ndarray, j: int, points: np.ndarray) -> np.ndarray:
    """GP mean with column ``j`` set to each of ``points`` (normalised units), averaged over the
    observed rows: unit (n, d), points (g,) -> (g,)."""
    n = len(unit)
    rows = np.repeat(unit[None, :, :], len(points), axis=0)  # (g, n, d)
    rows[:, :, j] = points[:, None]
    mean = gp.predict_mean(((rows + 1.0) / 2.0).reshape(-1, unit.shape[1]))
    return np.asarray(mean, dtype=float).reshape(len(points), n).mean(axis=1)


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
    bar.set(xlabel="importance (share of score variance)", xlim=(0, 1), title=title or "parameter importance")
    for ax, imp in zip(axes[0, 1:], importances, strict=True):
        ax.plot(imp.bin_centres, imp.bin_means, marker=".")
        ax.set(xlabel=imp.path, ylabel="mean score (main effect)")
        lo, hi = float(np.min(imp.bin_centres)), float(np.max(imp.bin_centres))
        if lo > 0 and hi / lo > 20:  # log-distributed parameters read on a log axis
            ax.set_xscale("log")
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
    "plot_importance",
    "plot_objective",
    "plot_pareto",
    "save_sweep_plots",
]
