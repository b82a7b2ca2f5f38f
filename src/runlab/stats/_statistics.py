"""Statistics the bootstrap evaluates: a point value and a batched value per resample chunk.

Three kinds: bundles of known aggregates (fast, count-based), performance profiles (fast,
count-based) and arbitrary callables (materialised resamples, one call per rep).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from runlab.errors import InputError
from runlab.stats._aggregates import _FUNCS, AggregateFunc, aggregate_func
from runlab.stats._engine import CountChunk


class Statistic:
    """Interface: ``point`` on a score matrix; ``from_counts`` / ``from_values`` on a chunk."""

    #: False when only :meth:`from_values` is available.
    countable: bool = True

    def point(self, scores: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def from_counts(self, chunk: CountChunk) -> np.ndarray:
        """A chunk of resample counts -> ``(chunk.size, k)``."""
        raise NotImplementedError

    def from_values(self, values: np.ndarray) -> np.ndarray:
        """``values`` resamples ``(chunk, R, T)`` -> ``(chunk, k)``."""
        raise NotImplementedError


@dataclass
class AggregateStat(Statistic):
    """The parts of an :class:`AggregateFunc`, evaluated together on shared resamples."""

    func: AggregateFunc

    def point(self, scores: np.ndarray) -> np.ndarray:
        return self.func(scores)

    def from_counts(self, chunk: CountChunk) -> np.ndarray:
        out = np.empty((chunk.size, len(self.func.parts)))
        for i, part in enumerate(self.func.parts):
            if part.kind == "mean":
                out[:, i] = chunk.mean()
            elif part.kind == "optimality_gap":
                out[:, i] = part.param - chunk.clipped_mean(part.param)
            elif part.kind == "median":
                out[:, i] = chunk.median_task_mean()
            else:
                out[:, i] = chunk.trimmed_mean(part.param)
        return out

    def from_values(self, values: np.ndarray) -> np.ndarray:
        chunk = values.shape[0]
        flat = values.reshape(chunk, -1)
        out = np.empty((chunk, len(self.func.parts)))
        for i, part in enumerate(self.func.parts):
            if part.kind == "mean":
                out[:, i] = values.mean(axis=1).mean(axis=1)
            elif part.kind == "optimality_gap":
                out[:, i] = part.param - np.minimum(flat, part.param).mean(axis=1)
            elif part.kind == "median":
                out[:, i] = np.median(values.mean(axis=1), axis=1)
            else:
                lo = int(part.param * flat.shape[1])
                srt = np.sort(flat, axis=1)
                out[:, i] = srt[:, lo : flat.shape[1] - lo].mean(axis=1)
        return out


@dataclass
class ProfileStat(Statistic):
    """Performance profile at thresholds ``taus``: fraction of scores (``run``) or of task means
    (``average``) strictly above each tau, as rliable's score distributions."""

    taus: np.ndarray
    kind: str

    def point(self, scores: np.ndarray) -> np.ndarray:
        pool = scores.ravel() if self.kind == "run" else scores.mean(axis=0)
        return (pool[:, None] > self.taus[None, :]).mean(axis=0)

    def from_counts(self, chunk: CountChunk) -> np.ndarray:
        p = chunk.prep
        if self.kind == "run":
            above = (p.by_task.ravel()[None, :] > self.taus[:, None]).astype(np.float64)  # (n_tau, N)
            return chunk.weighted_sums(above).T / p.n
        return self._fraction_above((chunk.task_sums / p.runs).T)

    def from_values(self, values: np.ndarray) -> np.ndarray:
        if self.kind == "run":
            return self._fraction_above(values.reshape(values.shape[0], -1))
        return self._fraction_above(values.mean(axis=1))

    def _fraction_above(self, pools: np.ndarray) -> np.ndarray:
        """``pools (chunk, m)`` -> fraction of each row strictly above each tau ``(chunk, n_tau)``."""
        srt = np.sort(pools, axis=1)
        m = srt.shape[1]
        # count <= tau via searchsorted(side="right") on each sorted row
        below = np.stack([np.searchsorted(row, self.taus, side="right") for row in srt])
        return (m - below) / m


@dataclass
class CallableStat(Statistic):
    """Any ``func(scores) -> scalar or 1-d array``; resamples are materialised (slow path)."""

    func: Callable[[np.ndarray], Any]
    countable = False

    def point(self, scores: np.ndarray) -> np.ndarray:
        out = np.atleast_1d(np.asarray(self.func(scores), dtype=np.float64))
        if out.ndim != 1:
            raise InputError(f"func must return a scalar or a 1-d array, got shape {out.shape}")
        return out

    def from_values(self, values: np.ndarray) -> np.ndarray:
        return np.stack([self.point(v) for v in values])


#: rliable 1.2's ``metrics.aggregate_*`` (defaults: gamma = 1) and the aggregate each one is.
_RLIABLE_AGGREGATES = {
    "aggregate_mean": "mean",
    "aggregate_median": "median",
    "aggregate_iqm": "iqm",
    "aggregate_optimality_gap": "optimality_gap",
}


def _rliable_name(func: Any) -> str | None:
    """The aggregate name of one of rliable's ``metrics.aggregate_*`` passed directly, else None.

    Recognised by module and name, so rliable need not be importable (nor is it imported).
    """
    if getattr(func, "__module__", None) != "rliable.metrics":
        return None
    return _RLIABLE_AGGREGATES.get(getattr(func, "__name__", ""))


def as_statistic(func: Any) -> Statistic:
    """Turn ``func`` (an :class:`AggregateFunc`, a metric name or names, a ``runlab.stats``
    aggregate function, one of rliable's ``metrics.aggregate_*``, or any callable) into a
    :class:`Statistic` (a callable becomes a :class:`CallableStat`, which ``_recognise`` may
    still put on the count engine once it sees the data)."""
    if isinstance(func, Statistic):
        return func
    if isinstance(func, AggregateFunc):
        return AggregateStat(func)
    if isinstance(func, str):
        return AggregateStat(aggregate_func(func))
    if isinstance(func, list | tuple) and func and all(isinstance(f, str) or f in _FUNCS for f in func):
        return AggregateStat(aggregate_func(*func))
    if callable(func) and func in _FUNCS:
        return AggregateStat(aggregate_func(func))
    if (rliable_name := _rliable_name(func)) is not None:
        return AggregateStat(aggregate_func(rliable_name))
    if callable(func):
        return CallableStat(func)
    raise InputError(
        f"func must be a metric name, a list of names, an AggregateFunc or a callable, got {func!r:.80}",
        hint="e.g. func='iqm' or func=aggregate_func('iqm', 'mean')",
    )
