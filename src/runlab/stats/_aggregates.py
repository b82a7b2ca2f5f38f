"""Aggregate metrics over a ``(num_runs, num_tasks)`` score matrix, equal to rliable's.

Each public function is a plain ``ndarray -> float``; :func:`aggregate_func` bundles several
into one callable whose structure the bootstrap engine understands, so
``interval_estimates(d, aggregate_func("iqm", "mean"))`` takes the vectorised fast path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.stats

from runlab.errors import InputError
from runlab.stats._checks import validate_scores
from runlab.stats._trace import traced

#: Names accepted by :func:`aggregate_func` (and wherever a metric may be named by string).
AGGREGATE_NAMES = ("median", "iqm", "mean", "optimality_gap", "trimmed_mean")


def _check_trim(trim: float) -> float:
    t = float(trim)
    if not 0.0 <= t < 0.5:
        raise InputError(f"trim must be in [0, 0.5), got {trim!r}", hint="0.25 gives the interquartile mean")
    return t


def _check_gamma(gamma: float) -> float:
    g = float(gamma)
    if not np.isfinite(g):
        raise InputError(f"gamma must be a finite threshold, got {gamma!r}", hint="1.0 for normalised scores")
    return g


def _no_param() -> float:
    return 0.0


def _trim_param(trim: float) -> float:
    return trim


def _gamma_param(gamma: float = 1.0) -> float:
    return gamma


# Each aggregate is ``traced`` so that a callable built from them can be recognised and
# evaluated by the count engine (see ``_trace`` and ``_recognise``).


@traced("mean", _no_param)
def mean(scores: Any) -> float:
    """Mean over tasks of the per-task mean score (rliable ``aggregate_mean``)."""
    s = validate_scores(scores)
    return float(np.mean(np.mean(s, axis=0)))


@traced("median", _no_param)
def median(scores: Any) -> float:
    """Median over tasks of the per-task mean score (rliable ``aggregate_median``)."""
    s = validate_scores(scores)
    return float(np.median(np.mean(s, axis=0)))


@traced("trimmed_mean", _trim_param)
def trimmed_mean(scores: Any, trim: float) -> float:
    """Mean of all run x task scores after cutting the lowest and highest ``trim`` fraction.

    ``int(trim * n)`` values are cut at each end, as in :func:`scipy.stats.trim_mean`.
    """
    s = validate_scores(scores)
    return float(scipy.stats.trim_mean(s, proportiontocut=_check_trim(trim), axis=None))


@traced("iqm", _no_param)
def iqm(scores: Any) -> float:
    """Interquartile mean: the 25 % trimmed mean over all runs and tasks pooled."""
    return trimmed_mean(scores, 0.25)


@traced("optimality_gap", _gamma_param)
def optimality_gap(scores: Any, gamma: float = 1.0) -> float:
    """How far scores fall short of ``gamma`` on average, scores above ``gamma`` clipped to it."""
    s = validate_scores(scores)
    g = _check_gamma(gamma)
    return float(g - np.mean(np.minimum(s, g)))


def comparison_matrices(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per task, ``S[t, i, j] = 1`` if ``x[i, t] > y[j, t]``, ``0.5`` on ties, else 0.

    Shape ``(num_tasks, runs_x, runs_y)``. The Mann-Whitney U of task ``t`` is ``S[t].sum()``,
    and of any resample with run counts ``cx``, ``cy`` it is ``cx @ S[t] @ cy``.
    """
    xt = x.T[:, :, None]  # (tasks, runs_x, 1)
    yt = y.T[:, None, :]  # (tasks, 1, runs_y)
    return (xt > yt) + 0.5 * (xt == yt)


def probability_of_improvement(x: Any, y: Any) -> float:
    """P(X > Y) averaged over tasks: a run of X beats a run of Y on the same task (ties count 1/2).

    Equals rliable's (Mann-Whitney U / (n_x n_y) per task; identical columns give exactly 0.5,
    which the tie rule already yields).
    """
    xs = validate_scores(x, "scores_x")
    ys = validate_scores(y, "scores_y")
    if xs.shape[1] != ys.shape[1]:
        raise InputError(
            f"scores_x and scores_y must have the same tasks, got {xs.shape[1]} and {ys.shape[1]} tasks",
            hint="restrict both methods to their shared tasks",
        )
    per_task = comparison_matrices(xs, ys).sum(axis=(1, 2)) / (xs.shape[0] * ys.shape[0])
    return float(np.mean(per_task))


@dataclass(frozen=True)
class _Part:
    """One metric inside an :class:`AggregateFunc`: its kind and its parameter (trim or gamma)."""

    kind: str
    param: float
    label: str


_FUNCS: dict[Callable[..., float], str] = {
    mean: "mean",
    median: "median",
    iqm: "iqm",
    optimality_gap: "optimality_gap",
    trimmed_mean: "trimmed_mean",
}


@dataclass(frozen=True)
class AggregateFunc:
    """Several aggregates computed at once: ``f(scores) -> ndarray(len(f.names))``.

    Build with :func:`aggregate_func`. The bootstrap recognises it and evaluates all parts on
    shared resamples without materialising them (see ``_engine``).
    """

    parts: tuple[_Part, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """Column labels, e.g. ``("median", "iqm", "mean", "optimality_gap")``."""
        return tuple(p.label for p in self.parts)

    def __call__(self, scores: Any) -> np.ndarray:
        s = validate_scores(scores)
        return np.array([_point(s, p) for p in self.parts])


def _point(s: np.ndarray, part: _Part) -> float:
    if part.kind == "mean":
        return mean(s)
    if part.kind == "median":
        return median(s)
    if part.kind in ("iqm", "trimmed_mean"):
        return trimmed_mean(s, part.param)
    return optimality_gap(s, part.param)


def aggregate_func(
    *metrics: str | Callable[..., float], trim: float = 0.25, gamma: float = 1.0
) -> AggregateFunc:
    """Bundle metrics (names from :data:`AGGREGATE_NAMES` or the functions themselves) into one.

    With no metrics, gives rliable's usual four: median, IQM, mean, optimality gap. ``trim``
    applies to ``trimmed_mean``, ``gamma`` to ``optimality_gap``.
    """
    chosen: Sequence[str | Callable[..., float]] = metrics or ("median", "iqm", "mean", "optimality_gap")
    parts = []
    for m in chosen:
        name = _FUNCS.get(m) if callable(m) else m  # type: ignore[call-overload]
        if name not in AGGREGATE_NAMES:
            raise InputError(
                f"metric must be one of {', '.join(AGGREGATE_NAMES)} (or the runlab.stats function), got {m!r}",
                hint="pass any other callable directly as func= to interval_estimates",
            )
        parts.append(part_of(name, trim if name == "trimmed_mean" else gamma))
    return AggregateFunc(tuple(parts))


def part_of(kind: str, param: float = 0.0) -> _Part:
    """The engine's description of one aggregate: ``param`` is the trim (trimmed mean) or gamma."""
    if kind == "iqm":
        return _Part("iqm", 0.25, "iqm")
    if kind == "trimmed_mean":
        return _Part("trimmed_mean", _check_trim(param), f"trimmed_mean({param:g})")
    if kind == "optimality_gap":
        return _Part("optimality_gap", _check_gamma(param), "optimality_gap")
    return _Part(kind, 0.0, kind)
