"""rliable's ``StratifiedBootstrap`` and ``StratifiedIndependentBootstrap``, without arch.

The iteration protocol is arch's, as rliable uses it: ``for pos_data, kw_data in bs.bootstrap(n)``
yields resampled copies of the inputs, ``bs.index`` is the index of the current resample, and
keyword inputs are also attributes (``bs.y``). Resample indices are rliable's: for an input of
shape ``(num_runs, num_tasks, ...)`` a run is drawn independently for every ``(task, ...)`` cell,
and with ``task_bootstrap`` the tasks are drawn too. ``conf_int`` first asks runlab whether the
statistic is one it can count (``runlab.stats.recognise``; probability of improvement for the
independent bootstrap) and then runs the count-based engine; otherwise it resamples and calls the
statistic once per resample, drawing the same resamples rliable would from the same RNG state.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from runlab import stats
from runlab.compat.rliable import metrics
from runlab.compat.rliable._random import RandomSource
from runlab.errors import InputError

#: arch's method names (and aliases) that the compat layer computes.
_METHODS = {
    "percentile": "percentile",
    "basic": "basic",
    "bc": "bc",
    "debiased": "bc",
    "bias-corrected": "bc",
    "bca": "bca",
}
_TAILS = ("two", "upper", "lower")

Index = tuple[np.ndarray, ...]


def _array(value: Any, name: str) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim < 2:
        raise InputError(f"{name} must have shape (num_runs, num_tasks, ...), got shape {arr.shape}")
    if arr.dtype.kind in "fc" and not np.isfinite(arr).all():
        raise InputError(
            f"{name} has {int((~np.isfinite(arr)).sum())} non-finite value(s)",
            hint="drop or impute the missing runs/tasks before computing statistics",
        )
    return arr


def _strata(shape: tuple[int, ...]) -> list[np.ndarray]:
    """Open-grid indices ``1 x M x 1 ..``, ``1 x 1 x L ..`` of every axis after the runs axis."""
    return list(np.ogrid[tuple(slice(n) for n in (0, *shape[1:]))])[1:]


_RUNLAB_DIR = str(Path(stats.__file__).resolve().parents[1]) + "/"


def _frames_to_user() -> int:
    """Frames between the calling function (0) and the first frame outside runlab: the user's
    line, which a warning should point at however deep in the compat layer it is raised."""
    frame, k = sys._getframe(1), 0
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_RUNLAB_DIR):
        frame, k = frame.f_back, k + 1
    return k


def _describe(func: Any) -> str:
    return getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or type(func).__name__


def _is_probability_of_improvement(func: Any) -> bool:
    if func is metrics.probability_of_improvement or func is stats.probability_of_improvement:
        return True
    return getattr(func, "__module__", None) == "rliable.metrics" and getattr(func, "__name__", "") == (
        "probability_of_improvement"
    )


class _Bootstrap:
    """What both bootstraps share: iteration, ``apply``/``cov``/``var`` and ``conf_int``."""

    _args: list[np.ndarray]
    _kwargs: dict[str, np.ndarray]
    _index: Any

    def __init__(self, args: tuple[Any, ...], kwargs: dict[str, Any], seed: Any, random_state: Any) -> None:
        if not args:
            raise InputError(
                f"{type(self).__name__} needs the scores as positional arguments, shape (num_runs, num_tasks, ...)"
            )
        self._args = [_array(a, f"argument {i}") for i, a in enumerate(args)]
        self._kwargs = {k: _array(v, f"argument {k!r}") for k, v in kwargs.items()}
        self._source = RandomSource(seed, random_state)
        for key, value in self._kwargs.items():
            if hasattr(type(self), key) or key in vars(self):
                raise InputError(
                    f"{key!r} is a reserved name of {type(self).__name__}", hint="rename the keyword"
                )
            setattr(self, key, value)
        self.pos_data: tuple[np.ndarray, ...] = tuple(self._args)
        self.kw_data: dict[str, np.ndarray] = dict(self._kwargs)
        self.data = (self.pos_data, self.kw_data)

    @property
    def index(self) -> Any:
        """The index of the current resample (see ``update_indices``)."""
        return self._index

    def update_indices(self) -> Any:
        raise NotImplementedError

    def _take(self, index: Any) -> tuple[tuple[np.ndarray, ...], dict[str, np.ndarray]]:
        raise NotImplementedError

    def _resample(self) -> tuple[tuple[np.ndarray, ...], dict[str, np.ndarray]]:
        pos, kw = self._take(self._index)
        for key, value in kw.items():
            setattr(self, key, value)
        self.pos_data, self.kw_data = pos, kw
        self.data = (pos, kw)
        return self.data

    def bootstrap(self, reps: int) -> Iterator[tuple[tuple[np.ndarray, ...], dict[str, np.ndarray]]]:
        """Yield ``reps`` resamples as ``(pos_data, kw_data)``, updating ``index`` and attributes."""
        for _ in range(int(reps)):
            self._index = self.update_indices()
            yield self._resample()

    def apply(
        self, func: Callable[..., Any], reps: int = 1000, extra_kwargs: dict[str, Any] | None = None
    ) -> np.ndarray:
        """``(reps, k)`` values of ``func(*pos_data, **kw_data, **extra_kwargs)`` on resamples."""
        extra = dict(extra_kwargs or {})
        rows = [
            np.atleast_1d(np.asarray(func(*pos, **kw, **extra), dtype=np.float64))
            for pos, kw in self.bootstrap(reps)
        ]
        return np.array(rows).reshape(int(reps), -1)

    def cov(
        self,
        func: Callable[..., Any],
        reps: int = 1000,
        recenter: bool = True,
        extra_kwargs: dict[str, Any] | None = None,
    ) -> np.ndarray:
        """Bootstrap covariance ``(k, k)`` of ``func``, centred on the bootstrap mean or the estimate."""
        results = self.apply(func, reps, extra_kwargs)
        base = self._base(func, extra_kwargs)
        errors = results - (results.mean(axis=0) if recenter else base)
        return errors.T @ errors / reps

    def var(
        self,
        func: Callable[..., Any],
        reps: int = 1000,
        recenter: bool = True,
        extra_kwargs: dict[str, Any] | None = None,
    ) -> np.ndarray:
        """Bootstrap variance ``(k,)`` of ``func``."""
        return np.diag(self.cov(func, reps, recenter, extra_kwargs))

    def _base(self, func: Callable[..., Any], extra_kwargs: dict[str, Any] | None) -> np.ndarray:
        return np.atleast_1d(
            np.asarray(func(*self._args, **self._kwargs, **(extra_kwargs or {})), dtype=np.float64)
        )

    def _jackknife(self, func: Callable[..., Any], extra: dict[str, Any]) -> np.ndarray:
        """Leave-one-run-out estimates ``(R, k)``: run ``i`` removed from every input, as arch does."""
        arrays = [*self._args, *self._kwargs.values()]
        runs = {a.shape[0] for a in arrays}
        if len(runs) != 1:
            raise InputError(
                "bca needs every input to have the same number of runs, got "
                + ", ".join(map(str, sorted(runs))),
                hint="use method='percentile' or 'bc'",
            )
        n = runs.pop()
        keys = list(self._kwargs)
        out = []
        for i in range(n):
            keep = np.r_[0:i, i + 1 : n]
            pos = [a[keep] for a in self._args]
            kw = {k: self._kwargs[k][keep] for k in keys}
            out.append(np.atleast_1d(np.asarray(func(*pos, **kw, **extra), dtype=np.float64)))
        return np.array(out)

    def _fast_interval(self, func: Any, reps: int, method: str, size: float) -> np.ndarray | None:
        """The interval from runlab's count engine, or ``None`` when ``func`` is not one it counts."""
        return None

    def conf_int(
        self,
        func: Callable[..., Any],
        reps: int = 1000,
        method: str = "basic",
        size: float = 0.95,
        tail: str = "two",
        extra_kwargs: dict[str, Any] | None = None,
        reuse: bool = False,
        sampling: str = "nonparametric",
        std_err_func: Callable[..., Any] | None = None,
        studentize_reps: int = 1000,
    ) -> np.ndarray:
        """Confidence interval ``(2, k)`` of ``func`` (arch's signature; row 0 lower, row 1 upper).

        Methods: ``percentile``, ``basic``, ``bc`` (also ``debiased``/``bias-corrected``) and
        ``bca``. ``reuse``, ``std_err_func`` and ``studentize_reps`` are accepted for
        compatibility; only ``sampling="nonparametric"`` exists for stratified resampling.
        """
        if method not in _METHODS:
            raise InputError(
                f"method must be one of {', '.join(_METHODS)}, got {method!r}",
                hint="rliable documents percentile, basic, bc and bca",
            )
        if tail not in _TAILS:
            raise InputError(f"tail must be one of {', '.join(_TAILS)}, got {tail!r}")
        if sampling != "nonparametric":
            raise InputError(f"sampling must be 'nonparametric' for a stratified bootstrap, got {sampling!r}")
        if not 0.0 < size < 1.0:
            raise InputError(f"size must be strictly between 0 and 1, got {size!r}", hint="e.g. 0.95")
        reps = int(reps)
        # a one-sided interval at `size` is one end of the two-sided interval at 2*size - 1
        confidence = size if tail == "two" else 2 * size - 1
        name = _METHODS[method]
        ci = None
        if not extra_kwargs and tail == "two":
            ci = self._fast_interval(func, reps, name, confidence)
        if ci is None:
            extra = dict(extra_kwargs or {})
            base = self._base(func, extra)
            results = self.apply(func, reps, extra)
            ci = stats.confidence_interval(
                results, base, name, confidence, lambda: self._jackknife(func, extra), _describe(func)
            )
        if tail == "lower":
            ci[1] = np.inf
        elif tail == "upper":
            ci[0] = -np.inf
        return ci


class StratifiedBootstrap(_Bootstrap):
    """Bootstrap with stratified resampling: runs resampled within each task (and tasks too with
    ``task_bootstrap``), as rliable's ``StratifiedBootstrap``.

    Inputs have shape ``(num_runs, num_tasks, ...)``; every input is indexed by the same index
    (``bs.index``: the run indices ``(num_runs, num_tasks, ...)``, then the task indices or the
    open grid of the task axis, then the open grids of the remaining axes). ``random_state``
    (a ``RandomState`` or int) or ``seed`` (an int or ``Generator``) fix the draws; by default
    they come from numpy's global RNG.
    """

    _name = "Stratified Bootstrap"

    def __init__(
        self,
        *args: Any,
        random_state: Any = None,
        task_bootstrap: bool = False,
        seed: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(args, kwargs, seed, random_state)
        self._args_shape = self._args[0].shape
        self._num_items = self._args_shape[0]
        for label, arr in [*enumerate(self._args), *self._kwargs.items()]:
            if arr.shape[: len(self._args_shape)] != self._args_shape:
                raise InputError(
                    f"argument {label!r} has shape {arr.shape}; every input of a StratifiedBootstrap must "
                    f"start with the first input's shape {self._args_shape}",
                    hint="use StratifiedIndependentBootstrap for inputs with different run counts",
                )
        self._num_tasks = self._args_shape[1]
        self._task_bootstrap = bool(task_bootstrap)
        self._parameters = [self._num_tasks, self._task_bootstrap]
        self._strata_indices = _strata(self._args_shape)
        self._index: Any = np.arange(self._num_items)

    def update_indices(self) -> Index:
        """Run indices ``(num_runs, num_tasks, ...)`` (one draw per cell), then the task/axis grids."""
        indices = self._source.choice(self._num_items, self._args_shape)
        if self._task_bootstrap:
            tasks = self._source.choice(self._num_tasks, self._strata_indices[0].shape)
            return (indices, tasks, *self._strata_indices[1:])
        return (indices, *self._strata_indices)

    def _take(self, index: Any) -> tuple[tuple[np.ndarray, ...], dict[str, np.ndarray]]:
        return tuple(a[index] for a in self._args), {k: v[index] for k, v in self._kwargs.items()}

    def _fast_interval(self, func: Any, reps: int, method: str, size: float) -> np.ndarray | None:
        if len(self._args) != 1 or self._kwargs:
            return None
        scores = self._args[0]
        user = _frames_to_user() + 1
        if scores.ndim > 3:
            if callable(func):
                warnings.warn(
                    f"func {_describe(func)} takes the slow path: runlab's count engine takes scores of shape "
                    f"(num_runs, num_tasks[, num_steps]), got {scores.shape}, so it is called once for each of "
                    f"the {reps} resamples",
                    stats.SlowPathWarning,
                    stacklevel=user,
                )
            return None
        found = stats.recognise(func, scores, reps=reps, stacklevel=user)
        if found is None:
            return None
        # rliable draws a run per (task, step) cell, so each step's resamples are a stratified
        # bootstrap of that step's (R, T) matrix: its interval is that matrix's interval
        ci = np.empty((2, sum(len(pos) for _, pos in found.values())))
        for step, (agg, positions) in found.items():
            matrix = scores if scores.ndim == 2 else scores[..., step]
            _, intervals = stats.interval_estimates(
                {"scores": matrix},
                agg,
                reps=reps,
                method=method,
                confidence=size,
                task_bootstrap=self._task_bootstrap,
                seed=self._source.generator(),
            )
            ci[:, positions] = intervals["scores"]
        return ci


class StratifiedIndependentBootstrap(_Bootstrap):
    """Stratified bootstrap in which every input is resampled independently, as rliable's
    ``StratifiedIndependentBootstrap`` (e.g. two methods' scores with different run counts).

    ``bs.index`` is ``(pos_indices, kw_indices)``: a list with one index tuple per positional
    input and a dict with one per keyword input, each as in :class:`StratifiedBootstrap`.
    """

    _name = "Stratified Independent Bootstrap"

    def __init__(self, *args: Any, random_state: Any = None, seed: Any = None, **kwargs: Any) -> None:
        super().__init__(args, kwargs, seed, random_state)
        self._args_shapes = [a.shape for a in self._args]
        self._kwargs_shapes = {k: v.shape for k, v in self._kwargs.items()}
        self._args_strata_indices = [_strata(s) for s in self._args_shapes]
        self._kwargs_strata_indices = {k: _strata(s) for k, s in self._kwargs_shapes.items()}
        self._index = (
            [np.arange(s[0]) for s in self._args_shapes],
            {k: np.arange(s[0]) for k, s in self._kwargs_shapes.items()},
        )

    def _indices(self, shape: tuple[int, ...], strata: list[np.ndarray]) -> Index:
        return (self._source.choice(shape[0], shape), *strata)

    def update_indices(self) -> tuple[list[Index], dict[str, Index]]:
        """One index tuple per input, drawn independently (positional inputs first, in order)."""
        pos = [self._indices(s, g) for s, g in zip(self._args_shapes, self._args_strata_indices, strict=True)]
        kw = {k: self._indices(self._kwargs_shapes[k], self._kwargs_strata_indices[k]) for k in self._kwargs}
        return pos, kw

    def _take(self, index: Any) -> tuple[tuple[np.ndarray, ...], dict[str, np.ndarray]]:
        pos_index, kw_index = index
        pos = tuple(a[i] for a, i in zip(self._args, pos_index, strict=True))
        return pos, {k: v[kw_index[k]] for k, v in self._kwargs.items()}

    def _fast_interval(self, func: Any, reps: int, method: str, size: float) -> np.ndarray | None:
        if len(self._args) != 2 or self._kwargs or not _is_probability_of_improvement(func):
            return None
        x, y = self._args
        if x.ndim != 2 or y.ndim != 2:
            return None
        _, intervals = stats.probability_of_improvement_intervals(
            {"x": x, "y": y},
            [("x", "y")],
            reps=reps,
            method=method,
            confidence=size,
            seed=self._source.generator(),
        )
        return intervals[("x", "y")].reshape(2, 1)
