"""runlab.compat.rliable.metrics against the installed rliable 1.2 on random score matrices."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rliable import metrics as rlm

from runlab.compat.rliable import metrics
from runlab.errors import InputError

AGGREGATES = ["aggregate_mean", "aggregate_median", "aggregate_iqm", "aggregate_optimality_gap"]


def _matrix(seed: int, runs: int, tasks: int, ties: bool) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.lognormal(-0.3, 0.8, size=(runs, tasks))
    return np.round(x * 4) / 4 if ties else x


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 12), st.integers(1, 9), st.booleans())
def test_aggregates_equal_rliable(seed: int, runs: int, tasks: int, ties: bool) -> None:
    x = _matrix(seed, runs, tasks, ties)
    for name in AGGREGATES:
        ours, theirs = getattr(metrics, name)(x), getattr(rlm, name)(x)
        assert isinstance(ours, np.floating)
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12, err_msg=name)
    for gamma in (0.5, 2):
        np.testing.assert_allclose(
            metrics.aggregate_optimality_gap(x, gamma),
            rlm.aggregate_optimality_gap(x, gamma),
            rtol=1e-12,
            atol=1e-12,
        )


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 9), st.integers(1, 9), st.integers(1, 6), st.booleans())
def test_probability_of_improvement_equals_rliable(
    seed: int, rx: int, ry: int, tasks: int, ties: bool
) -> None:
    x, y = _matrix(seed, rx, tasks, ties), _matrix(seed + 1, ry, tasks, ties)
    np.testing.assert_allclose(
        metrics.probability_of_improvement(x, y), rlm.probability_of_improvement(x, y), rtol=1e-12, atol=1e-12
    )
    # identical columns are exactly 0.5 in rliable's special case
    assert metrics.probability_of_improvement(x, x) == rlm.probability_of_improvement(x, x) == 0.5


def test_rliable_suite_fixtures_and_integer_input() -> None:
    # rliable's metrics_test matrices (integers, with ties)
    x = np.array([[1, 2], [2, 2], [1, 1], [2, 1]])
    y = np.array([[1, 1], [2, 2], [3, 3]])
    for m in (x, y):
        for name in ("aggregate_median", "aggregate_mean", "aggregate_iqm"):
            assert getattr(metrics, name)(m) == getattr(rlm, name)(m)
    assert metrics.probability_of_improvement(x, y) == pytest.approx(
        rlm.probability_of_improvement(x, y), abs=1e-15
    )


@pytest.mark.parametrize("name", AGGREGATES)
def test_extra_axes_follow_rliable(name: str) -> None:
    z = np.random.default_rng(3).normal(size=(5, 4, 3))
    np.testing.assert_allclose(getattr(metrics, name)(z), getattr(rlm, name)(z), rtol=1e-12)


@pytest.mark.parametrize("name", [*AGGREGATES, "probability_of_improvement"])
def test_non_finite_scores_raise_instead_of_nan(name: str) -> None:
    x = np.ones((3, 2))
    x[1, 1] = np.nan
    args = (x, np.ones((3, 2))) if name == "probability_of_improvement" else (x,)
    assert np.isnan(getattr(rlm, name)(*args))  # what rliable does
    with pytest.raises(InputError, match="non-finite"):
        getattr(metrics, name)(*args)
