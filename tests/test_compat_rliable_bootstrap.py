"""StratifiedBootstrap / StratifiedIndependentBootstrap: rliable's iteration protocol and draws."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from rliable import library as rl_rly
from rliable import metrics as rlm

from runlab.compat.rliable import library as rly
from runlab.compat.rliable import metrics
from runlab.errors import InputError
from runlab.stats import SampleSizeWarning, SlowPathWarning

X = np.arange(5 * 16).reshape(5, 16)
Y = np.flip(X, axis=0)
Z = np.stack([X, 2 * X], axis=-1)


@pytest.mark.parametrize("task_bootstrap", [False, True])
def test_stratified_bootstrap_protocol_and_rliables_draws(task_bootstrap: bool) -> None:
    np.random.seed(4)
    theirs = rl_rly.StratifiedBootstrap(X, y=Y, z=Z, task_bootstrap=task_bootstrap)
    their_draws = [(np.copy(d[0]), dict(kw)) for d, kw in theirs.bootstrap(6)]
    np.random.seed(4)
    bs = rly.StratifiedBootstrap(X, y=Y, z=Z, task_bootstrap=task_bootstrap)
    for (data, kwdata), (t_data, t_kw) in zip(bs.bootstrap(6), their_draws, strict=True):
        index = bs.index
        assert len(data) == 1 and sorted(kwdata) == ["y", "z"]
        np.testing.assert_array_equal(X[index], data[0])
        np.testing.assert_array_equal(Y[index], kwdata["y"])
        np.testing.assert_array_equal(Z[index], bs.z)
        np.testing.assert_array_equal(data[0], t_data)  # the very resample rliable draws
        np.testing.assert_array_equal(kwdata["z"], t_kw["z"])
        # stratified: every column of the resample comes from one task column of X
        if not task_bootstrap:
            assert all(np.isin(data[0][:, t], X[:, t]).all() for t in range(16))


def test_independent_bootstrap_protocol_and_rliables_draws() -> None:
    w = np.arange(7 * 16).reshape(7, 16)  # another run count: resampled on its own
    np.random.seed(5)
    their = [
        (d[0].copy(), kw["w"].copy()) for d, kw in rl_rly.StratifiedIndependentBootstrap(X, w=w).bootstrap(4)
    ]
    np.random.seed(5)
    bs = rly.StratifiedIndependentBootstrap(X, w=w)
    for (data, kwdata), (tx, tw) in zip(bs.bootstrap(4), their, strict=True):
        assert isinstance(bs.index, tuple)
        index_x, kw_index = bs.index
        np.testing.assert_array_equal(X[index_x[0]], data[0])
        np.testing.assert_array_equal(w[kw_index["w"]], kwdata["w"])
        np.testing.assert_array_equal(bs.w, kwdata["w"])
        np.testing.assert_array_equal(data[0], tx)
        np.testing.assert_array_equal(kwdata["w"], tw)


@pytest.mark.filterwarnings("ignore::runlab.stats.SlowPathWarning")
@pytest.mark.parametrize(("method", "tail"), [("basic", "two"), ("percentile", "lower"), ("bc", "upper")])
def test_conf_int_of_a_plain_callable_equals_arch(method: str, tail: str) -> None:
    x = np.random.default_rng(0).normal(size=(8, 4))

    def spread(a: np.ndarray) -> np.ndarray:
        return np.array([a.std(), np.abs(a).max()])

    np.random.seed(2)
    theirs = rl_rly.StratifiedBootstrap(x).conf_int(spread, reps=300, method=method, tail=tail)
    np.random.seed(2)
    ours = rly.StratifiedBootstrap(x).conf_int(spread, reps=300, method=method, tail=tail)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_conf_int_serves_recognised_metrics_from_the_engine() -> None:
    x = np.random.default_rng(1).lognormal(size=(10, 6))
    with warnings.catch_warnings():
        warnings.simplefilter("error", SlowPathWarning)
        ci = rly.StratifiedBootstrap(x, seed=0).conf_int(
            metrics.aggregate_iqm, reps=3000, method="percentile"
        )
    np.random.seed(0)
    ref = rl_rly.StratifiedBootstrap(x).conf_int(rlm.aggregate_iqm, reps=3000, method="percentile")
    assert ci.shape == ref.shape == (2, 1)
    np.testing.assert_allclose(ci, ref, atol=0.15 * float(ref[1, 0] - ref[0, 0]))


def test_apply_var_cov_shapes_and_values() -> None:
    x = np.random.default_rng(2).normal(size=(6, 3))
    bs = rly.StratifiedBootstrap(x, seed=3)
    res = bs.apply(lambda a: np.array([a.mean(), a.min()]), reps=50)
    assert res.shape == (50, 2)
    bs2 = rly.StratifiedBootstrap(x, seed=3)
    cov = bs2.cov(lambda a: np.array([a.mean(), a.min()]), reps=50)
    np.testing.assert_allclose(cov, np.cov(res.T, bias=True), rtol=1e-12)


def test_bad_inputs_name_the_problem() -> None:
    with pytest.raises(InputError, match="num_runs, num_tasks"):
        rly.StratifiedBootstrap(np.arange(5))
    with pytest.raises(InputError, match="shape"):
        rly.StratifiedBootstrap(X, y=np.ones((4, 16)))
    with pytest.raises(InputError, match="reserved"):
        rly.StratifiedBootstrap(X, index=Y)
    with pytest.raises(InputError, match="sampling"):
        rly.StratifiedBootstrap(X).conf_int(np.mean, sampling="parametric")
    with pytest.raises(InputError, match="same number of runs"), warnings.catch_warnings():
        warnings.simplefilter("ignore", SampleSizeWarning)
        rly.StratifiedIndependentBootstrap(X, np.ones((7, 16))).conf_int(
            lambda a, b: a.mean() - b.mean(), method="bca"
        )
