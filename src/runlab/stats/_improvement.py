"""Probability of improvement between pairs of methods, with independent stratified bootstraps.

Per task, the Mann-Whitney U of a resample with run counts ``cx``, ``cy`` is ``cx @ S_t @ cy``
for the precomputed comparison matrix ``S_t`` -- no resample is ever materialised or ranked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import Any

import numpy as np

from runlab.errors import InputError
from runlab.stats._aggregates import comparison_matrices, probability_of_improvement
from runlab.stats._checks import (
    SeedLike,
    check_confidence,
    check_reps,
    check_sample_size,
    spawn_generators,
    validate_score_dict,
)
from runlab.stats._engine import chunk_sizes, draw_counts
from runlab.stats._intervals import CI_METHODS, confidence_interval


def _pi_distribution(x: np.ndarray, y: np.ndarray, reps: int, rng: np.random.Generator) -> np.ndarray:
    """``(reps, 1)`` probability of improvement of independent stratified resamples of x and y."""
    (rx, tasks), ry = x.shape, y.shape[0]
    s = comparison_matrices(x, y)  # (T, Rx, Ry)
    out = []
    for chunk in chunk_sizes(reps, tasks * (rx + ry) * 4):
        cx = draw_counts(rng, rx, tasks, chunk).reshape(tasks, rx, chunk).astype(np.float64)
        cy = draw_counts(rng, ry, tasks, chunk).reshape(tasks, ry, chunk).astype(np.float64)
        u = np.einsum("tic,tic->tc", cx, s @ cy)  # (T, chunk) Mann-Whitney U per task
        out.append(u.mean(axis=0) / (rx * ry))
    return np.concatenate(out)[:, None]


def _jackknife_pairs(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Leave-one-run-out (of x, then of y) estimates for BCa; needs equal run counts like arch."""
    if x.shape[0] != y.shape[0]:
        raise InputError(
            f"bca for probability of improvement needs equal run counts, got {x.shape[0]} and {y.shape[0]}",
            hint="use method='percentile'",
        )
    return np.array(
        [[probability_of_improvement(np.delete(x, i, 0), np.delete(y, i, 0))] for i in range(x.shape[0])]
    )


def probability_of_improvement_intervals(
    score_dict: Mapping[str, Any],
    pairs: Sequence[tuple[str, str]] | None = None,
    reps: int = 2000,
    method: str = "percentile",
    confidence: float = 0.95,
    seed: SeedLike = None,
) -> tuple[dict[tuple[str, str], float], dict[tuple[str, str], np.ndarray]]:
    """P(X > Y) with a bootstrap interval for each pair ``(X, Y)`` (default: all pairs in order).

    X and Y are resampled independently, each stratified by task (rliable's
    ``StratifiedIndependentBootstrap``); the run counts of X and Y may differ. Returns
    ``points[(x, y)]`` (float) and ``intervals[(x, y)]`` of shape ``(2,)``.
    """
    scores = validate_score_dict(score_dict, same_tasks=True, min_runs=2)
    reps = check_reps(reps)
    confidence = check_confidence(confidence)
    if method not in CI_METHODS:
        raise InputError(f"method must be one of {', '.join(CI_METHODS)}, got {method!r}")
    pair_list = list(combinations(scores, 2)) if pairs is None else [tuple(p) for p in pairs]
    for p in pair_list:
        if len(p) != 2 or p[0] not in scores or p[1] not in scores:
            raise InputError(
                f"each pair must name two methods of score_dict ({', '.join(scores)}), got {p!r}"
            )
    for name, s in scores.items():
        check_sample_size(s, f"method {name!r}", stacklevel=3)
    rngs = spawn_generators(seed, len(pair_list))
    points: dict[tuple[str, str], float] = {}
    intervals: dict[tuple[str, str], np.ndarray] = {}
    for (a, b), rng in zip(pair_list, rngs, strict=True):
        x, y = scores[a], scores[b]
        base = np.array([probability_of_improvement(x, y)])
        results = _pi_distribution(x, y, reps, rng)
        points[(a, b)] = float(base[0])
        intervals[(a, b)] = confidence_interval(
            results, base, method, confidence, lambda x=x, y=y: _jackknife_pairs(x, y), f"P({a} > {b})"
        )[:, 0]
    return points, intervals
