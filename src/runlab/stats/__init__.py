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
from runlab.stats._intervals import CI_METHODS, interval_estimates
from runlab.stats._normalize import Direction, normalize_score_dict, normalize_scores, orient
from runlab.stats._profiles import performance_profile
from runlab.stats._significance import (
    CORRECTIONS,
    TESTS,
    PairwiseResult,
    TestResult,
    correct_pvalues,
    mann_whitney,
    pairwise_tests,
    permutation_test,
    welch_t,
    wilcoxon_signed_rank,
)
from runlab.stats.frame import (
    CompareResult,
    IncompleteDataWarning,
    MissingReport,
    Profile,
    ScoreMatrix,
    compare,
    from_score_dict,
    score_matrix,
)

__all__ = [
    "AGGREGATE_NAMES",
    "CI_METHODS",
    "CORRECTIONS",
    "TESTS",
    "AggregateFunc",
    "CompareResult",
    "Direction",
    "IncompleteDataWarning",
    "MissingReport",
    "PairwiseResult",
    "Profile",
    "SampleSizeWarning",
    "ScoreMatrix",
    "TestResult",
    "aggregate_func",
    "check_sample_size",
    "compare",
    "correct_pvalues",
    "from_score_dict",
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
    "sample_efficiency",
    "score_matrix",
    "trimmed_mean",
    "validate_score_dict",
    "validate_scores",
    "welch_t",
    "wilcoxon_signed_rank",
]
