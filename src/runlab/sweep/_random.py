"""Random search over the whole box: the baseline every sweep should beat."""

from __future__ import annotations

from typing import Any

from runlab.sweep._optimizer import SweepOptimizer

_MAX_REDRAWS = 64


class RandomSearch(SweepOptimizer):
    """Uniform sampling of each parameter in its own scale (log for ``log_normal``...).

    A draw equal to a pending suggestion (possible in small discrete spaces) is redrawn, so
    parallel workers get different trials while the space allows.
    """

    def suggest(self) -> tuple[dict[str, Any], dict[str, Any]]:
        for _ in range(_MAX_REDRAWS):
            unit = self.space.snap(self.space.sample_uniform(self._rng, 1))[0]
            if not self._is_taken(unit):
                break
        return self._result(unit, {"phase": "random", "n_observations": len(self.observations)})


__all__ = ["RandomSearch"]
