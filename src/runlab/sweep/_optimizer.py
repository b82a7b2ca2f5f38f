"""What every sweep optimiser shares: config, RNG, observations, pending trials.

Optimisers differ only in ``suggest``; recording outcomes, validating them and tracking the
trials in flight is common, so a store or runner can drive Protein, random and grid search
through one narrow interface.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from runlab.errors import InputError, RunlabError
from runlab.sweep._space import SweepConfig, load_sweep_config


class SearchExhaustedError(RunlabError):
    """The optimiser has nothing left to suggest (every grid point observed or pending)."""


@dataclass(frozen=True, eq=False)
class Observation:
    """One finished trial, as the optimiser sees it."""

    params: dict[str, Any]
    """Nested parameters, mirroring the parameter tree."""
    unit: np.ndarray
    """The parameters as a point of the normalised box, shape ``(dim,)``."""
    score: float | None
    """The objective in the user's units (``None`` for a failure)."""
    cost: float | None
    """The trial's cost (seconds, steps...); ``None`` when a failure did not report one."""
    is_failure: bool
    """True when the trial crashed or produced no usable objective."""


@runtime_checkable
class Optimizer(Protocol):
    """What a sweep runner needs of an optimiser: suggest, observe, and hold suggestions in flight.

    :class:`SweepOptimizer` (and so Protein, random and grid search) implements it; so can any
    other class, without subclassing.
    """

    def suggest(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """Next parameters (nested dict of plain Python values) and an info dict."""
        ...

    def observe(self, suggestion: Mapping[str, Any], score: float | None = None, cost: float | None = 1.0,
                is_failure: bool = False) -> object:
        """Record a finished trial (clears its pending entry); :class:`InputError` if invalid."""
        ...

    def mark_pending(self, suggestion: Mapping[str, Any]) -> None:
        """Record a suggestion as in flight."""
        ...


def _as_float(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise InputError(f"{what} must be a real number, got {value!r}")
    return float(value)


class SweepOptimizer:
    """Base class: subclasses implement :meth:`suggest`.

    ``sweep_config`` is a dict, a YAML path or a :class:`SweepConfig`; ``seed`` (an int or a
    ``numpy.random.Generator``) makes the suggestion sequence reproducible across processes.
    """

    def __init__(self, sweep_config: Mapping[str, Any] | str | Path | SweepConfig, *,
                 seed: int | np.random.Generator | None = None) -> None:
        self.config: SweepConfig = load_sweep_config(sweep_config)
        self.space = self.config.parameters
        self._rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        self.observations: list[Observation] = []
        self._pending: list[np.ndarray] = []

    # -- the one method subclasses provide -------------------------------------------------
    def suggest(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """Next parameters (nested dict of plain Python values) and an info dict."""
        raise NotImplementedError

    # -- shared bookkeeping ----------------------------------------------------------------
    def flat_params(self, nested: Mapping[str, Any]) -> dict[str, Any]:
        """Nested parameters -> ``{"trainer.optimizer.learning_rate": ...}``."""
        return self.space.flatten(nested)

    def nested_params(self, flat: Mapping[str, Any]) -> dict[str, Any]:
        """Dotted parameters -> nested dict mirroring the parameter tree."""
        return self.space.nest(self.space.flatten(flat))

    @property
    def pending(self) -> list[dict[str, Any]]:
        """Suggestions marked pending and not yet observed or cleared (nested form)."""
        return [self.space.nest(self.space.from_unit(u)) for u in self._pending]

    def mark_pending(self, suggestion: Mapping[str, Any]) -> None:
        """Record a suggestion as in flight so later suggestions steer away from it."""
        self._pending.append(self.space.to_unit(suggestion))

    def clear_pending(self, suggestion: Mapping[str, Any]) -> bool:
        """Forget one pending entry equal to ``suggestion``; False if none matched."""
        unit = self.space.to_unit(suggestion)
        for i, other in enumerate(self._pending):
            if np.allclose(other, unit, rtol=0.0, atol=1e-9):
                del self._pending[i]
                return True
        return False

    def observe(self, suggestion: Mapping[str, Any], score: float | None = None, cost: float | None = 1.0,
                is_failure: bool = False) -> Observation:
        """Record a finished trial; clears the matching pending entry.

        Successes need a finite ``score`` and a finite positive ``cost``. A failure keeps no
        score (it is never counted as a success) and its cost only if it is finite and positive.
        Invalid input raises :class:`InputError` and leaves the recorded observations unchanged.
        """
        unit = self.space.to_unit(suggestion)
        params = self.space.nest(self.space.flatten(suggestion))
        if is_failure:
            value = None
            price = None
            if cost is not None and not isinstance(cost, bool) and isinstance(cost, int | float):
                price = float(cost) if math.isfinite(cost) and cost > 0 else None
        else:
            if score is None:
                raise InputError(f"score of trial {params!r} is missing",
                                 hint="pass score=..., or is_failure=True if the trial failed")
            value = _as_float(score, f"score of trial {params!r}")
            if not math.isfinite(value):
                raise InputError(f"score of trial {params!r} must be finite, got {score!r}",
                                 hint="record the trial with is_failure=True if it diverged")
            price = 1.0 if cost is None else _as_float(cost, f"cost of trial {params!r}")
            if not (math.isfinite(price) and price > 0):
                raise InputError(f"cost of trial {params!r} must be finite and > 0, got {cost!r}")
        obs = Observation(params=params, unit=unit, score=value, cost=price, is_failure=bool(is_failure))
        self.observations.append(obs)
        self.clear_pending(params)
        return obs

    @property
    def successes(self) -> list[Observation]:
        return [o for o in self.observations if not o.is_failure]

    @property
    def failures(self) -> list[Observation]:
        return [o for o in self.observations if o.is_failure]

    def best(self) -> Observation | None:
        """The best successful observation under the config's goal, or None."""
        ok = self.successes
        if not ok:
            return None
        return max(ok, key=lambda o: self.config.direction * float(o.score))  # type: ignore[arg-type]

    # -- helpers for subclasses --------------------------------------------------------------
    def _is_taken(self, unit: np.ndarray, *, include_observed: bool = False) -> bool:
        others = list(self._pending)
        if include_observed:
            others += [o.unit for o in self.observations]
        return any(np.allclose(o, unit, rtol=0.0, atol=1e-9) for o in others)

    def _result(self, unit: np.ndarray, info: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        return self.space.nest(self.space.from_unit(unit)), info


__all__ = ["Observation", "Optimizer", "SearchExhaustedError", "SweepOptimizer"]
