"""Put a user's callable on the count engine when it is made of runlab aggregates.

``interval_estimates(d, lambda x: np.array([iqm(x), mean(x)]))`` would call the lambda once per
resample -- as slow as rliable. Instead the lambda is called once on the data under a
:func:`~runlab.stats._trace.tracing` context: if its output is exactly the values of the
aggregates it called, each on its own input, it *is* that bundle, and the engine evaluates the
bundle on resample counts. Two resamples are traced the same way to confirm the structure does
not depend on the data (a lambda that branches on its input stays on the slow path). The
point estimate is always the callable's own output, so it is bit-for-bit what it returns.

A callable that cannot be recognised keeps the slow path, and :class:`SlowPathWarning` says
which one and why.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from runlab.errors import InputError
from runlab.stats._aggregates import AggregateFunc, _Part, part_of
from runlab.stats._checks import validate_scores
from runlab.stats._statistics import AggregateStat, CallableStat, Statistic, as_statistic
from runlab.stats._trace import tracing

#: Resamples traced to confirm a recognised callable does not branch on its input.
_CONFIRM_RESAMPLES = 2


class SlowPathWarning(UserWarning):
    """A callable statistic is evaluated by calling it once per resample (it is not recognised)."""


@dataclass(frozen=True)
class Recognised:
    """The statistic to bootstrap ``scores`` with, the point estimate, and why it is slow (if so)."""

    stat: Statistic
    point: np.ndarray
    slow_reason: str | None = None


def _as_vector(raw: Any) -> np.ndarray:
    out = np.atleast_1d(np.asarray(raw, dtype=np.float64))
    if out.ndim != 1:
        raise InputError(f"func must return a scalar or a 1-d array, got shape {out.shape}")
    return out


Locate = Callable[[Any], "int | None"]
"""Where a traced call's input lies in the callable's input: its step (0 for a 2-d input), or None."""

Parts = tuple[tuple[int, _Part], ...]
"""What a recognised callable outputs: per output element, the step of the input and the aggregate."""


def _match(out: np.ndarray, calls: list[Any], locate: Locate) -> tuple[Parts | None, str]:
    """The ``(step, part)`` of each element of ``out``, in order, or ``None`` and the reason."""
    if not calls:
        return None, "it calls no runlab aggregate"
    steps = [locate(c.scores) for c in calls]
    if None in steps:
        foreign = calls[steps.index(None)]
        return (
            None,
            f"it calls {foreign.kind} on an array other than its input (a slice or a transformed copy)",
        )
    values = np.array([c.value for c in calls], dtype=np.float64)
    order: list[int] | None = None
    if out.shape == values.shape and np.array_equal(out, values):
        order = list(range(len(calls)))
    elif out.size <= values.size:
        # each output must be the value of exactly one call (e.g. computed first, returned later)
        hits = [np.flatnonzero(values == v) for v in out]
        if all(h.size == 1 for h in hits) and len({int(h[0]) for h in hits}) == out.size:
            order = [int(h[0]) for h in hits]
    if order is None:
        return (
            None,
            "its output is not the values of the aggregates it calls (arithmetic on them or other values)",
        )
    return tuple((int(steps[i]), part_of(calls[i].kind, calls[i].param)) for i in order), ""  # type: ignore[arg-type]


def _whole(scores: np.ndarray) -> Locate:
    return lambda a: 0 if a is scores else None


def _step_of(scores: np.ndarray) -> Locate:
    """Locate ``scores[..., j]`` (a view, found by its address) in ``scores (R, T, S)``."""
    base = scores.__array_interface__["data"][0]

    def locate(a: Any) -> int | None:
        if not isinstance(a, np.ndarray) or a.shape != scores.shape[:2] or a.strides != scores.strides[:2]:
            return None
        offset = a.__array_interface__["data"][0] - base
        step, rest = divmod(offset, scores.strides[2])
        return int(step) if rest == 0 and 0 <= step < scores.shape[2] else None

    return locate


def _trace(
    func: Callable[[np.ndarray], Any], scores: np.ndarray, locate: Locate
) -> tuple[np.ndarray, Parts | None, str]:
    with tracing() as trace:
        out = _as_vector(func(scores))
    parts, reason = _match(out, trace.calls, locate)
    return out, parts, reason


def _confirmed(func: Callable[[np.ndarray], Any], scores: np.ndarray, parts: Parts, locate_in: Any) -> bool:
    """Same parts on resamples (a run drawn per ``(task, ...)`` cell), from a private generator so
    that confirming never consumes the caller's random stream."""
    rng = np.random.default_rng(0x5EED)
    grid = np.ogrid[tuple(slice(n) for n in scores.shape[1:])]
    for _ in range(_CONFIRM_RESAMPLES):
        sample = np.ascontiguousarray(scores[(rng.integers(0, scores.shape[0], size=scores.shape), *grid)])
        if _trace(func, sample, locate_in(sample))[1] != parts:
            return False
    return True


_BRANCHES = "the aggregates it calls change between resamples (it branches on its input)"


def specialise(stat: Statistic, scores: np.ndarray) -> Recognised:
    """Recognise ``stat`` on ``scores (R, T)``: a callable made of runlab aggregates becomes a bundle."""
    if not isinstance(stat, CallableStat):
        return Recognised(stat, stat.point(scores))
    out, parts, reason = _trace(stat.func, scores, _whole(scores))
    if parts is None:
        return Recognised(stat, out, reason)
    if not _confirmed(stat.func, scores, parts, _whole):
        return Recognised(stat, out, _BRANCHES)
    return Recognised(AggregateStat(AggregateFunc(tuple(p for _, p in parts))), out)


def describe(func: Any) -> str:
    """``name (file:line)`` of a function, for messages."""
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or type(func).__name__
    code = getattr(func, "__code__", None)
    where = f" ({code.co_filename}:{code.co_firstlineno})" if code is not None else ""
    return f"{name}{where}"


def warn_slow(func: Any, reason: str, reps: int, stacklevel: int) -> None:
    """Emit :class:`SlowPathWarning` naming ``func`` and why it is called once per resample."""
    warnings.warn(
        f"func {describe(func)} takes the slow path: {reason}, so it is called once for each of the "
        f"{reps} resamples of each method. Build it from runlab's aggregates (runlab.stats iqm, mean, "
        "median, optimality_gap, trimmed_mean or runlab.compat.rliable.metrics), each called on the "
        "whole input, or pass runlab.stats.aggregate_func(...)",
        SlowPathWarning,
        stacklevel=stacklevel + 1,
    )


def recognise(
    func: Any, scores: Any, *, reps: int | None = None, stacklevel: int = 2
) -> dict[int, tuple[AggregateFunc, list[int]]] | None:
    """Which runlab aggregates ``func`` outputs, as ``{step: (bundle, output positions)}``, or ``None``.

    ``scores`` is ``(R, T)`` -- then the answer is ``{0: (bundle, [0, ..., k-1])}``, and ``func``
    may be anything :func:`interval_estimates` takes (a name, an :class:`AggregateFunc`, a runlab
    or rliable aggregate, a callable made of runlab aggregates) -- or ``(R, T, S)``, where each
    aggregate must be called on one whole step ``scores[..., j]`` (rliable's sample-efficiency
    idiom ``lambda x: np.array([iqm(x[..., j]) for j in range(x.shape[-1])])``), so that each
    step can be bootstrapped as its own ``(R, T)`` matrix. A callable is traced on ``scores`` and
    on two resamples (see the module notes). With ``reps`` given, an unrecognised callable emits
    :class:`SlowPathWarning` naming it and why (``stacklevel`` counts from the caller).
    """
    if np.ndim(scores) == 2:
        s2 = validate_scores(scores)
        rec = specialise(as_statistic(func), s2)
        if isinstance(rec.stat, AggregateStat):
            return {0: (rec.stat.func, list(range(len(rec.stat.func.parts))))}
        if reps is not None:
            warn_slow(func, rec.slow_reason or "it is not made of runlab aggregates", reps, stacklevel + 1)
        return None
    s = validate_scores(scores, ndim=3)
    reason = "it is not a callable"
    if callable(func):
        _, parts, reason = _trace(func, s, _step_of(s))
        if parts is not None:
            if _confirmed(func, s, parts, _step_of):
                groups: dict[int, list[int]] = {}
                for i, (step, _) in enumerate(parts):
                    groups.setdefault(step, []).append(i)
                return {j: (AggregateFunc(tuple(parts[i][1] for i in pos)), pos) for j, pos in groups.items()}
            reason = _BRANCHES
    if reps is not None:
        warn_slow(func, reason, reps, stacklevel + 1)
    return None
