"""Input validation, sample-size warnings and random-number plumbing for ``runlab.stats``.

Every public statistic validates through here so that bad input fails the same way
everywhere: an :class:`InputError` that names the method, the position and the fix.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from runlab.errors import InputError

#: Fewer runs per task than this and bootstrap intervals under-cover noticeably.
MIN_RUNS = 5
#: Fewer distinct values than this and the bootstrap distribution is too coarse to trust.
MIN_DISTINCT = 5

SeedLike = int | np.random.Generator | np.random.SeedSequence | None


class SampleSizeWarning(UserWarning):
    """The sample is too small (few runs or few distinct values) for the asked-for statistic."""


def validate_scores(scores: Any, name: str = "scores", *, ndim: int = 2) -> np.ndarray:
    """Return ``scores`` as a finite float64 array of ``ndim`` dims, or raise :class:`InputError`.

    Silent NaN propagation is the classic way to publish a wrong number, so non-finite
    values are refused with their position rather than skipped.
    """
    try:
        arr = np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be numeric, got {type(scores).__name__}: {exc}") from None
    if arr.ndim != ndim:
        shape = "(num_runs, num_tasks)" if ndim == 2 else "(num_runs, num_tasks, num_steps)"
        raise InputError(
            f"{name} must be a {ndim}-d array {shape}, got shape {arr.shape}",
            hint="reshape a single task's runs with scores[:, None]" if arr.ndim == 1 else None,
        )
    if arr.size == 0:
        raise InputError(f"{name} must hold at least one run and one task, got shape {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        pos = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InputError(
            f"{name} has {int(bad.sum())} non-finite value(s) (first {arr[pos]} at run {pos[0]}, "
            f"task {pos[1]}{', step ' + str(pos[2]) if ndim == 3 else ''})",
            hint="drop or impute the missing runs/tasks before computing statistics",
        )
    return arr


def validate_score_dict(
    score_dict: Mapping[str, Any], *, ndim: int = 2, same_tasks: bool = True, min_runs: int = 1
) -> dict[str, np.ndarray]:
    """Validate every method's scores; with ``same_tasks`` all methods must share the task count.

    Aggregates over different task sets are not comparable, so a method that lacks tasks
    is an error rather than a quietly smaller denominator.
    """
    if not isinstance(score_dict, Mapping) or not score_dict:
        raise InputError(
            f"score_dict must be a non-empty mapping method -> ndarray(num_runs, num_tasks), got {score_dict!r:.80}"
        )
    out = {str(k): validate_scores(v, f"scores of method {k!r}", ndim=ndim) for k, v in score_dict.items()}
    if same_tasks:
        shapes = {k: v.shape[1:] for k, v in out.items()}
        if len(set(shapes.values())) > 1:
            desc = ", ".join(f"{k!r}: {s}" for k, s in shapes.items())
            raise InputError(
                f"all methods must have the same tasks (and steps), got trailing shapes {desc}",
                hint="restrict every method to the tasks they all have before comparing",
            )
    for k, v in out.items():
        if v.shape[0] < min_runs:
            raise InputError(
                f"method {k!r} must have at least {min_runs} runs per task for a bootstrap, got {v.shape[0]}",
                hint="a single run has no run-to-run spread; collect more seeds or report the point estimate only",
            )
    return out


def check_sample_size(scores: np.ndarray, name: str = "scores", *, stacklevel: int = 3) -> list[str]:
    """Warn (:class:`SampleSizeWarning`) when runs per task or distinct values are few.

    Returns the warning messages so callers (CLI tables, reports) can show them too.
    """
    messages = []
    runs = scores.shape[0]
    if runs < MIN_RUNS:
        messages.append(
            f"{name} has {runs} run(s) per task (< {MIN_RUNS}): bootstrap intervals under-cover; "
            "prefer exact tests (mann_whitney(method='exact'), permutation_test)"
        )
    distinct = np.unique(scores).size
    if distinct < MIN_DISTINCT:
        messages.append(
            f"{name} has only {distinct} distinct value(s) (< {MIN_DISTINCT}): the bootstrap "
            "distribution is coarse and intervals may be degenerate"
        )
    for msg in messages:
        warnings.warn(msg, SampleSizeWarning, stacklevel=stacklevel)
    return messages


def spawn_generators(seed: SeedLike, n: int) -> list[np.random.Generator]:
    """``n`` independent generators from ``seed`` (one per method), reproducible across processes.

    A passed ``Generator`` is advanced (its children are spawned), so two calls with the same
    generator object give different, independent draws -- like any use of a generator.
    """
    if isinstance(seed, np.random.Generator):
        return list(seed.spawn(n))
    bad_int = isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0
    if seed is not None and not isinstance(seed, np.random.SeedSequence) and bad_int:
        raise InputError(f"seed must be a non-negative int, a numpy Generator or None, got {seed!r}")
    seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return [np.random.Generator(np.random.PCG64(child)) for child in seq.spawn(n)]


def check_confidence(confidence: float) -> float:
    """``confidence`` must be strictly between 0 and 1."""
    c = float(confidence)
    if not 0.0 < c < 1.0:
        raise InputError(f"confidence must be strictly between 0 and 1, got {confidence!r}", hint="e.g. 0.95")
    return c


def check_reps(reps: int) -> int:
    """At least 2 bootstrap replications; anything less has no spread."""
    if isinstance(reps, bool) or not isinstance(reps, int | np.integer) or reps < 2:
        raise InputError(
            f"reps must be an int >= 2, got {reps!r}", hint="50_000 for papers, 2_000 for a quick look"
        )
    return int(reps)
