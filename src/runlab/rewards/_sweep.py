"""``sweep_scorer``: tune LP scorer settings with runlab's Protein against a replay objective.

Each trial is one :func:`replay` on the same recorded stream (milliseconds), so a sweep of a few
dozen trials runs in seconds. Objectives (all maximised; the trial table keeps the raw numbers):

- ``lag_at_noise``: ``-tracking_lag - penalty * max(0, prob_noise / noise_budget - 1)``: react fast to
  rising tasks while keeping the probability noise under the budget (``penalty`` = number of updates);
- ``lag``: ``-tracking_lag``; ``selectivity``: ``gini_mean``; ``stability``: ``-prob_noise``.

A replay with no rising task has no tracking lag: the trial is recorded as a failure (never as a
success), as Protein expects.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from runlab.errors import InputError
from runlab.rewards._replay import replay
from runlab.rewards._scorer import LPScorer

OBJECTIVES = ("lag_at_noise", "lag", "selectivity", "stability")

DEFAULT_SPACES: dict[str, dict[str, Any]] = {
    "syllabus": {
        "ema_alpha": {"distribution": "log_normal", "min": 0.01, "max": 0.8, "mean": 0.1, "scale": "auto"},
        "p_theta": {"distribution": "log_normal", "min": 0.01, "max": 0.5, "mean": 0.1, "scale": "auto"},
    },
    "metta": {
        "ema_timescale": {"distribution": "log_normal", "min": 0.001, "max": 0.5, "mean": 0.05, "scale": "auto"},
        "slow_timescale_factor": {"distribution": "logit_normal", "min": 0.02, "max": 0.9, "mean": 0.2,
                                  "scale": "auto"},
        "z_score_amplification": {"distribution": "log_normal", "min": 0.5, "max": 50.0, "mean": 5.0,
                                  "scale": "auto"},
    },
}


@dataclass(frozen=True)
class ScorerSweep:
    """Trials (one row each: settings, objective, summary numbers) and the best scorer found."""

    trials: pd.DataFrame
    best: LPScorer | None
    best_score: float


def objective_value(summary: Mapping[str, Any], objective: str, noise_budget: float, penalty: float) -> float:
    """The number Protein maximises (NaN when the replay cannot score it)."""
    lag, noise = summary["tracking_lag"], summary["prob_noise"]
    if objective == "lag":
        return -lag
    if objective == "selectivity":
        return summary["gini_mean"]
    if objective == "stability":
        return -noise
    return -lag - penalty * max(0.0, noise / noise_budget - 1.0)


def sweep_scorer(episodes: pd.DataFrame, preset: str = "metta", *, parameters: Mapping[str, Any] | None = None,
                 fixed: Mapping[str, Any] | None = None, objective: str = "lag_at_noise",
                 noise_budget: float = 0.01, penalty: float = 100.0, trials: int = 20, seed: int = 0,
                 on_progress: Callable[[int, int], None] | None = None) -> ScorerSweep:
    """Run ``trials`` Protein suggestions of ``parameters`` (a sweep parameter tree over scorer
    settings; default :data:`DEFAULT_SPACES`) with ``fixed`` settings, scoring each replay."""
    from runlab.sweep import Protein

    if objective not in OBJECTIVES:
        raise InputError(f"unknown objective {objective!r}", hint=f"choose one of {OBJECTIVES}")
    if not (noise_budget > 0 and trials >= 1):
        raise InputError(f"noise_budget must be > 0 and trials >= 1, got {noise_budget} and {trials}")
    space = dict(parameters or DEFAULT_SPACES[preset])
    LPScorer(preset, **dict(fixed or {}), **{k: _centre(v) for k, v in space.items()})  # names and ranges
    opt = Protein({"metric": "objective", "goal": "maximize", "method": "bayes", "parameters": space,
                   "protein": {"num_random_samples": min(5, trials), "random_suggestions": 128,
                               "suggestions_per_pareto": 32}}, seed=seed)
    rows, best, best_score = [], None, -math.inf
    for i in range(trials):
        suggestion, _ = opt.suggest()
        scorer = LPScorer(preset, **dict(fixed or {}), **opt.flat_params(suggestion))
        summary = replay(episodes, scorer).summary
        value = objective_value(summary, objective, noise_budget, penalty)
        ok = math.isfinite(value)
        # every replay of one stream costs about the same; a wall-clock cost would make the
        # suggestions (and so the sweep) depend on machine load instead of the seed
        opt.observe(suggestion, score=value if ok else None, cost=1.0, is_failure=not ok)
        rows.append({"trial": i, **opt.flat_params(suggestion), "objective": value, "failed": not ok,
                     **{k: v for k, v in summary.items() if not isinstance(v, dict | list)}})
        if ok and value > best_score:
            best, best_score = scorer, value
        if on_progress is not None:
            on_progress(i + 1, trials)
    return ScorerSweep(trials=pd.DataFrame(rows), best=best, best_score=best_score)


def _centre(leaf: Any) -> Any:
    if isinstance(leaf, Mapping) and "min" in leaf:
        return leaf.get("mean", leaf["min"])
    raise InputError(f"sweep parameter {leaf!r} must be a numeric leaf with min/max",
                     hint="e.g. {distribution: log_normal, min: 0.01, max: 0.5}")
