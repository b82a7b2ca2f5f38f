"""Significance tests between methods and multiple-comparison corrections.

Thin, validated wrappers over :mod:`scipy.stats` and :mod:`statsmodels.stats.multitest` (no
re-derivations): they refuse bad samples with a clear message, warn on small samples and
record which variant (exact or asymptotic) was used so a report can say so.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
import scipy.stats

from runlab.errors import InputError
from runlab.stats._checks import MIN_RUNS, SampleSizeWarning, SeedLike, spawn_generators, validate_score_dict
from runlab.stats._vocab import CORRECTION_ALIASES, CORRECTIONS, TESTS, choice

_ALTERNATIVES = ("two-sided", "greater", "less")


@dataclass(frozen=True)
class TestResult:
    """One test of sample x against sample y (``alternative`` is about x relative to y)."""

    __test__ = False  # not a pytest test class

    test: str
    statistic: float
    pvalue: float
    alternative: str
    n_x: int
    n_y: int
    variant: str
    """How the p-value was obtained: ``exact``, ``asymptotic``, ``welch`` or ``permutation(n)``."""
    warnings: tuple[str, ...] = ()


def _sample(values: Any, name: str, min_n: int = 2) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise InputError(f"{name} must be a 1-d sample, got shape {arr.shape}")
    if arr.size < min_n:
        raise InputError(f"{name} must have at least {min_n} values, got {arr.size}")
    if not np.isfinite(arr).all():
        raise InputError(f"{name} has non-finite values", hint="drop or impute them first")
    return arr


def _small(x: np.ndarray, y: np.ndarray, exact_hint: str) -> tuple[str, ...]:
    n = min(x.size, y.size)
    if n >= MIN_RUNS:
        return ()
    msg = f"only {n} value(s) in the smaller sample (< {MIN_RUNS}); {exact_hint}"
    warnings.warn(msg, SampleSizeWarning, stacklevel=3)
    return (msg,)


def _check_alternative(alternative: str) -> None:
    if alternative not in _ALTERNATIVES:
        raise InputError(f"alternative must be one of {', '.join(_ALTERNATIVES)}, got {alternative!r}")


def welch_t(x: Any, y: Any, alternative: str = "two-sided") -> TestResult:
    """Welch's unequal-variance t-test (:func:`scipy.stats.ttest_ind`, ``equal_var=False``)."""
    _check_alternative(alternative)
    xs, ys = _sample(x, "x"), _sample(y, "y")
    if np.ptp(xs) == 0 and np.ptp(ys) == 0:
        raise InputError("welch_t is undefined when both samples are constant", hint="use mann_whitney")
    notes = _small(xs, ys, "the t-test leans on normality; prefer permutation_test")
    res = scipy.stats.ttest_ind(xs, ys, equal_var=False, alternative=alternative)
    return TestResult(
        "welch_t", float(res.statistic), float(res.pvalue), alternative, xs.size, ys.size, "welch", notes
    )


def mann_whitney(x: Any, y: Any, alternative: str = "two-sided", method: str = "auto") -> TestResult:
    """Mann-Whitney U (:func:`scipy.stats.mannwhitneyu`); ``method="exact"`` for small samples.

    ``statistic`` is U of x; ``U / (n_x n_y)`` is the probability of improvement of x over y.
    """
    _check_alternative(alternative)
    xs, ys = _sample(x, "x", 1), _sample(y, "y", 1)
    notes = _small(xs, ys, "use method='exact'") if method != "exact" else ()
    res = scipy.stats.mannwhitneyu(xs, ys, alternative=alternative, method=method)
    variant = method
    if method == "auto":
        ties = np.unique(np.concatenate([xs, ys])).size < xs.size + ys.size
        variant = "exact" if max(xs.size, ys.size) <= 8 and not ties else "asymptotic"
    return TestResult(
        "mann_whitney", float(res.statistic), float(res.pvalue), alternative, xs.size, ys.size, variant, notes
    )


def wilcoxon_signed_rank(x: Any, y: Any, alternative: str = "two-sided", method: str = "auto") -> TestResult:
    """Wilcoxon signed-rank test on paired samples (run i of x with run i of y, e.g. same seed)."""
    _check_alternative(alternative)
    xs, ys = _sample(x, "x"), _sample(y, "y")
    if xs.size != ys.size:
        raise InputError(
            f"wilcoxon_signed_rank needs paired samples of equal length, got {xs.size} and {ys.size}",
            hint="pair runs by seed, or use mann_whitney for unpaired samples",
        )
    if np.all(xs == ys):
        raise InputError("wilcoxon_signed_rank is undefined when every paired difference is zero")
    notes = _small(xs, ys, "use method='exact'") if method != "exact" else ()
    res = scipy.stats.wilcoxon(xs, ys, alternative=alternative, method=method)
    variant = (
        method if method != "auto" else ("exact" if xs.size <= 50 and 0 not in (xs - ys) else "asymptotic")
    )
    return TestResult(
        "wilcoxon", float(res.statistic), float(res.pvalue), alternative, xs.size, ys.size, variant, notes
    )


def _mean_difference(x: np.ndarray, y: np.ndarray, axis: int) -> np.ndarray:
    return np.mean(x, axis=axis) - np.mean(y, axis=axis)


def permutation_test(
    x: Any,
    y: Any,
    alternative: str = "two-sided",
    n_resamples: int = 9999,
    paired: bool = False,
    seed: SeedLike = None,
) -> TestResult:
    """Permutation test of the difference in means (:func:`scipy.stats.permutation_test`).

    Exact (every permutation enumerated) whenever there are no more than ``n_resamples`` of
    them, which is the case for small samples. ``paired`` permutes within pairs.
    """
    _check_alternative(alternative)
    xs, ys = _sample(x, "x"), _sample(y, "y")
    if paired and xs.size != ys.size:
        raise InputError(f"paired permutation_test needs equal lengths, got {xs.size} and {ys.size}")
    rng = spawn_generators(seed, 1)[0]
    res = scipy.stats.permutation_test(
        (xs, ys),
        _mean_difference,
        permutation_type="samples" if paired else "independent",
        vectorized=True,
        n_resamples=n_resamples,
        alternative=alternative,
        rng=rng,
    )
    total = 2.0**xs.size if paired else float(scipy.special.comb(xs.size + ys.size, xs.size))
    variant = "exact" if total <= n_resamples else f"permutation({n_resamples})"
    return TestResult(
        "permutation", float(res.statistic), float(res.pvalue), alternative, xs.size, ys.size, variant
    )


def correct_pvalues(
    pvalues: Sequence[float] | np.ndarray, method: str = "holm", alpha: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """``(reject, adjusted)`` for a family of p-values: ``bonferroni``, ``holm``, ``fdr_bh`` (``bh``)
    or ``none``, via :func:`statsmodels.stats.multitest.multipletests`."""
    method = choice("correction", method, CORRECTIONS, CORRECTION_ALIASES)
    p = np.asarray(pvalues, dtype=np.float64).ravel()
    if p.size == 0:
        return np.zeros(0, dtype=bool), p
    if not np.all((p >= 0) & (p <= 1)):
        raise InputError(f"pvalues must lie in [0, 1], got {p[~((p >= 0) & (p <= 1))][:3]}")
    if not 0 < alpha < 1:
        raise InputError(f"alpha must be strictly between 0 and 1, got {alpha!r}")
    if method == "none":
        return p <= alpha, p
    # statsmodels pulls in pandas: imported here so that ``import runlab.stats`` stays arrays-only.
    from statsmodels.stats.multitest import multipletests

    reject, adjusted, _, _ = multipletests(p, alpha=alpha, method=method)
    return reject, adjusted


@dataclass(frozen=True)
class PairwiseResult:
    """Method ``a`` against method ``b`` on per-run scores (mean over tasks per run)."""

    a: str
    b: str
    mean_a: float
    mean_b: float
    result: TestResult
    pvalue_adjusted: float
    reject: bool


def pairwise_tests(
    score_dict: Mapping[str, Any],
    test: str = "mann_whitney",
    correction: str = "holm",
    pairs: Sequence[tuple[str, str]] | None = None,
    alpha: float = 0.05,
    seed: SeedLike = None,
) -> list[PairwiseResult]:
    """Test every pair of methods and correct the family of p-values.

    Each run is reduced to its mean score over tasks (runs are the independent units -- seeds);
    ``wilcoxon`` and paired permutation pair run ``i`` of ``a`` with run ``i`` of ``b``.
    """
    test = choice("test", test, TESTS)
    correction = choice("correction", correction, CORRECTIONS, CORRECTION_ALIASES)
    scores = validate_score_dict(score_dict, same_tasks=True)
    per_run = {k: v.mean(axis=1) for k, v in scores.items()}
    pair_list = list(combinations(scores, 2)) if pairs is None else [tuple(p) for p in pairs]
    rngs = spawn_generators(seed, max(1, len(pair_list)))
    results = []
    for (a, b), rng in zip(pair_list, rngs, strict=False):
        if a not in per_run or b not in per_run:
            raise InputError(
                f"each pair must name two methods of score_dict ({', '.join(per_run)}), got {(a, b)!r}"
            )
        x, y = per_run[a], per_run[b]
        if test == "welch_t":
            results.append(welch_t(x, y))
        elif test == "mann_whitney":
            results.append(mann_whitney(x, y))
        elif test == "wilcoxon":
            results.append(wilcoxon_signed_rank(x, y))
        else:
            results.append(permutation_test(x, y, seed=rng))
    reject, adjusted = correct_pvalues([r.pvalue for r in results], correction, alpha)
    return [
        PairwiseResult(a, b, float(per_run[a].mean()), float(per_run[b].mean()), r, float(adj), bool(rej))
        for (a, b), r, adj, rej in zip(pair_list, results, adjusted, reject, strict=True)
    ]
