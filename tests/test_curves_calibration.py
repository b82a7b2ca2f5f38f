"""Predictive distributions: CRPS against integrals, intervals calibrated on a family with known noise,
prefix conditioning against the textbook Gaussian conditional, and the baselines' shapes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import integrate, stats

from runlab.curves import (
    BoostedTreesBaseline,
    CurveDataset,
    CurveModelConfig,
    CurvePrediction,
    CurvePredictor,
    LastValueBaseline,
    MeanCurveBaseline,
    NearestConfigsBaseline,
    Pow3Baseline,
    crps_gaussian,
    crps_samples,
    curve_scores,
    synthetic_mean_curve,
    synthetic_runs,
)
from runlab.curves._predictor import _condition

NOISE = 10.0


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _dataset(tmp, n, seed):
    runs, curves = synthetic_runs(n, points=20, noise=NOISE, seed=seed)
    tmp.mkdir()
    runs.to_parquet(tmp / "runs.parquet")
    curves.to_parquet(tmp / "curves.parquet")
    ds = CurveDataset.from_files(tmp, curve_length=20, max_step=10_000)
    assert np.allclose(ds.grid, np.arange(1, 21) * 500)  # grid on the logged points: noise stays NOISE
    return ds


@pytest.fixture(scope="module")
def family(tmp_path_factory):
    root = tmp_path_factory.mktemp("family")
    train, test = _dataset(root / "train", 150, 1), _dataset(root / "test", 120, 2)
    cfg = CurveModelConfig(ensemble_size=3, num_epochs=40, hidden_dim=48, env_latent_dim=4, agent_latent_dim=4,
                           curve_length=20, batch_size=16, patience=10, seed=0, val_fraction=0.2)
    return train, test, CurvePredictor(cfg).fit(train)


def test_gaussian_crps_equals_the_integral_definition():
    for mu, sd, y in ((0.0, 1.0, 0.3), (5.0, 2.5, -1.0), (-2.0, 0.1, -2.05)):
        ref = integrate.quad(lambda x, mu=mu, sd=sd, y=y: (stats.norm.cdf(x, mu, sd) - (x >= y)) ** 2,
                             mu - 12 * sd, mu + 12 * sd, points=[y], limit=200)[0]
        assert crps_gaussian(np.array([[mu]]), np.array([[sd]]), np.array([[y]]))[0, 0] == pytest.approx(ref, rel=1e-6)


def test_sample_crps_equals_the_pairwise_formula():
    rng = np.random.default_rng(0)
    s, y = rng.normal(size=(3, 7, 4)), rng.normal(size=(3, 4))
    brute = np.abs(s - y[:, None]).mean(1) - 0.5 * np.abs(s[:, :, None] - s[:, None, :]).mean((1, 2))
    np.testing.assert_allclose(crps_samples(s, y), brute, rtol=1e-12)


def test_intervals_are_calibrated_on_a_family_with_known_noise(family):
    train, test, model = family
    pred = model.predict(test.configs)
    scores = curve_scores(pred, test.curves, level=0.8)
    assert 0.72 <= scores["coverage"] <= 0.88, scores
    # the oracle (true mean, known noise) is the reference: the model is not far behind it
    truth = np.stack([synthetic_mean_curve(c, test.grid) for c in test.configs])
    oracle = curve_scores(CurvePrediction(test.grid, truth, np.full_like(truth, NOISE)), test.curves)
    assert 0.75 <= oracle["coverage"] <= 0.85
    assert scores["rmse"] < 2.0 * oracle["rmse"] and scores["crps"] < 2.0 * oracle["crps"]
    assert 0.5 * NOISE < float(np.median(pred.std)) < 2.5 * NOISE
    base = curve_scores(MeanCurveBaseline().fit(train).predict(test.configs), test.curves)
    assert scores["rmse"] < 0.5 * base["rmse"]


def test_prefix_conditioning_is_the_gaussian_conditional():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(6, 6))
    cov = a @ a.T + 0.5 * np.eye(6)
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    mean, y = rng.normal(size=6), rng.normal(size=6)
    o = np.array([True, True, False, True, False, False])
    m, s = _condition(mean, sd, corr, o, y)
    u = ~o
    inv = np.linalg.inv(cov[np.ix_(o, o)])
    ref_m = mean[u] + cov[np.ix_(u, o)] @ inv @ (y[o] - mean[o])
    ref_c = cov[np.ix_(u, u)] - cov[np.ix_(u, o)] @ inv @ cov[np.ix_(o, u)]
    np.testing.assert_allclose(m[u], ref_m, rtol=1e-8)
    np.testing.assert_allclose(s[u], np.sqrt(np.diag(ref_c)), rtol=1e-8)
    np.testing.assert_array_equal(m[o], y[o])
    assert (s[o] == 0).all()


def test_prefix_prediction_keeps_the_prefix_and_moves_with_it(family):
    _, test, model = family
    obs = test.curves.copy()
    obs[:, 6:] = np.nan
    pred = model.predict_rest(test.configs, obs)
    np.testing.assert_allclose(pred.mean[:, :6], test.curves[:, :6], rtol=1e-6, atol=1e-6)
    high = obs + 40.0
    assert (model.predict_rest(test.configs, high).mean[:, 7] > pred.mean[:, 7]).mean() > 0.9
    assert (pred.std[:, 6:] <= model.predict(test.configs).std[:, 6:] + 1e-9).all()


def test_baselines_shapes_and_references(family):
    train, test, _ = family
    n, length = test.curves.shape
    knn = NearestConfigsBaseline(k=3).fit(train).predict(test.configs)
    assert knn.samples.shape == (n, 3, length)
    enc = NearestConfigsBaseline(k=3).fit(train).encoder_
    x_tr = np.concatenate(enc.transform(train.configs)[:2], axis=1)
    x_te = np.concatenate(enc.transform(test.configs[:1])[:2], axis=1)
    near = np.argsort(((x_tr - x_te) ** 2).sum(1))[:3]
    np.testing.assert_allclose(knn.mean[0], train.curves[near].mean(0), rtol=1e-10)
    mc = MeanCurveBaseline().fit(train).predict(test.configs)
    np.testing.assert_allclose(mc.mean[3], train.curves.mean(0))
    gbt = BoostedTreesBaseline(knots=5, n_estimators=20).fit(train).predict(test.configs)
    assert gbt.mean.shape == (n, length) and gbt.interval() is None and gbt.crps(test.curves) is None
    obs = test.curves.copy()
    obs[:, 8:] = np.nan
    last = LastValueBaseline().fit(train).predict_rest(test.configs, obs)
    np.testing.assert_array_equal(last.mean[:, 8:], np.repeat(test.curves[:, 7:8], length - 8, axis=1))
    t = (np.arange(length) + 1) / length
    exact = 300 - 200 * t ** -0.5
    obs_p = np.where(np.arange(length) < 10, exact, np.nan)[None]
    pow3 = Pow3Baseline().fit(train).predict_rest(test.configs[:1], obs_p)
    np.testing.assert_allclose(pow3.mean[0], exact, rtol=1e-4)
