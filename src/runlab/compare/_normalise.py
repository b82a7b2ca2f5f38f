"""Per-task normalisation of a score matrix, kept as an affine map so other views reuse it.

``normalised = (raw - centre) / span`` per task: the comparison stores ``(centre, span)`` and the
sample-efficiency curves apply the very same map, so a curve's last point and the comparison share
one scale. ``zscore`` uses the sample std (ddof=1), as :func:`runlab.stats.normalize_score_dict`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np

from runlab.errors import InputError


def task_affine(
    scores: dict[str, np.ndarray],
    tasks: list[str],
    kind: str,
    direction: str,
    optimal: Mapping[str, float] | None,
    random: Mapping[str, float] | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-task ``(centre, span)`` over all methods' runs, oriented so that higher is better."""
    stacked = np.vstack(list(scores.values()))  # (all rows, tasks), NaN-padded
    sign = 1.0 if direction == "maximize" else -1.0
    if kind == "optimal":
        missing = [t for t in tasks if not optimal or t not in optimal]
        if missing:
            raise InputError(
                f"optimal_scores has no entry for task(s) {', '.join(map(repr, missing))}",
                hint="give an optimal score for every task, or use normalize='minmax'",
            )
        assert optimal is not None
        if direction == "minimize" and not random:
            raise InputError(
                "a minimized metric needs random_scores (the score of a random policy) to normalise "
                "against optimal_scores",
                hint="pass random_scores per task, or use normalize='minmax'",
            )
        lo = np.array([float((random or {}).get(t, 0.0)) for t in tasks])
        hi = np.array([float(optimal[t]) for t in tasks])
        span = hi - lo
        bad = [t for t, s in zip(tasks, span, strict=True) if s == 0 or not np.isfinite(s)]
        if bad:
            raise InputError(f"optimal and random scores must differ, but are equal for task(s) {bad}")
        return lo, span
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if kind == "minmax":
            lo, hi = np.nanmin(stacked, axis=0), np.nanmax(stacked, axis=0)
            center, span = (lo, hi - lo) if sign > 0 else (hi, lo - hi)
        else:
            center = np.nanmean(stacked, axis=0)
            counts = np.isfinite(stacked).sum(axis=0)
            span = (
                sign * np.nanstd(stacked, axis=0, ddof=1)
                if stacked.shape[0] > 1
                else np.full(len(tasks), np.nan)
            )
            span = np.where(counts > 1, span, np.nan)
    bad = [t for t, s in zip(tasks, span, strict=True) if not np.isfinite(s) or s == 0]
    if bad:
        raise InputError(
            f"{kind} normalisation is undefined for task(s) {', '.join(map(repr, bad))}: all scores are "
            "equal (or there is a single run)",
            hint="use normalize=None, or normalize='optimal' with optimal_scores",
        )
    return center, span
