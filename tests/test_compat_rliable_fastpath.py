"""rliable idioms on runlab's count engine: callables recognised by tracing, SlowPathWarning, bc.

The engine's own algebra is tested in test_stats_bootstrap.py; here the question is whether a
user's callable is put on it (then its answer must be *exactly* the bundled aggregates' answer
for the same seed) or, when it really cannot be, is named in a SlowPathWarning and still gets
a correct answer from materialised resamples.
"""

from __future__ import annotations

import functools
import warnings

import arch.bootstrap as arch_bs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rliable import metrics as rlm

from runlab import stats
from runlab.compat.rliable import metrics
from runlab.stats import SlowPathWarning, iqm, mean, median, optimality_gap, trimmed_mean


def _data(seed: int = 0, runs: int = 8, tasks: int = 6, methods: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {f"m{i}": rng.lognormal(-0.5 + 0.2 * i, 0.7, size=(runs, tasks)) for i in range(methods)}


def _no_slow_path(data, func, reps=400, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error", SlowPathWarning)
        return stats.interval_estimates(data, func, reps=reps, seed=3, **kw)


def _same(a, b) -> None:
    (pa, ca), (pb, cb) = a, b
    for k in pa:
        np.testing.assert_allclose(pa[k], pb[k], rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(ca[k], cb[k])


def test_issue_14_lambda_is_the_bundle() -> None:
    data = _data()
    port = _no_slow_path(data, lambda x: np.array([iqm(x), mean(x), median(x), optimality_gap(x, 1.0)]))
    bundle = stats.interval_estimates(
        data, stats.aggregate_func("iqm", "mean", "median", "optimality_gap"), reps=400, seed=3
    )
    _same(port, bundle)
    for k, s in data.items():  # the point estimate is the lambda's own output
        np.testing.assert_array_equal(port[0][k], [iqm(s), mean(s), median(s), optimality_gap(s, 1.0)])


def _out_of_order(x: np.ndarray) -> list[float]:
    m = mean(x)
    q = iqm(x)
    return [q, m]


@pytest.mark.parametrize(
    ("func", "bundle"),
    [
        (lambda x: iqm(x), stats.aggregate_func("iqm")),
        (_out_of_order, stats.aggregate_func("iqm", "mean")),
        (
            lambda x: [trimmed_mean(x, 0.1), optimality_gap(x, gamma=0.5)],
            stats.aggregate_func("trimmed_mean", "optimality_gap", trim=0.1, gamma=0.5),
        ),
        (functools.partial(optimality_gap, gamma=2.0), stats.aggregate_func("optimality_gap", gamma=2.0)),
        (
            lambda x: np.array(
                [
                    metrics.aggregate_median(x),
                    metrics.aggregate_iqm(x),
                    metrics.aggregate_mean(x),
                    metrics.aggregate_optimality_gap(x),
                ]
            ),
            stats.aggregate_func(),
        ),
        (rlm.aggregate_iqm, stats.aggregate_func("iqm")),
        (rlm.aggregate_optimality_gap, stats.aggregate_func("optimality_gap")),
        (metrics.aggregate_median, stats.aggregate_func("median")),
    ],
)
def test_recognised_callables_equal_their_bundle(func, bundle) -> None:
    data = _data(1, methods=2)
    _same(_no_slow_path(data, func), stats.interval_estimates(data, bundle, reps=400, seed=3))


@settings(max_examples=20, deadline=None)
@given(
    st.lists(st.sampled_from(["iqm", "mean", "median", "optimality_gap"]), min_size=1, max_size=5),
    st.integers(0, 2**32 - 1),
    st.sampled_from(["percentile", "basic", "bc"]),
)
def test_any_list_of_aggregates_is_recognised(names: list[str], seed: int, method: str) -> None:
    fns = {"iqm": iqm, "mean": mean, "median": median, "optimality_gap": optimality_gap}
    data = _data(seed % 1000, runs=6, tasks=4, methods=1)

    def func(x: np.ndarray) -> np.ndarray:
        return np.array([fns[n](x) for n in names])

    got = _no_slow_path(data, func, reps=200, method=method)
    _same(got, stats.interval_estimates(data, stats.aggregate_func(*names), reps=200, method=method, seed=3))


def _branchy(x0: float):
    return lambda x: np.array([iqm(x) if x[0, 0] == x0 else mean(x)])


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda s: lambda x: np.array([iqm(x) * 100]), "not the values of the aggregates"),
        (lambda s: lambda x: np.array([iqm(x[:4])]), "on an array other than its input"),
        (lambda s: lambda x: np.array([np.mean(x)]), "calls no runlab aggregate"),
        (lambda s: lambda x: np.array([rlm.aggregate_iqm(x)]), "calls no runlab aggregate"),
        (lambda s: _branchy(float(s[0, 0])), "change between resamples"),
    ],
)
def test_unrecognisable_callables_warn_with_name_and_reason_and_stay_correct(make, reason: str) -> None:
    data = _data(2, methods=1)
    s = data["m0"]
    func = make(s)
    with pytest.warns(
        SlowPathWarning, match=rf"<lambda> \(.*test_compat_rliable_fastpath.py:\d+\).*{reason}"
    ):
        points, cis = stats.interval_estimates(data, func, reps=300, seed=0)
    np.testing.assert_array_equal(points["m0"], np.atleast_1d(func(s)))
    assert cis["m0"].shape == (2, 1) and cis["m0"][0, 0] <= cis["m0"][1, 0]


def test_scaled_lambda_on_the_slow_path_matches_the_scaled_fast_interval() -> None:
    data = _data(3, methods=1)
    with pytest.warns(SlowPathWarning):
        _, slow = stats.interval_estimates(data, lambda x: np.array([2 * iqm(x)]), reps=3000, seed=1)
    _, fast = stats.interval_estimates(data, "iqm", reps=3000, seed=1)
    width = 2 * float(fast["m0"][1, 0] - fast["m0"][0, 0])
    np.testing.assert_allclose(slow["m0"], 2 * fast["m0"], atol=0.12 * width)


def test_recognise_is_public_and_leaves_the_callers_stream_alone() -> None:
    s = _data(4, methods=1)["m0"]
    found = stats.recognise(lambda x: [median(x), iqm(x)], s)
    assert found is not None and list(found) == [0] and found[0][1] == [0, 1]
    assert found[0][0].names == ("median", "iqm")
    with pytest.warns(SlowPathWarning, match="sum_of_squares"):

        def sum_of_squares(x: np.ndarray) -> float:
            return float((x**2).sum())

        assert stats.recognise(sum_of_squares, s, reps=10) is None
    a = stats.interval_estimates({"m": s}, lambda x: iqm(x), reps=200, seed=np.random.default_rng(5))
    b = stats.interval_estimates({"m": s}, "iqm", reps=200, seed=np.random.default_rng(5))
    _same(a, b)


@pytest.mark.parametrize("method", ["percentile", "basic", "bc", "bca"])
def test_confidence_interval_equals_arch_on_its_own_bootstrap(method: str) -> None:
    x = np.random.default_rng(6).lognormal(size=40)

    def trimmed(a: np.ndarray) -> np.ndarray:
        return np.array([np.mean(np.sort(a)[5:-5])])

    bs = arch_bs.IIDBootstrap(x, seed=7)
    ref = bs.conf_int(trimmed, reps=2000, method=method, size=0.9)
    results, base = bs._results, bs._base  # the draws arch used for ref
    ours = stats.confidence_interval(
        results,
        np.atleast_1d(base),
        method,
        0.9,
        lambda: np.array([trimmed(np.delete(x, i)) for i in range(x.size)]),
    )
    np.testing.assert_allclose(ours, ref, rtol=1e-12)


def test_bc_is_accepted_everywhere_methods_are() -> None:
    data = _data(7, methods=2)
    assert "bc" in stats.CI_METHODS
    _, ci = stats.performance_profile(data, np.linspace(0.2, 1.5, 5), reps=300, method="bc", seed=0)
    assert ci["m0"].shape == (2, 5)
    _, pis = stats.probability_of_improvement_intervals(data, reps=300, method="bc", seed=0)
    assert pis[("m0", "m1")].shape == (2,)


def test_recognise_finds_the_step_of_each_aggregate_of_a_curve_matrix() -> None:
    x = np.random.default_rng(9).lognormal(size=(5, 4, 3))
    found = stats.recognise(lambda s: [iqm(s[..., 2]), mean(s[..., 0]), median(s[..., 2])], x)
    assert found is not None and sorted(found) == [0, 2]
    assert found[2][0].names == ("iqm", "median") and found[2][1] == [0, 2]
    assert found[0][0].names == ("mean",) and found[0][1] == [1]
    with pytest.warns(SlowPathWarning, match="other than its input"):
        assert stats.recognise(lambda s: [iqm(s[:, :2, 0])], x, reps=10) is None
    with pytest.warns(SlowPathWarning, match="not the values"):
        assert stats.recognise(lambda s: [iqm(s[..., 0]) - iqm(s[..., 1])], x, reps=10) is None
