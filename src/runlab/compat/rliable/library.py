"""rliable 1.2's ``rliable.library``: interval estimates, performance profiles, stratified bootstraps.

Same signatures, defaults, return types and shapes as rliable, plus a keyword-only ``seed``.
``score_dict`` values are ``ndarray(num_runs, num_tasks, ...)`` (a :class:`StratifiedBootstrap`
per method) or a list of arrays passed to ``func`` as separate arguments (a
:class:`StratifiedIndependentBootstrap`, e.g. ``{"x,y": [scores_x, scores_y]}`` with
``metrics.probability_of_improvement``). Statistics runlab recognises run on its count engine;
see :mod:`runlab.compat.rliable`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from runlab import stats
from runlab.compat.rliable._bootstrap import StratifiedBootstrap, StratifiedIndependentBootstrap
from runlab.compat.rliable._random import RandomSource
from runlab.errors import InputError

Float = float | np.float32 | np.float64


def _check_dict(score_dict: Any) -> None:
    if not isinstance(score_dict, Mapping) or not score_dict:
        raise InputError(
            f"score_dict must be a non-empty mapping method -> ndarray(num_runs, num_tasks), got {score_dict!r:.80}"
        )


def get_interval_estimates(
    score_dict: Mapping[str, np.ndarray] | Mapping[str, list[np.ndarray]],
    func: Callable[..., np.ndarray],
    method: str = "percentile",
    task_bootstrap: bool = False,
    reps: int = 50000,
    confidence_interval_size: Float = 0.95,
    random_state: np.random.RandomState | None = None,
    *,
    seed: int | np.random.Generator | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Point estimates ``func(scores)`` and stratified-bootstrap confidence intervals per key.

    ``method``: ``percentile``, ``basic``, ``bc`` or ``bca``. ``intervals[key]`` has shape
    ``(2, k)`` (row 0 lower, row 1 upper), ``k`` the length of ``func``'s output (1 for a
    scalar). A list value is passed to ``func`` as separate arguments and each array is
    resampled independently (``task_bootstrap`` does not apply, as in rliable). Draws come from
    ``seed``, else ``random_state``, else numpy's global RNG.
    """
    _check_dict(score_dict)
    return _interval_estimates(
        score_dict,
        func,
        method,
        task_bootstrap,
        reps,
        confidence_interval_size,
        RandomSource(seed, random_state),
    )


def _interval_estimates(
    score_dict: Mapping[str, Any],
    func: Callable[..., Any],
    method: str,
    task_bootstrap: bool,
    reps: int,
    size: Float,
    source: RandomSource,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    points: dict[str, np.ndarray] = {}
    intervals: dict[str, np.ndarray] = {}
    for key, scores in score_dict.items():
        bs: StratifiedBootstrap | StratifiedIndependentBootstrap
        if isinstance(scores, np.ndarray):
            bs = StratifiedBootstrap(scores, task_bootstrap=task_bootstrap)
            points[key] = func(scores)
        else:
            bs = StratifiedIndependentBootstrap(*scores)
            points[key] = func(*scores)
        bs._source = source  # one stream for the whole call, as rliable's global RNG
        intervals[key] = bs.conf_int(func, reps=reps, size=size, method=method)
    return points, intervals


def run_score_deviation(scores: np.ndarray, tau: Float) -> Any:
    """Fraction of all run x task scores strictly above ``tau``."""
    return np.mean(np.asarray(scores) > tau)


def mean_score_deviation(scores: np.ndarray, tau: Float) -> Any:
    """Fraction of per-task mean scores strictly above ``tau``."""
    return np.mean(np.mean(scores, axis=0) > tau)


def _deviations(pool: np.ndarray, tau_list: Any) -> np.ndarray:
    """Fraction of ``pool`` strictly above each tau, in the shape of ``tau_list`` (np.vectorize's)."""
    taus = np.asarray(tau_list, dtype=np.float64)
    flat = pool.ravel()
    return (flat[:, None] > taus.ravel()[None, :]).mean(axis=0).reshape(taus.shape)


def score_distributions(scores: np.ndarray, tau_list: Any) -> np.ndarray:
    """Score distribution: :func:`run_score_deviation` at every tau of ``tau_list``."""
    return _deviations(np.asarray(scores), tau_list)


def average_score_distributions(scores: np.ndarray, tau_list: Any) -> np.ndarray:
    """Average-score distribution: :func:`mean_score_deviation` at every tau of ``tau_list``."""
    return _deviations(np.mean(scores, axis=0), tau_list)


#: Profile functions that are runlab's performance profiles ("run" or "average" kind).
_PROFILE_KINDS: dict[Any, str] = {score_distributions: "run", average_score_distributions: "average"}


#: rliable's own profile functions: ``np.vectorize`` objects over these deviation functions.
_RLIABLE_DEVIATIONS = {"run_score_deviation": "run", "mean_score_deviation": "average"}


def _profile_kind(use_score_distribution: bool, custom: Callable[..., Any] | None) -> str | None:
    """The runlab profile kind a profile function is ("run"/"average"), or None for another one."""
    if custom is None:
        return "run" if use_score_distribution else "average"
    if custom in _PROFILE_KINDS:
        return _PROFILE_KINDS[custom]
    inner = getattr(custom, "pyfunc", None)  # rliable.library.score_distributions is np.vectorize
    if getattr(inner, "__module__", None) == "rliable.library":
        return _RLIABLE_DEVIATIONS.get(getattr(inner, "__name__", ""))
    return None


def create_performance_profile(
    score_dict: Mapping[str, np.ndarray],
    tau_list: list[Float] | np.ndarray,
    use_score_distribution: bool = True,
    custom_profile_func: Callable[..., np.ndarray] | None = None,
    method: str = "percentile",
    task_bootstrap: bool = False,
    reps: int = 2000,
    confidence_interval_size: Float = 0.95,
    *,
    seed: int | np.random.Generator | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Performance profiles (fraction of scores above each tau) with bootstrap bands.

    ``use_score_distribution``: over all run x task scores (default) or over per-task mean
    scores. ``custom_profile_func(scores, tau_list)`` computes another profile (called once per
    resample unless it is :func:`score_distributions` / :func:`average_score_distributions`).
    Returns ``profiles[key]`` of shape ``(len(tau_list),)`` and ``profile_cis[key]`` of shape
    ``(2, len(tau_list))``.
    """
    _check_dict(score_dict)
    kind = _profile_kind(use_score_distribution, custom_profile_func)
    source = RandomSource(seed)
    profiles: dict[str, np.ndarray] = {}
    cis: dict[str, np.ndarray] = {}
    for key, scores in score_dict.items():
        arr = np.asarray(scores)
        if kind is not None and arr.ndim == 2:
            p, ci = stats.performance_profile(
                {"scores": arr},
                np.asarray(tau_list, dtype=np.float64),
                reps=reps,
                kind=kind,
                method=method,
                confidence=confidence_interval_size,
                task_bootstrap=task_bootstrap,
                seed=source.generator(),
            )
            profiles[key], cis[key] = p["scores"], ci["scores"]
            continue
        if custom_profile_func is None:
            fn = score_distributions if use_score_distribution else average_score_distributions
        else:
            fn = custom_profile_func

        def profile_function(s: np.ndarray, fn: Callable[..., Any] = fn) -> np.ndarray:
            return fn(s, tau_list)

        p_one, ci_one = _interval_estimates(
            {key: scores}, profile_function, method, task_bootstrap, reps, confidence_interval_size, source
        )
        profiles[key], cis[key] = p_one[key], ci_one[key]
    return profiles, cis


__all__ = [
    "Float",
    "StratifiedBootstrap",
    "StratifiedIndependentBootstrap",
    "average_score_distributions",
    "create_performance_profile",
    "get_interval_estimates",
    "mean_score_deviation",
    "run_score_deviation",
    "score_distributions",
]
