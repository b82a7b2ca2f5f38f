"""The cost-score Pareto front: what Protein searches around and what ``sweep plot`` draws."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def pareto_front(cost: Sequence[float] | np.ndarray, score: Sequence[float] | np.ndarray,
                 goal: str = "maximize") -> np.ndarray:
    """Indices of the non-dominated points (no other point is cheaper-or-equal and better), by cost.

    cost, score (n,) -> indices sorted by increasing cost; of points with equal cost only the best
    score is kept. ``goal`` says which scores are better (``maximize`` or ``minimize``).
    """
    c = np.asarray(cost, dtype=float)
    s = np.asarray(score, dtype=float) * (1.0 if goal == "maximize" else -1.0)
    order = np.lexsort((-s, c))  # by cost, then best score first
    front, best = [], -np.inf
    for i in order:
        if s[i] > best:
            front.append(i)
            best = s[i]
    return np.asarray(front, dtype=int)


__all__ = ["pareto_front"]
