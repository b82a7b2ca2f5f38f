"""Point estimates equal rliable's (1e-12) and obey the invariants an aggregate must."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from rliable import metrics as rlm

from runlab import stats
from runlab.errors import InputError

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
score_mats = st.tuples(st.integers(1, 7), st.integers(1, 6)).flatmap(
    lambda s: arrays(np.float64, s, elements=finite)
)


def _data(seed: int, runs: int = 10, tasks: int = 26) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.lognormal(0.0, 1.0, size=(runs, tasks))


@pytest.mark.parametrize("seed", range(5))
def test_point_estimates_equal_rliable(seed: int) -> None:
    x = _data(seed)
    x[0, :3] = x[1, :3]  # ties
    assert stats.iqm(x) == pytest.approx(rlm.aggregate_iqm(x), abs=1e-12, rel=1e-12)
    assert stats.mean(x) == pytest.approx(rlm.aggregate_mean(x), abs=1e-12, rel=1e-12)
    assert stats.median(x) == pytest.approx(rlm.aggregate_median(x), abs=1e-12, rel=1e-12)
    for gamma in (0.5, 1.0, 2.0):
        og = stats.optimality_gap(x, gamma)
        assert og == pytest.approx(rlm.aggregate_optimality_gap(x, gamma), abs=1e-12, rel=1e-12)


@pytest.mark.parametrize(("rx", "ry"), [(10, 10), (5, 8), (3, 3)])
def test_probability_of_improvement_equals_rliable(rx: int, ry: int) -> None:
    rng = np.random.default_rng(rx * 100 + ry)
    x = rng.integers(0, 4, size=(rx, 6)).astype(float)  # many ties
    y = rng.integers(0, 4, size=(ry, 6)).astype(float)
    if rx == ry:
        y[:, 0] = x[:, 0]  # an identical column, rliable's special case
    expected = rlm.probability_of_improvement(x, y)
    assert stats.probability_of_improvement(x, y) == pytest.approx(expected, abs=1e-12)


def test_aggregate_func_bundles_metrics_in_order() -> None:
    x = _data(7)
    f = stats.aggregate_func()
    assert f.names == ("median", "iqm", "mean", "optimality_gap")
    np.testing.assert_allclose(f(x), [stats.median(x), stats.iqm(x), stats.mean(x), stats.optimality_gap(x)])
    g = stats.aggregate_func(stats.iqm, "trimmed_mean", "optimality_gap", trim=0.1, gamma=2.0)
    assert g.names == ("iqm", "trimmed_mean(0.1)", "optimality_gap")
    np.testing.assert_allclose(g(x), [stats.iqm(x), stats.trimmed_mean(x, 0.1), stats.optimality_gap(x, 2.0)])


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: stats.iqm(np.array([[1.0, np.nan]])), "non-finite"),
        (lambda: stats.mean(np.array([[1.0, np.inf]])), "non-finite"),
        (lambda: stats.median(np.ones(5)), "2-d array"),
        (lambda: stats.iqm(np.ones((0, 3))), "at least one run"),
        (lambda: stats.trimmed_mean(np.ones((3, 3)), 0.5), r"trim must be in \[0, 0.5\)"),
        (lambda: stats.optimality_gap(np.ones((3, 3)), np.nan), "gamma must be a finite"),
        (lambda: stats.probability_of_improvement(np.ones((3, 2)), np.ones((3, 3))), "same tasks"),
        (lambda: stats.aggregate_func("iqr"), "metric must be one of"),
        (lambda: stats.mean([["a", "b"]]), "must be numeric"),
    ],
)
def test_bad_input_is_refused_with_a_message(call, match: str) -> None:
    with pytest.raises(InputError, match=match):
        call()


@settings(max_examples=60, deadline=None)
@given(score_mats, st.randoms(use_true_random=False))
def test_aggregates_ignore_run_order(x: np.ndarray, rnd) -> None:
    perm = list(range(x.shape[0]))
    rnd.shuffle(perm)
    y = x[perm]
    for f in (stats.iqm, stats.mean, stats.median, stats.optimality_gap):
        assert f(y) == pytest.approx(f(x), abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(score_mats, st.floats(0.01, 100), st.floats(-100, 100))
def test_location_aggregates_are_shift_scale_equivariant(x: np.ndarray, a: float, b: float) -> None:
    for f in (stats.iqm, stats.mean, stats.median):
        assert f(a * x + b) == pytest.approx(a * f(x) + b, rel=1e-9, abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 5).flatmap(
        lambda t: st.tuples(
            arrays(
                np.float64, st.tuples(st.integers(1, 6), st.just(t)), elements=st.integers(-3, 3).map(float)
            ),
            arrays(
                np.float64, st.tuples(st.integers(1, 6), st.just(t)), elements=st.integers(-3, 3).map(float)
            ),
        )
    )
)
def test_probability_of_improvement_is_complementary(xy: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = xy
    assert stats.probability_of_improvement(x, y) + stats.probability_of_improvement(y, x) == pytest.approx(
        1.0
    )
    assert stats.probability_of_improvement(x, x) == pytest.approx(0.5)
