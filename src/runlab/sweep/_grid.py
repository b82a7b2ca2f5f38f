"""Exhaustive grid search: every combination once, in a fixed order."""

from __future__ import annotations

import itertools
from typing import Any

from runlab.sweep._optimizer import SearchExhaustedError, SweepOptimizer


class GridSearch(SweepOptimizer):
    """Numeric parameters take ``protein.grid_points`` values spread evenly in their own scale
    (fewer when integer rounding merges them); categorical ones take all their values. Points
    already observed or pending are skipped; when none is left :class:`SearchExhaustedError`."""

    @property
    def grid_size(self) -> int:
        size = 1
        for p in self.space.params:
            size *= len(p.grid(self.config.protein.grid_points))
        return size

    def suggest(self) -> tuple[dict[str, Any], dict[str, Any]]:
        axes = [p.grid(self.config.protein.grid_points) for p in self.space.params]
        for i, combo in enumerate(itertools.product(*axes)):
            flat = dict(zip(self.space.paths, combo, strict=True))
            unit = self.space.to_unit(flat)
            if not self._is_taken(unit, include_observed=True):
                return self._result(unit, {"phase": "grid", "grid_index": i, "grid_size": self.grid_size})
        raise SearchExhaustedError(
            f"grid of {self.grid_size} points is exhausted (all observed or pending)",
            hint="raise protein.grid_points or switch to method: bayes")


__all__ = ["GridSearch"]
