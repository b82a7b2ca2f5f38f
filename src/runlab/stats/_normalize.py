"""Score normalisation per task and metric direction, made explicit.

Aggregates across tasks only mean something when tasks share a scale, and the statistics in
this package assume higher is better. Both are the caller's decision, stated here: every
function takes ``direction`` and returns scores where higher is better.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from runlab.errors import InputError
from runlab.stats._checks import validate_score_dict
from runlab.stats._vocab import DIRECTIONS, NORMALIZATION_ALIASES, NORMALIZATIONS, Direction, choice


def _check_direction(direction: str) -> None:
    choice("direction", direction, DIRECTIONS)


def orient(scores: Any, direction: Direction) -> np.ndarray:
    """Scores with higher = better: unchanged for ``maximize``, negated for ``minimize``."""
    _check_direction(direction)
    s = np.asarray(scores, dtype=np.float64)
    return s if direction == "maximize" else -s


def _per_task(values: Sequence[float] | np.ndarray | None, tasks: int, name: str) -> np.ndarray:
    if values is None:
        raise InputError(f"{name} is required for method='optimal'", hint=f"pass one {name} value per task")
    arr = np.asarray(values, dtype=np.float64).ravel()
    if arr.size != tasks or not np.isfinite(arr).all():
        raise InputError(
            f"{name} must hold {tasks} finite values (one per task), got {np.asarray(values)!r:.80}"
        )
    return arr


def normalize_score_dict(
    score_dict: Mapping[str, Any],
    method: str = "minmax",
    *,
    direction: Direction = "maximize",
    random_scores: Sequence[float] | np.ndarray | None = None,
    optimal_scores: Sequence[float] | np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Normalise every method's ``(runs, tasks)`` scores per task; higher is better afterwards.

    * ``minmax``: ``(s - min_t) / (max_t - min_t)`` with min/max per task pooled over all methods
      (``minimize``: ``(max_t - s) / (max_t - min_t)``);
    * ``zscore``: ``(s - mean_t) / std_t`` pooled over all methods, sample std (ddof=1) as in
      :func:`runlab.compare.score_matrix` (sign flipped for ``minimize``);
    * ``optimal`` (alias ``reference``): ``(s - random_t) / (optimal_t - random_t)`` -- 0 is random,
      1 is optimal, for either direction; ``optimal`` must be better than ``random`` in the stated
      direction.

    A task on which every score is equal has no scale: ``minmax``/``zscore`` raise for it.
    """
    _check_direction(direction)
    scores = validate_score_dict(score_dict, same_tasks=True)
    tasks = next(iter(scores.values())).shape[1]
    method = choice("method", method, NORMALIZATIONS, NORMALIZATION_ALIASES)
    if method == "optimal":
        rand = _per_task(random_scores, tasks, "random_scores")
        opt = _per_task(optimal_scores, tasks, "optimal_scores")
        wrong = opt <= rand if direction == "maximize" else opt >= rand
        if wrong.any():
            t = int(np.argmax(wrong))
            raise InputError(
                f"optimal_scores must be {'above' if direction == 'maximize' else 'below'} random_scores "
                f"when direction={direction!r}, got optimal {opt[t]} vs random {rand[t]} on task {t}",
                hint="swap them, or check the metric direction",
            )
        return {k: (v - rand) / (opt - rand) for k, v in scores.items()}
    oriented = {k: orient(v, direction) for k, v in scores.items()}
    pooled = np.concatenate(list(oriented.values()), axis=0)
    if method == "minmax":
        lo, scale = pooled.min(axis=0), np.ptp(pooled, axis=0)
    else:
        if pooled.shape[0] < 2:
            raise InputError("zscore normalisation needs at least two runs per task (sample std, ddof=1)",
                             hint="use method='minmax' or 'optimal'")
        lo, scale = pooled.mean(axis=0), pooled.std(axis=0, ddof=1)
    if np.any(scale == 0):
        t = int(np.argmax(scale == 0))
        raise InputError(
            f"task {t} has the same score in every run of every method, so {method} normalisation is undefined",
            hint="drop the task, or use method='optimal' with random/optimal scores",
        )
    return {k: (v - lo) / scale for k, v in oriented.items()}


def normalize_scores(
    scores: Any,
    method: str = "minmax",
    *,
    direction: Direction = "maximize",
    random_scores: Sequence[float] | np.ndarray | None = None,
    optimal_scores: Sequence[float] | np.ndarray | None = None,
) -> np.ndarray:
    """:func:`normalize_score_dict` for a single ``(runs, tasks)`` matrix (its own min/max/mean)."""
    return normalize_score_dict(
        {"scores": scores},
        method,
        direction=direction,
        random_scores=random_scores,
        optimal_scores=optimal_scores,
    )["scores"]
