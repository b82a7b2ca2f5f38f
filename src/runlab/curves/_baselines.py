"""Baselines the VAE predictor is measured against, fit and scored exactly like it.

From configuration alone: the training set's mean curve, the k nearest training configurations
(in the standardised feature space of the same :class:`FeatureEncoder`), and gradient-boosted trees
per grid point (scikit-learn). From a curve's start: the last observed value, and a pow3
learning-curve fit ``y = c - a * x**(-alpha)`` (Domhan et al. 2015) on the observed prefix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from runlab.curves._features import FeatureEncoder, FeatureSpec
from runlab.curves._prediction import CurvePrediction
from runlab.errors import InputError

if TYPE_CHECKING:
    from runlab.curves._dataset import CurveDataset


class MeanCurveBaseline:
    """Every configuration gets the mean training curve; the training curves are its distribution."""

    name = "mean-curve"

    def __init__(self) -> None:
        self.curves_: np.ndarray | None = None
        self.grid_: np.ndarray | None = None

    def fit(self, dataset: CurveDataset) -> MeanCurveBaseline:
        self.curves_, self.grid_ = np.asarray(dataset.curves, float), dataset.grid
        return self

    def predict(self, configs: Sequence[Mapping[str, Any]]) -> CurvePrediction:
        assert self.curves_ is not None and self.grid_ is not None, "fit first"
        n = len(configs)
        mean = np.repeat(self.curves_.mean(axis=0)[None], n, axis=0)
        return CurvePrediction(self.grid_, mean, samples=np.repeat(self.curves_[None], n, axis=0))


class NearestConfigsBaseline:
    """Mean of the ``k`` nearest training configurations' curves (Euclidean, standardised features)."""

    name = "nearest-configs"

    def __init__(self, k: int = 5, features: FeatureSpec | None = None) -> None:
        if k < 1:
            raise InputError(f"k must be at least 1, got {k}")
        self.k, self.features = k, features or FeatureSpec()
        self.encoder_: FeatureEncoder | None = None

    def fit(self, dataset: CurveDataset) -> NearestConfigsBaseline:
        self.encoder_ = FeatureEncoder.fit(dataset.configs, self.features)
        self.x_ = self._x(dataset.configs)
        self.curves_, self.grid_ = np.asarray(dataset.curves, float), dataset.grid
        return self

    def _x(self, configs: Sequence[Mapping[str, Any]]) -> np.ndarray:
        assert self.encoder_ is not None, "fit first"
        env_x, agent_x, _ = self.encoder_.transform(configs)
        return np.concatenate([env_x, agent_x], axis=1).astype(float)

    def predict(self, configs: Sequence[Mapping[str, Any]]) -> CurvePrediction:
        x = self._x(configs)
        d = ((x[:, None, :] - self.x_[None, :, :]) ** 2).sum(axis=2)
        k = min(self.k, len(self.x_))
        nearest = np.argsort(d, axis=1, kind="stable")[:, :k]
        samples = self.curves_[nearest]  # (N, k, L)
        return CurvePrediction(self.grid_, samples.mean(axis=1), samples=samples)


class BoostedTreesBaseline:
    """scikit-learn gradient-boosted trees, one per knot of the grid, linearly interpolated between.

    ``knots`` grid points (evenly spaced, ends included) keep the cost at a fifth of one model per
    point; curves are smooth at that spacing. Point predictions only: no interval, no CRPS.
    """

    name = "boosted-trees"

    def __init__(self, knots: int = 20, features: FeatureSpec | None = None, seed: int = 0,
                 n_estimators: int = 100, max_depth: int = 3) -> None:
        self.knots, self.features, self.seed = knots, features or FeatureSpec(), seed
        self.n_estimators, self.max_depth = n_estimators, max_depth
        self.models_: list[Any] = []

    def fit(self, dataset: CurveDataset) -> BoostedTreesBaseline:
        from sklearn.ensemble import GradientBoostingRegressor

        self.encoder_ = FeatureEncoder.fit(dataset.configs, self.features)
        env_x, agent_x, _ = self.encoder_.transform(dataset.configs)
        x = np.concatenate([env_x, agent_x], axis=1)
        length = dataset.curves.shape[1]
        self.idx_ = np.unique(np.linspace(0, length - 1, min(self.knots, length)).round().astype(int))
        self.grid_ = dataset.grid
        self.models_ = [GradientBoostingRegressor(n_estimators=self.n_estimators, max_depth=self.max_depth,
                                                  random_state=self.seed).fit(x, dataset.curves[:, j])
                        for j in self.idx_]
        return self

    def predict(self, configs: Sequence[Mapping[str, Any]]) -> CurvePrediction:
        env_x, agent_x, flags = self.encoder_.transform(configs)
        x = np.concatenate([env_x, agent_x], axis=1)
        at_knots = np.stack([m.predict(x) for m in self.models_], axis=1)
        pos = np.arange(len(self.grid_))
        mean = np.stack([np.interp(pos, self.idx_, row) for row in at_knots])
        return CurvePrediction(self.grid_, mean, flags=flags)


class LastValueBaseline:
    """The rest of a curve stays at its last observed value (point prediction)."""

    name = "last-value"

    def fit(self, dataset: CurveDataset) -> LastValueBaseline:
        self.grid_ = dataset.grid
        return self

    def predict_rest(self, configs: Sequence[Mapping[str, Any]], observed: np.ndarray) -> CurvePrediction:
        return CurvePrediction(self.grid_, _hold_last(np.asarray(observed, float)))


def _hold_last(obs: np.ndarray) -> np.ndarray:
    """Unobserved points of each row set to the row's last observed value."""
    out = obs.copy()
    for i, row in enumerate(obs):
        seen = np.flatnonzero(np.isfinite(row))
        if not len(seen):
            raise InputError("prefix prediction needs at least one observed point per curve")
        out[i, ~np.isfinite(row)] = row[seen[-1]]
    return out


class Pow3Baseline:
    """Fits ``y = c - a * t**(-alpha)`` (``t`` = grid position in (0, 1]) to each observed prefix.

    The fit profiles ``alpha``: for each ``alpha``, ``(c, a)`` is a linear least-squares solve, so
    a log-spaced grid of ``alpha`` and a 1-D refinement find the best fit with no starting point
    to get wrong.
    A prediction outside ten observed ranges of the prefix falls back to the last value;
    ``fallbacks_`` counts those.
    """

    name = "pow3"
    alphas = np.geomspace(0.01, 5.0, 40)

    def fit(self, dataset: CurveDataset) -> Pow3Baseline:
        self.grid_ = dataset.grid
        self.fallbacks_ = 0
        return self

    def predict_rest(self, configs: Sequence[Mapping[str, Any]], observed: np.ndarray) -> CurvePrediction:
        obs = np.asarray(observed, float)
        out = _hold_last(obs)
        t = (np.arange(obs.shape[1]) + 1) / obs.shape[1]
        for i, row in enumerate(obs):
            o = np.isfinite(row)
            if o.sum() < 4:
                self.fallbacks_ += 1
                continue
            pred = _fit_pow3(t, o, row, self.alphas)
            span = float(np.ptp(row[o])) or 1.0
            if not np.all(np.isfinite(pred)) or pred.min() < row[o].min() - 10 * span or \
                    pred.max() > row[o].max() + 10 * span:
                self.fallbacks_ += 1
                continue
            out[i, ~o] = pred[~o]
        return CurvePrediction(self.grid_, out)


def _fit_pow3(t: np.ndarray, o: np.ndarray, row: np.ndarray, alphas: np.ndarray) -> np.ndarray:
    """Best pow3 curve for the observed points ``row[o]``, evaluated on all of ``t``: the best
    ``alpha`` of the grid, refined by a bounded 1-D search between its grid neighbours."""
    from scipy.optimize import minimize_scalar

    def solve(alpha: float) -> tuple[np.ndarray, float]:
        basis = np.column_stack([np.ones(int(o.sum())), -np.power(t[o], -alpha)])
        coef, *_ = np.linalg.lstsq(basis, row[o], rcond=None)
        return coef, float(((basis @ coef - row[o]) ** 2).sum())

    sse = [solve(a)[1] for a in alphas]
    j = int(np.argmin(sse))
    lo, hi = alphas[max(j - 1, 0)], alphas[min(j + 1, len(alphas) - 1)]
    alpha = float(minimize_scalar(lambda a: solve(a)[1], bounds=(lo, hi), method="bounded",
                                  options={"xatol": 1e-6}).x) if hi > lo else float(alphas[j])
    (c, a), _ = solve(alpha)
    return _pow3(t, c, a, alpha)


def _pow3(t: np.ndarray, c: float, a: float, alpha: float) -> np.ndarray:
    return c - a * np.power(t, -alpha)

