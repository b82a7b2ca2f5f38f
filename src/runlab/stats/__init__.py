"""Reliable statistics for comparing RL methods over tasks and runs (Agarwal et al., 2021).

Pure functions over arrays. The input convention is rliable's: ``scores`` is an
``ndarray(num_runs, num_tasks)`` and a *score dict* maps a method name to its scores.
Point estimates equal rliable's; interval estimates come from a vectorised stratified
bootstrap (runs resampled with replacement within each task) seeded through
:class:`numpy.random.Generator`, so the same seed gives the same intervals anywhere.

Every function that resamples takes ``seed`` (an ``int``, a ``Generator`` or ``None``).
Bad input (NaN/inf, mismatched task counts, a single run, an empty array) raises
:class:`runlab.errors.InputError`; small samples emit :class:`SampleSizeWarning`.
"""

from runlab.stats._aggregates import (
    AGGREGATE_NAMES,
    AggregateFunc,
    aggregate_func,
    iqm,
    mean,
    median,
    optimality_gap,
    probability_of_improvement,
    trimmed_mean,
)
from runlab.stats._checks import SampleSizeWarning, check_sample_size, validate_score_dict, validate_scores
from runlab.stats._efficiency import sample_efficiency
from runlab.stats._improvement import probability_of_improvement_intervals
from runlab.stats._intervals import CI_METHODS, confidence_interval, interval_estimates
from runlab.stats._normalize import normalize_score_dict, normalize_scores, orient
from runlab.stats._profiles import performance_profile
from runlab.stats._recognise import SlowPathWarning, recognise
from runlab.stats._significance import (
    PairwiseResult,
    TestResult,
    correct_pvalues,
    mann_whitney,
    pairwise_tests,
    permutation_test,
    welch_t,
    wilcoxon_signed_rank,
)
from runlab.stats._vocab import (
    AGGREGATES,
    CORRECTION_ALIASES,
    CORRECTIONS,
    CURVE_AGGREGATES,
    DIRECTIONS,
    NORMALIZATION_ALIASES,
    NORMALIZATIONS,
    REDUCERS,
    TESTS,
    Aggregate,
    Correction,
    CurveAggregate,
    Direction,
    Normalization,
    Reducer,
    Test,
    choice,
)

__all__ = [
    "AGGREGATES",
    "AGGREGATE_NAMES",
    "CI_METHODS",
    "CORRECTIONS",
    "CORRECTION_ALIASES",
    "CURVE_AGGREGATES",
    "DIRECTIONS",
    "NORMALIZATIONS",
    "NORMALIZATION_ALIASES",
    "REDUCERS",
    "TESTS",
    "Aggregate",
    "AggregateFunc",
    "Correction",
    "CurveAggregate",
    "Direction",
    "Normalization",
    "PairwiseResult",
    "Reducer",
    "SampleSizeWarning",
    "SlowPathWarning",
    "Test",
    "TestResult",
    "aggregate_func",
    "check_sample_size",
    "choice",
    "confidence_interval",
    "correct_pvalues",
    "interval_estimates",
    "iqm",
    "mann_whitney",
    "mean",
    "median",
    "normalize_score_dict",
    "normalize_scores",
    "optimality_gap",
    "orient",
    "pairwise_tests",
    "performance_profile",
    "permutation_test",
    "probability_of_improvement",
    "probability_of_improvement_intervals",
    "recognise",
    "sample_efficiency",
    "trimmed_mean",
    "validate_score_dict",
    "validate_scores",
    "welch_t",
    "wilcoxon_signed_rank",
]
