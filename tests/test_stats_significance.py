"""Significance tests equal scipy's, corrections equal statsmodels', normalisation is explicit."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.stats
from statsmodels.stats.multitest import multipletests

from runlab import stats
from runlab.errors import InputError

RNG = np.random.default_rng(0)
X = RNG.normal(0.0, 1.0, 12)
Y = RNG.normal(0.8, 1.5, 12)


def test_tests_equal_scipy() -> None:
    r = stats.welch_t(X, Y)
    ref = scipy.stats.ttest_ind(X, Y, equal_var=False)
    assert (r.statistic, r.pvalue) == pytest.approx((ref.statistic, ref.pvalue), rel=1e-12)
    r = stats.mann_whitney(X, Y, alternative="less")
    ref = scipy.stats.mannwhitneyu(X, Y, alternative="less")
    assert (r.statistic, r.pvalue) == pytest.approx((ref.statistic, ref.pvalue), rel=1e-12)
    r = stats.wilcoxon_signed_rank(X, Y)
    ref = scipy.stats.wilcoxon(X, Y)
    assert (r.statistic, r.pvalue) == pytest.approx((ref.statistic, ref.pvalue), rel=1e-12)


def test_mann_whitney_statistic_is_probability_of_improvement_times_pairs() -> None:
    r = stats.mann_whitney(X, Y)
    assert r.statistic / (X.size * Y.size) == pytest.approx(
        stats.probability_of_improvement(X[:, None], Y[:, None])
    )


def test_permutation_test_is_exact_for_small_samples_and_seeded() -> None:
    x, y = np.array([1.0, 2.0, 3.0, 4.0]), np.array([5.0, 6.0, 7.0, 8.0])
    with pytest.warns(stats.SampleSizeWarning):
        stats.mann_whitney(x, y)
    r = stats.permutation_test(x, y, seed=0)
    assert r.variant == "exact"
    assert r.pvalue == pytest.approx(2 / 70)  # the most extreme of C(8, 4) splits, both tails
    big_x, big_y = RNG.normal(size=30), RNG.normal(size=30)
    a = stats.permutation_test(big_x, big_y, n_resamples=999, seed=3)
    b = stats.permutation_test(big_x, big_y, n_resamples=999, seed=3)
    assert a.pvalue == b.pvalue and a.variant == "permutation(999)"


@pytest.mark.parametrize("method", ["bonferroni", "holm", "fdr_bh"])
def test_corrections_equal_statsmodels(method: str) -> None:
    p = [0.001, 0.01, 0.02, 0.04, 0.3]
    reject, adjusted = stats.correct_pvalues(p, method, alpha=0.05)
    ref_reject, ref_adj, _, _ = multipletests(p, alpha=0.05, method=method)
    np.testing.assert_array_equal(reject, ref_reject)
    np.testing.assert_allclose(adjusted, ref_adj, rtol=1e-12)


def test_pairwise_tests_correct_the_family() -> None:
    rng = np.random.default_rng(1)
    data = {f"m{i}": rng.normal(i * 0.5, 1.0, size=(8, 5)) for i in range(3)}
    rows = stats.pairwise_tests(data, test="welch_t", correction="holm")
    assert [(r.a, r.b) for r in rows] == [("m0", "m1"), ("m0", "m2"), ("m1", "m2")]
    raw = [r.result.pvalue for r in rows]
    np.testing.assert_allclose([r.pvalue_adjusted for r in rows], multipletests(raw, method="holm")[1])
    paired = stats.pairwise_tests(data, test="wilcoxon", correction="bh")
    assert all(r.result.test == "wilcoxon" for r in paired)
    perm = stats.pairwise_tests(data, test="permutation", seed=0)
    assert perm[0].result.pvalue == stats.pairwise_tests(data, test="permutation", seed=0)[0].result.pvalue


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: stats.welch_t([1.0, np.nan], [1.0, 2.0]), "non-finite"),
        (lambda: stats.welch_t([1.0], [1.0, 2.0]), "at least 2"),
        (lambda: stats.welch_t([1.0, 1.0], [2.0, 2.0]), "both samples are constant"),
        (lambda: stats.wilcoxon_signed_rank([1.0, 2.0], [1.0, 2.0, 3.0]), "paired samples of equal length"),
        (lambda: stats.wilcoxon_signed_rank([1.0, 2.0], [1.0, 2.0]), "every paired difference is zero"),
        (lambda: stats.mann_whitney([1.0, 2.0], [3.0, 4.0], alternative="bigger"), "alternative must be"),
        (lambda: stats.correct_pvalues([0.1, 1.5]), r"pvalues must lie in \[0, 1\]"),
        (lambda: stats.correct_pvalues([0.1], "sidak"), "correction must be one of"),
        (lambda: stats.pairwise_tests({"a": np.ones((3, 2))}, test="ks"), "test must be one of"),
    ],
)
def test_bad_samples_are_refused(call, match: str) -> None:
    with pytest.raises(InputError, match=match), warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.SampleSizeWarning)
        call()


def test_normalisation_minmax_zscore_reference_and_direction() -> None:
    data = {"a": np.array([[0.0, 10.0], [2.0, 30.0]]), "b": np.array([[4.0, 20.0], [1.0, 10.0]])}
    mm = stats.normalize_score_dict(data, "minmax")
    np.testing.assert_allclose(mm["a"], [[0.0, 0.0], [0.5, 1.0]])
    mm_min = stats.normalize_score_dict(data, "minmax", direction="minimize")
    np.testing.assert_allclose(mm_min["a"], 1 - mm["a"])
    z = stats.normalize_score_dict(data, "zscore")
    pooled = np.concatenate([z["a"], z["b"]])
    np.testing.assert_allclose(pooled.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(pooled.std(axis=0, ddof=1), 1.0)  # sample std, as score_matrix
    ref = stats.normalize_scores(
        data["a"], "optimal", random_scores=[0.0, 10.0], optimal_scores=[4.0, 30.0]
    )
    alias = stats.normalize_scores(data["a"], "reference", random_scores=[0.0, 10.0], optimal_scores=[4.0, 30.0])
    np.testing.assert_array_equal(ref, alias)
    np.testing.assert_allclose(ref, [[0.0, 0.0], [0.5, 1.0]])
    # minimising: lower is better, so random is above optimal and 1 still means optimal
    cost = stats.normalize_scores(
        np.array([[5.0], [1.0]]), "optimal", direction="minimize", random_scores=[9.0], optimal_scores=[1.0]
    )
    np.testing.assert_allclose(cost, [[0.5], [1.0]])
    np.testing.assert_allclose(stats.orient(data["a"], "minimize"), -data["a"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "minmax", "scores": np.ones((3, 2))}, "same score in every run"),
        ({"method": "rank"}, "method must be one of"),
        ({"method": "optimal", "random_scores": [0.0, 0.0]}, "optimal_scores is required"),
        (
            {"method": "reference", "random_scores": [0.0], "optimal_scores": [1.0]},
            "must hold 2 finite values",
        ),
        (
            {"method": "reference", "random_scores": [5.0, 0.0], "optimal_scores": [1.0, 1.0]},
            "above random_scores",
        ),
        ({"direction": "up"}, "direction must be"),
    ],
)
def test_normalisation_refuses_undefined_cases(kwargs, match: str) -> None:
    scores = kwargs.pop("scores", np.array([[0.0, 1.0], [2.0, 3.0]]))
    with pytest.raises(InputError, match=match):
        stats.normalize_scores(scores, **kwargs)
