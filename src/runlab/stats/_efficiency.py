"""Sample-efficiency curves: an aggregate at every training step, with bootstrap bands.

A run's curve is one unit: a bootstrap rep draws runs (per task) once and uses those same
runs at every step, as rliable does, so bands reflect run-to-run variation of whole curves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

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
from runlab.stats._intervals import CI_METHODS, confidence_interval
from runlab.stats._statistics import AggregateStat, Statistic, as_statistic


def _curve_distribution(
    scores: np.ndarray, stat: Statistic, reps: int, rng: np.random.Generator, task_bootstrap: bool
) -> np.ndarray:
    """``(reps, steps)`` statistic of each resample at each step; ``scores`` is ``(R, T, S)``."""
    runs, tasks, steps = scores.shape
    parts = []
    if stat.countable and not task_bootstrap:
        preps = [Sorted(np.ascontiguousarray(scores[:, :, k])) for k in range(steps)]
        for chunk in chunk_sizes(reps, runs * tasks * 4):
            counts = draw_counts(rng, runs, tasks, chunk)
            parts.append(np.stack([stat.from_counts(CountChunk(p, counts))[:, 0] for p in preps], axis=1))
    else:
        for values in values_batches(scores, reps, rng, task_bootstrap):
            parts.append(np.stack([stat.from_values(values[..., k])[:, 0] for k in range(steps)], axis=1))
    return np.concatenate(parts, axis=0)


def sample_efficiency(
    score_dict: Mapping[str, Any],
    metric: Any = "iqm",
    reps: int = 2000,
    method: str = "percentile",
    confidence: float = 0.95,
    task_bootstrap: bool = False,
    seed: SeedLike = None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """One aggregate (``metric``: a name, a ``runlab.stats`` aggregate or a callable returning a
    scalar) along training steps, with stratified-bootstrap bands.

    ``score_dict`` maps method -> ``ndarray(num_runs, num_tasks, num_steps)`` on a shared step
    grid (align/resample curves first, e.g. with ``runlab.frames``). Returns ``points[m]``
    ``(num_steps,)`` and ``intervals[m]`` ``(2, num_steps)``.
    """
    scores = validate_score_dict(score_dict, ndim=3, same_tasks=True, min_runs=2)
    reps = check_reps(reps)
    confidence = check_confidence(confidence)
    if method not in CI_METHODS:
        raise InputError(f"method must be one of {', '.join(CI_METHODS)}, got {method!r}")
    stat = as_statistic(metric)
    if isinstance(stat, AggregateStat) and len(stat.func.parts) != 1:
        raise InputError(
            f"metric must be a single aggregate for a curve, got {len(stat.func.parts)}: {stat.func.names}",
            hint="call sample_efficiency once per metric",
        )
    rngs = spawn_generators(seed, len(scores))
    points: dict[str, np.ndarray] = {}
    intervals: dict[str, np.ndarray] = {}
    for (name, s), rng in zip(scores.items(), rngs, strict=True):
        check_sample_size(s[:, :, -1], f"method {name!r}", stacklevel=3)
        base = np.array([_scalar(stat.point(s[:, :, k])) for k in range(s.shape[2])])
        results = _curve_distribution(s, stat, reps, rng, task_bootstrap)

        def jackknife(s: np.ndarray = s) -> np.ndarray:
            return np.array(
                [
                    [_scalar(stat.point(np.delete(s[:, :, k], i, 0))) for k in range(s.shape[2])]
                    for i in range(s.shape[0])
                ]
            )

        points[name] = base
        intervals[name] = confidence_interval(
            results, base, method, confidence, jackknife, f"curve of {name!r}"
        )
    return points, intervals


def _scalar(values: np.ndarray) -> float:
    if values.size != 1:
        raise InputError(f"metric must return a single value per step, got {values.size}")
    return float(values[0])
