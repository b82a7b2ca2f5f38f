"""Protein's GP maths: input gradients, log-EI gradients, the multi-start climb and the composed
acquisition, each checked against finite differences or a known answer."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runlab.sweep._acquire import Acquisition, CostModel
from runlab.sweep._gp import (
    GaussianProcess,
    fit_gp,
    log_expected_improvement,
    log_expected_improvement_grad,
    maximize_from_starts,
)


def central_diff(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Finite-difference gradient of a row-wise f: (m, d) -> (m,), returned as (m, d)."""
    out = np.empty_like(x)
    for j in range(x.shape[1]):
        e = np.zeros(x.shape[1])
        e[j] = eps
        out[:, j] = (f(x + e) - f(x - e)) / (2 * eps)
    return out


def toy_data(seed: int, n: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(n, d))
    y = np.sin(4 * x[:, 0]) + (x[:, -1] - 0.3) ** 2 + 0.01 * rng.normal(size=n)
    return x, y


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 1000), d=st.integers(1, 4))
def test_predict_grad_matches_finite_differences(seed: int, d: int) -> None:
    x, y = toy_data(seed, 12, d)
    gp = fit_gp(x, y)
    xc = np.random.default_rng(seed + 1).uniform(0.05, 0.95, size=(6, d))
    mean, std, dmean, dstd = gp.predict_grad(xc)
    ref_mean, ref_std = gp.predict(xc)
    np.testing.assert_allclose(mean, ref_mean, atol=1e-9)
    np.testing.assert_allclose(std, ref_std, atol=1e-9)
    np.testing.assert_allclose(dmean, central_diff(lambda z: gp.predict(z)[0], xc), atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(dstd, central_diff(lambda z: gp.predict(z)[1], xc), atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(gp.predict_mean(xc), mean, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(z=st.floats(-40.0, 8.0), std=st.floats(0.01, 5.0))
def test_log_ei_gradient_matches_finite_differences_even_deep_in_the_tail(z: float, std: float) -> None:
    mean, sd = np.array([z * std]), np.array([std])
    value, d_mean, d_std = log_expected_improvement_grad(mean, sd, 0.0)
    assert np.isfinite(value).all() and np.isfinite(d_mean).all() and np.isfinite(d_std).all()
    np.testing.assert_allclose(value, log_expected_improvement(mean, sd, 0.0))
    eps = 1e-6 * std
    num_mean = (log_expected_improvement(mean + eps, sd, 0.0) - log_expected_improvement(mean - eps, sd, 0.0)) / (2 * eps)
    num_std = (log_expected_improvement(mean, sd + eps, 0.0) - log_expected_improvement(mean, sd - eps, 0.0)) / (2 * eps)
    np.testing.assert_allclose(d_mean, num_mean, rtol=1e-3, atol=1e-3 / std)
    np.testing.assert_allclose(d_std, num_std, rtol=1e-3, atol=1e-3 / std)
    assert d_mean[0] > 0  # a higher predicted mean always improves expected improvement


def test_climb_reaches_each_local_maximum_and_keeps_fixed_dimensions() -> None:
    peak = np.array([0.3, 0.7, 0.5])

    def fun(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        diff = x - peak
        return -(diff**2).sum(1), -2.0 * diff

    starts = np.array([[0.9, 0.1, 0.2], [0.0, 1.0, 0.9]])
    free = np.array([True, True, False])
    ends, values = maximize_from_starts(fun, starts, free)
    np.testing.assert_allclose(ends[:, :2], [[0.3, 0.7], [0.3, 0.7]], atol=1e-4)
    np.testing.assert_array_equal(ends[:, 2], starts[:, 2])  # the categorical-like dimension stays
    np.testing.assert_allclose(values, -((starts[:, 2] - 0.5) ** 2), atol=1e-6)


def test_climb_stays_in_the_box_and_survives_non_finite_values() -> None:
    def fun(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        value = x.sum(1)  # rises towards the (1, 1) corner
        value = np.where(x[:, 0] < 0.05, -np.inf, value)
        return value, np.ones_like(x)

    ends, values = maximize_from_starts(fun, np.array([[0.2, 0.4], [0.01, 0.5]]), np.array([True, True]))
    assert ((ends >= 0) & (ends <= 1)).all()
    np.testing.assert_allclose(ends[0], [1.0, 1.0], atol=1e-6)
    assert values[0] == pytest.approx(2.0)


def test_prior_mean_is_what_the_gp_reverts_to_far_from_data() -> None:
    x = np.array([[0.1], [0.13], [0.16], [0.19]])
    y = np.array([1.0, 3.0, 1.0, 3.0])
    for prior_mean in (0.5, 2.0):
        fitted = fit_gp(x, y, prior_mean=prior_mean)
        assert fitted.y_mean == prior_mean
        # with a short lengthscale 0.99 is far from every observation
        theta = fitted.theta.copy()
        theta[0], theta[-1] = np.log(0.02), np.log(1e-6)
        gp = GaussianProcess(fitted.x, fitted.y, theta, fitted.y_mean, fitted.y_std)
        assert gp.predict(np.array([[0.99]]))[0][0] == pytest.approx(prior_mean, abs=1e-3)
        assert gp.predict(x)[0] == pytest.approx(y, abs=1e-3)


def acquisition(kind: str, *, feasible: bool, cap: float | None) -> Acquisition:
    x, y = toy_data(3, 14, 2)
    log_c = 1.0 + 2.0 * x[:, 0]
    labels = (x[:, 1] < 0.8).astype(float)
    acq = Acquisition(kind=kind, score_gp=fit_gp(x, y), best=float(y.max()),
                      cost=CostModel(fit_gp(x, log_c), float(log_c.min()), float(log_c.max())),
                      feasible_gp=fit_gp(x, labels) if feasible else None, target=0.4,
                      cap=cap, ucb_beta=2.0)
    acq.calibrate(np.random.default_rng(0).uniform(size=(64, 2)))
    return acq


@pytest.mark.parametrize("kind", ["ei", "ucb", "naive"])
@pytest.mark.parametrize("feasible", [False, True])
def test_acquisition_gradient_matches_finite_differences(kind: str, feasible: bool) -> None:
    acq = acquisition(kind, feasible=feasible, cap=12.0)
    xc = np.random.default_rng(7).uniform(0.05, 0.95, size=(40, 2))
    value, grad = acq.value_grad(xc)
    num = central_diff(lambda z: acq.value_grad(z)[0], xc, eps=1e-5)
    # the cost weight, the cap penalty and the feasibility floor have kinks: compare where
    # the function is smooth (two step sizes agree), which is nearly everywhere
    coarse = central_diff(lambda z: acq.value_grad(z)[0], xc, eps=1e-4)
    scale = 1.0 + np.abs(num).max(1, keepdims=True)  # rows with a steep component carry more FD noise
    smooth = (np.abs(num - coarse) <= 1e-3 * scale).all(1)
    assert smooth.sum() >= 30
    assert (np.abs(grad - num)[smooth] <= 1e-4 * scale[smooth]).all()
    assert np.isfinite(value).all()


def test_exact_acquisition_rules_out_points_over_the_cap_and_smooth_one_pushes_back() -> None:
    acq = acquisition("ei", feasible=False, cap=12.0)
    xc = np.random.default_rng(1).uniform(size=(200, 2))
    exact, _, log_c = acq.evaluate(xc)
    over = np.exp(log_c) > 12.0
    assert over.any() and (~over).any()
    assert np.isneginf(exact[over]).all() and np.isfinite(exact[~over]).all()
    smooth, grad = acq.value_grad(xc)
    acq.cap = None
    free, free_grad = acq.value_grad(xc)
    _, dlog_c = acq.cost.predict_grad(xc)
    # over the cap the smooth value pays in proportion to the excess log cost, so the climb
    # is pushed back towards cheaper points; under it nothing changes
    excess = log_c[over] - np.log(12.0)
    np.testing.assert_allclose(smooth[over], free[over] - 50.0 * excess)
    np.testing.assert_allclose(grad[over], free_grad[over] - 50.0 * dlog_c[over])
    np.testing.assert_allclose(smooth[~over], exact[~over])
    np.testing.assert_allclose(grad[~over], free_grad[~over])
