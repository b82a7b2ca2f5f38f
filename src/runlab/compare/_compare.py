"""A comparison of the methods of a score matrix: estimates with CIs, improvement, tests, profile.

:func:`compare` turns a :class:`~runlab.compare.ScoreMatrix` (or an rliable score dict) into one
:class:`CompareResult`, which the CLI, the plots and every report format read. All statistics are
:mod:`runlab.stats` calls on the matrix's NaN-free part; what was left out becomes a note.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from runlab import stats
from runlab.compare._matrix import IncompleteDataWarning, ScoreMatrix, from_score_dict
from runlab.errors import InputError
from runlab.stats import AGGREGATES, CORRECTION_ALIASES, CORRECTIONS, TESTS, SampleSizeWarning, choice

_AGG_LABEL = {"median": "Median", "iqm": "IQM", "mean": "Mean", "optimality_gap": "Optimality Gap"}


@dataclass(frozen=True)
class Profile:
    """A performance profile: fraction of runs above each threshold, per method, with CI bands."""

    taus: np.ndarray
    points: dict[str, np.ndarray]
    """method -> (len(taus),)"""
    intervals: dict[str, np.ndarray]
    """method -> (2, len(taus)) lower/upper"""


@dataclass(frozen=True)
class CompareResult:
    """Everything a comparison produced; the CLI table, plots, HTML, LaTeX and CSV all read this.

    ``estimates``: method, aggregate, estimate, lower, upper, n_runs, n_tasks.
    ``improvement``: method_x, method_y, probability (P(X > Y), oriented so that better wins),
    lower, upper. ``tests``: method_x, method_y, test, variant, statistic, p_value, p_adjusted,
    reject, n_x, n_y (``p_adjusted`` corrected with ``correction`` over the pairs of each test).
    """

    matrix: ScoreMatrix
    score_dict: dict[str, np.ndarray]
    """The NaN-free part of the matrix every statistic used (see :meth:`ScoreMatrix.rectangular`)."""
    tasks: list[str]
    estimates: pd.DataFrame
    improvement: pd.DataFrame
    tests: pd.DataFrame
    profile: Profile | None
    settings: dict[str, Any]
    notes: list[str]
    """Data left out and small-sample caveats, in words."""

    def estimate(self, method: str, aggregate: str = "IQM") -> tuple[float, float, float]:
        """(estimate, lower, upper) of one method and aggregate label (``IQM``, ``Mean`` ...)."""
        row = self.estimates[
            (self.estimates["method"] == method) & (self.estimates["aggregate"] == aggregate)
        ]
        if row.empty:
            raise InputError(f"no estimate for method {method!r} and aggregate {aggregate!r}")
        r = row.iloc[0]
        return float(r["estimate"]), float(r["lower"]), float(r["upper"])


def compare(
    data: ScoreMatrix | Mapping[str, Any],
    *,
    aggregates: Sequence[str] = AGGREGATES,
    trim: float = 0.25,
    reps: int = 2000,
    confidence: float = 0.95,
    ci_method: str = "percentile",
    task_bootstrap: bool = False,
    tests: Sequence[str] = ("welch_t", "mann_whitney"),
    correction: str = "holm",
    alpha: float = 0.05,
    profile_points: int = 101,
    seed: int | np.random.Generator | None = 0,
) -> CompareResult:
    """Compare the methods of a score matrix (or an rliable score dict): estimates, PoI, tests.

    Aggregates are bootstrapped with the stratified bootstrap of :func:`runlab.stats.interval_estimates`
    (``reps`` resamples, ``confidence`` level); ``trim`` is the fraction cut from each end for the
    IQM (0.25 is the interquartile mean). The optimality gap is computed only for normalised
    matrices (it needs 1 = optimal). Significance tests compare each pair of methods on the
    per-run mean over tasks (one sample per run slot) and are corrected for multiple comparisons.
    Tasks missing for some methods and unequal run counts are left out *with a note*.
    """
    matrix = data if isinstance(data, ScoreMatrix) else from_score_dict(data)
    correction = choice("correction", correction, CORRECTIONS, CORRECTION_ALIASES)
    _check_settings(aggregates, trim, reps, confidence, tests, correction, alpha)
    rng = np.random.default_rng(seed)
    score_dict, tasks, notes = matrix.rectangular()
    if notes:
        warnings.warn("; ".join(notes), IncompleteDataWarning, stacklevel=2)
    aggs = [a for a in aggregates if a != "optimality_gap" or matrix.normalize not in (None, "zscore")]
    with warnings.catch_warnings():
        # Small-sample caveats go into ``notes`` once instead of one warning per statistic.
        warnings.simplefilter("ignore", SampleSizeWarning)
        notes = list(notes) + _sample_size_notes(score_dict) + [
            f"method {m!r} has a single run per task: its point estimates are shown, but its intervals, "
            "tests and improvement intervals are unavailable (a bootstrap needs at least 2 runs per task)"
            for m in _thin(score_dict)
        ]
        if len(aggs) < len(aggregates):
            notes.append("optimality gap left out: it needs scores normalised to 1 = optimal")
        estimates = _estimates(
            score_dict, aggs, trim, reps, confidence, ci_method, task_bootstrap, _child(rng)
        )
        oriented = matrix.oriented(score_dict)
        improvement = _improvement(oriented, reps, confidence, _child(rng))
        table = _tests(oriented, tests, correction, alpha, _child(rng))
        profile = _profile(matrix, score_dict, profile_points, reps, confidence, _child(rng))
    settings = {
        **{k: getattr(matrix, k) for k in ("metric", "group_by", "task_by", "reducer", "direction", "normalize")},
        "aggregates": aggs, "trim": trim, "reps": reps, "confidence": confidence, "ci_method": ci_method,
        "task_bootstrap": task_bootstrap, "tests": list(tests), "correction": correction, "alpha": alpha,
    }
    return CompareResult(matrix, score_dict, tasks, estimates, improvement, table, profile, settings, notes)


def _child(rng: np.random.Generator) -> int:
    """An independent integer seed for one step, so that steps do not share random streams."""
    return int(rng.integers(0, 2**62))


def _check_settings(
    aggregates: Sequence[str],
    trim: float,
    reps: int,
    confidence: float,
    tests: Sequence[str],
    correction: str,
    alpha: float,
) -> None:
    for a in aggregates:
        choice("aggregate", a, AGGREGATES)
    for t in tests:
        choice("test", t, TESTS)
    if not 0.0 <= trim < 0.5:
        raise InputError(f"trim (iqm_trim_percentage) must be in [0, 0.5), got {trim!r}")
    if not isinstance(reps, int | np.integer) or reps < 1:
        raise InputError(f"reps (bootstrap_samples) must be a positive integer, got {reps!r}")
    if not 0.0 < confidence < 1.0:
        raise InputError(f"confidence (confidence_level) must be in (0, 1), got {confidence!r}")
    if not 0.0 < alpha < 1.0:
        raise InputError(f"alpha must be in (0, 1), got {alpha!r}")


def _sample_size_notes(score_dict: Mapping[str, np.ndarray]) -> list[str]:
    return [line for m, s in score_dict.items() for line in stats.check_sample_size(s, f"method {m!r}")]


def _aggregate_fn(names: Sequence[str], trim: float) -> Any:
    """The bootstrap's vectorised multi-aggregate; the IQM becomes a trimmed mean when trim != 0.25."""
    parts = ["trimmed_mean" if n == "iqm" and trim != 0.25 else n for n in names]
    return stats.aggregate_func(*parts, trim=trim)


def _thin(score_dict: Mapping[str, np.ndarray]) -> list[str]:
    """Methods with a single run per task: they get point estimates, never a bootstrap interval."""
    return [m for m, s in score_dict.items() if s.shape[0] < 2]


def _estimates(
    score_dict: dict[str, np.ndarray],
    aggs: Sequence[str],
    trim: float,
    reps: int,
    confidence: float,
    ci_method: str,
    task_bootstrap: bool,
    seed: int,
) -> pd.DataFrame:
    fn = _aggregate_fn(aggs, trim)
    thin = _thin(score_dict)
    boot = {m: s for m, s in score_dict.items() if m not in thin}
    points: dict[str, Any] = {}
    intervals: dict[str, Any] = {}
    if boot:
        points, intervals = stats.interval_estimates(
            boot, fn, reps=reps, method=ci_method, confidence=confidence, task_bootstrap=task_bootstrap, seed=seed
        )
    for m in thin:
        points[m] = fn(score_dict[m])
        intervals[m] = np.full((2, len(aggs)), np.nan)
    rows = []
    for m, s in score_dict.items():
        p = np.atleast_1d(np.asarray(points[m], dtype=float))
        ci = np.asarray(intervals[m], dtype=float).reshape(2, -1)
        for k, name in enumerate(aggs):
            label = _AGG_LABEL[name] if name != "iqm" or trim == 0.25 else f"Trimmed mean ({trim:g})"
            rows.append((m, label, p[k], ci[0, k], ci[1, k], s.shape[0], s.shape[1]))
    return pd.DataFrame(
        rows, columns=["method", "aggregate", "estimate", "lower", "upper", "n_runs", "n_tasks"]
    )


def _improvement(oriented: dict[str, np.ndarray], reps: int, confidence: float, seed: int) -> pd.DataFrame:
    """P(X > Y) for every ordered pair; pairs with a single-run method get the point, no interval."""
    cols = ["method_x", "method_y", "probability", "lower", "upper"]
    if len(oriented) < 2:
        return pd.DataFrame(columns=cols)
    thin = _thin(oriented)
    boot = {m: s for m, s in oriented.items() if m not in thin}
    points: dict[tuple[str, str], float] = {}
    intervals: dict[tuple[str, str], Any] = {}
    if len(boot) >= 2:
        points, intervals = stats.probability_of_improvement_intervals(boot, reps=reps, confidence=confidence,
                                                                       seed=seed)
    names = list(oriented)
    rows = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if (a, b) in points:
                rows.append((a, b, points[(a, b)], *np.asarray(intervals[(a, b)], dtype=float).ravel()[:2]))
            else:
                p = stats.probability_of_improvement(oriented[a], oriented[b])
                rows.append((a, b, float(p), np.nan, np.nan))
    return pd.DataFrame(rows, columns=cols)


def _profile(
    matrix: ScoreMatrix,
    score_dict: dict[str, np.ndarray],
    points: int,
    reps: int,
    confidence: float,
    seed: int,
) -> Profile | None:
    """Run-score profile over an even grid spanning the observed (oriented) scores."""
    if points < 2:
        return None
    oriented = matrix.oriented(score_dict)
    allv = np.concatenate([s.ravel() for s in oriented.values()])
    lo, hi = float(allv.min()), float(allv.max())
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    taus = np.linspace(lo, hi, points)
    thin = _thin(oriented)
    boot = {m: s for m, s in oriented.items() if m not in thin}
    prof: dict[str, Any] = {}
    ci: dict[str, Any] = {}
    if boot:
        prof, ci = stats.performance_profile(boot, taus, reps=reps, confidence=confidence, seed=seed)
    for m in thin:  # the fraction of its runs above each threshold, without bands
        prof[m] = (oriented[m].ravel()[None, :] > taus[:, None]).mean(axis=1)
        ci[m] = np.full((2, len(taus)), np.nan)
    sign = 1.0 if matrix.higher_is_better else -1.0
    return Profile(
        taus=sign * taus,
        points={m: np.asarray(prof[m], dtype=float) for m in oriented},
        intervals={m: np.asarray(ci[m], dtype=float).reshape(2, -1) for m in oriented},
    )


def _tests(
    oriented: dict[str, np.ndarray], tests: Sequence[str], correction: str, alpha: float, seed: int
) -> pd.DataFrame:
    """Every test on every pair (per-run means over tasks), corrected within each test's family."""
    cols = [
        "method_x",
        "method_y",
        "test",
        "variant",
        "statistic",
        "p_value",
        "p_adjusted",
        "reject",
        "n_x",
        "n_y",
    ]
    testable = {m: s for m, s in oriented.items() if m not in _thin(oriented)}
    if len(testable) < 2:
        return pd.DataFrame(columns=cols)
    oriented = testable
    rows = []
    for k, test in enumerate(tests):
        for r in stats.pairwise_tests(oriented, test=test, correction=correction, alpha=alpha, seed=seed + k):
            t = r.result
            rows.append(
                (r.a, r.b, test, t.variant, t.statistic, t.pvalue, r.pvalue_adjusted, r.reject, t.n_x, t.n_y)
            )
    return pd.DataFrame(rows, columns=cols)
