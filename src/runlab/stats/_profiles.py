"""Performance profiles (score distributions) with stratified-bootstrap bands."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from runlab.errors import InputError
from runlab.stats._checks import SeedLike, check_confidence, check_reps, spawn_generators, validate_score_dict
from runlab.stats._intervals import CI_METHODS, _jackknife, bootstrap_distribution, confidence_interval
from runlab.stats._statistics import ProfileStat

PROFILE_KINDS = ("run", "average")


def validate_taus(taus: Any) -> np.ndarray:
    """Thresholds: a non-empty, finite 1-d array (any sign; tau = 0 is an ordinary threshold)."""
    t = np.asarray(taus, dtype=np.float64)
    if t.ndim == 0:
        t = t[None]
    if t.ndim != 1 or t.size == 0:
        raise InputError(f"taus must be a non-empty 1-d array of thresholds, got shape {t.shape}")
    if not np.isfinite(t).all():
        raise InputError("taus must be finite", hint="use np.linspace(lo, hi, 200) over the score range")
    return t


def performance_profile(
    score_dict: Mapping[str, Any],
    taus: Any,
    reps: int = 2000,
    kind: str = "run",
    method: str = "percentile",
    confidence: float = 0.95,
    task_bootstrap: bool = False,
    seed: SeedLike = None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Fraction of scores strictly above each threshold, with bootstrap bands.

    ``kind="run"``: over all run x task scores (rliable's score distribution, lower variance);
    ``kind="average"``: over per-task mean scores. Scores and thresholds may be negative; the
    profile at ``tau`` is ``P(score > tau)`` (strict, as rliable), so ``tau = 0`` counts only
    positive scores. Returns ``profiles[m]`` ``(n_tau,)`` and ``intervals[m]`` ``(2, n_tau)``.
    """
    if kind not in PROFILE_KINDS:
        raise InputError(f"kind must be one of {', '.join(PROFILE_KINDS)}, got {kind!r}")
    if method not in CI_METHODS:
        raise InputError(f"method must be one of {', '.join(CI_METHODS)}, got {method!r}")
    scores = validate_score_dict(score_dict, same_tasks=True, min_runs=2)
    reps = check_reps(reps)
    confidence = check_confidence(confidence)
    stat = ProfileStat(validate_taus(taus), kind)
    rngs = spawn_generators(seed, len(scores))
    profiles: dict[str, np.ndarray] = {}
    intervals: dict[str, np.ndarray] = {}
    for (name, s), rng in zip(scores.items(), rngs, strict=True):
        base = stat.point(s)
        results = bootstrap_distribution(s, stat, reps, rng, task_bootstrap)
        profiles[name] = base
        intervals[name] = confidence_interval(
            results, base, method, confidence, lambda s=s: _jackknife(s, stat.point), f"profile of {name!r}"
        )
    return profiles, intervals
