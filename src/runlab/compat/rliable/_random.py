"""Where the compat layer's random draws come from: ``seed=``, ``random_state`` or numpy's global RNG.

rliable draws every resample with ``np.random.choice`` on numpy's global RNG, so a script that
calls ``np.random.seed(0)`` is reproducible. The compat layer keeps that default. Materialised
resamples (callables runlab does not recognise) are drawn exactly as rliable draws them, so for the
same global seed they are the very same resamples; the count engine instead takes a
:class:`numpy.random.Generator` seeded from the same stream (four 32-bit words drawn from it), which
agrees with rliable in distribution. ``seed=`` (an int or a ``Generator``) makes a call
reproducible without touching global state; ``random_state`` (a ``RandomState`` or an int) is
honoured too, as rliable's docstring promises.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from runlab.errors import InputError


class RandomSource:
    """Index draws for materialised resamples and generators for the count engine, from one stream."""

    def __init__(self, seed: Any = None, random_state: Any = None) -> None:
        self._gen: np.random.Generator | None = None
        self._legacy: Any = np.random  # the module's functions use the global RandomState
        if seed is not None:
            self._gen = seed if isinstance(seed, np.random.Generator) else _generator(seed)
        elif isinstance(random_state, np.random.Generator):
            self._gen = random_state
        elif isinstance(random_state, np.random.RandomState):
            self._legacy = random_state
        elif random_state is not None:
            self._legacy = np.random.RandomState(_check_int(random_state, "random_state"))

    def choice(self, n: int, shape: tuple[int, ...]) -> np.ndarray:
        """Integers in ``[0, n)`` of ``shape``; with the global RNG exactly ``np.random.choice(n, shape)``."""
        if self._gen is not None:
            return self._gen.integers(0, n, size=shape)
        return self._legacy.choice(n, shape, replace=True)

    def generator(self) -> np.random.Generator:
        """A fresh generator for one count-engine call, drawn from this source's stream."""
        if self._gen is not None:
            return self._gen.spawn(1)[0]
        entropy = self._legacy.randint(0, 2**32, size=4, dtype=np.uint64)
        return np.random.default_rng([int(e) for e in entropy])


def _check_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise InputError(f"{name} must be a non-negative int, a numpy Generator or None, got {value!r}")
    return int(value)


def _generator(seed: Any) -> np.random.Generator:
    if isinstance(seed, np.random.SeedSequence):
        return np.random.default_rng(seed)
    return np.random.default_rng(_check_int(seed, "seed"))
