"""Stratified-bootstrap interval estimates (percentile, basic, BC, BCa) over a score dict.

Same contract as rliable's ``get_interval_estimates`` -- ``(points, intervals)`` with
``intervals[m]`` of shape ``(2, k)`` (lower row, upper row) -- with an explicit, working seed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import scipy.stats

from runlab.errors import InputError
from runlab.stats._checks import (
    SeedLike,
    check_confidence,
    check_reps,
    check_sample_size,
    spawn_generators,
    validate_score_dict,
)
from runlab.stats._engine import CountChunk, Sorted, chunk_sizes, draw_counts, values_batches
from runlab.stats._recognise import specialise, warn_slow
from runlab.stats._statistics import Statistic, as_statistic

#: Interval methods: rliable's/arch's ``percentile``, ``basic``, ``bc`` (bias-corrected) and ``bca``.
CI_METHODS = ("percentile", "basic", "bc", "bca")


def bootstrap_distribution(
    scores: np.ndarray, stat: Statistic, reps: int, rng: np.random.Generator, task_bootstrap: bool = False
) -> np.ndarray:
    """``(reps, k)`` values of ``stat`` on stratified resamples of ``scores (R, T)``."""
    parts = []
    if stat.countable and not task_bootstrap:
        prep = Sorted(scores)
        for chunk in chunk_sizes(reps, scores.size):
            counts = draw_counts(rng, prep.runs, prep.tasks, chunk)
            parts.append(stat.from_counts(CountChunk(prep, counts)))
    else:
        for values in values_batches(scores, reps, rng, task_bootstrap):
            parts.append(stat.from_values(values))
    return np.concatenate(parts, axis=0)


def _jackknife(scores: np.ndarray, point: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Leave-one-run-out estimates ``(R, k)`` (a run is left out on every task, as arch does)."""
    runs = scores.shape[0]
    return np.stack([point(np.delete(scores, i, axis=0)) for i in range(runs)])


def confidence_interval(
    results: np.ndarray,
    base: np.ndarray,
    method: str,
    confidence: float,
    jackknife: Callable[[], np.ndarray] | None = None,
    label: str = "statistic",
) -> np.ndarray:
    """``(2, k)`` interval from a bootstrap distribution ``results (reps, k)``, as arch computes it.

    ``bc`` shifts the percentiles by the bias ``z0 = Phi^-1(P(result < base))``; ``bca`` also
    needs ``jackknife()`` (leave-one-out estimates) for the acceleration; unlike arch, the
    jackknife mean is taken per metric. BC/BCa are undefined when every bootstrap value lies on
    one side of the estimate or (BCa) the jackknife has no spread: that raises rather than guessing.
    """
    alpha = (1.0 - confidence) / 2.0
    if method in ("percentile", "basic"):
        q = np.percentile(results, [100 * alpha, 100 * (1 - alpha)], axis=0)
        if method == "percentile":
            return q
        return np.vstack([2 * base - q[1], 2 * base - q[0]])
    if method not in ("bc", "bca"):
        raise InputError(f"method must be one of {', '.join(CI_METHODS)}, got {method!r}")
    p = (results < base).mean(axis=0)
    if p.min() <= 0.0 or p.max() >= 1.0:
        raise InputError(
            f"{method} interval of {label} is undefined: all bootstrap values fall on one side of the estimate "
            "(degenerate or extreme statistic, e.g. all-equal scores)",
            hint="use method='percentile'",
        )
    b = scipy.stats.norm.ppf(p)
    z = scipy.stats.norm.ppf([alpha, 1 - alpha])[:, None]  # (2, 1)
    if method == "bc":
        return _shifted_percentiles(results, 100 * scipy.stats.norm.cdf(2 * b + z))
    assert jackknife is not None
    jk = jackknife()
    u = jk.mean(axis=0) - jk
    numer = np.sum(u**3, axis=0)
    denom = 6.0 * np.sum(u**2, axis=0) ** 1.5
    if np.any(denom <= np.abs(numer) * np.finfo(np.float64).eps) or np.any(denom == 0):
        raise InputError(
            f"bca interval of {label} is undefined: the leave-one-run-out estimates do not vary",
            hint="use method='percentile'",
        )
    a = numer / denom
    pct = 100 * scipy.stats.norm.cdf(b + (b + z) / (1 - a * (b + z)))  # (2, k)
    return _shifted_percentiles(results, pct)


def _shifted_percentiles(results: np.ndarray, pct: np.ndarray) -> np.ndarray:
    """``(2, k)``: column ``i`` of ``results`` at its own percentiles ``pct[:, i]``."""
    return np.array(
        [[np.percentile(results[:, i], pct[j, i]) for i in range(results.shape[1])] for j in (0, 1)]
    )


def interval_estimates(
    score_dict: Mapping[str, Any],
    func: Any = "iqm",
    reps: int = 50_000,
    method: str = "percentile",
    confidence: float = 0.95,
    task_bootstrap: bool = False,
    seed: SeedLike = None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Point estimates and stratified-bootstrap confidence intervals for each method.

    ``score_dict`` maps method -> ``ndarray(num_runs, num_tasks)``. ``func`` is a metric name
    (``"iqm"``), a list of names, an :class:`AggregateFunc` (several metrics on shared resamples,
    fast path), a ``runlab.stats`` aggregate, or any callable ``scores -> scalar | 1-d array``.
    A callable whose output is the values of runlab aggregates it calls on its input (e.g.
    ``lambda x: np.array([iqm(x), mean(x)])``) is recognised and takes the fast path too, as do
    rliable's ``metrics.aggregate_*`` passed directly; any other callable is called once per
    resample (slow path, with a :class:`SlowPathWarning` naming it). Runs are resampled with replacement within each task,
    independently per task; with ``task_bootstrap`` tasks are resampled too.

    Returns ``points[m]`` of shape ``(k,)`` and ``intervals[m]`` of shape ``(2, k)`` (row 0 lower,
    row 1 upper). Each method draws from its own generator spawned from ``seed``.
    """
    scores = validate_score_dict(score_dict, same_tasks=True, min_runs=2)
    reps = check_reps(reps)
    confidence = check_confidence(confidence)
    if method not in CI_METHODS:
        raise InputError(f"method must be one of {', '.join(CI_METHODS)}, got {method!r}")
    stat = as_statistic(func)
    rngs = spawn_generators(seed, len(scores))
    points: dict[str, np.ndarray] = {}
    intervals: dict[str, np.ndarray] = {}
    warned = False
    for (name, s), rng in zip(scores.items(), rngs, strict=True):
        check_sample_size(s, f"method {name!r}", stacklevel=3)
        rec = specialise(stat, s)
        if rec.slow_reason is not None and not warned:
            warn_slow(func, rec.slow_reason, reps, stacklevel=2)
            warned = True
        results = bootstrap_distribution(s, rec.stat, reps, rng, task_bootstrap)
        points[name] = rec.point
        intervals[name] = confidence_interval(
            results, rec.point, method, confidence, lambda s=s, st=rec.stat: _jackknife(s, st.point),
            f"method {name!r}",
        )
    return points, intervals
