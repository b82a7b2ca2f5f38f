"""Protein's acquisition: score GP, cost GP and feasibility GP combined into one function of
the unit box, with its gradient, so candidates can be both ranked and climbed.

Everything is maximised. Points are rows of ``[0, 1]^d`` (the GPs' input space).

* ``ei``: log expected improvement minus ``cost_aversion`` times the predicted log cost above
  the cheapest observation (expected improvement per unit of cost^a), plus the log
  probability of not failing;
* ``ucb`` / ``naive``: the predicted score (``naive``) or its upper confidence bound, rescaled to
  [0, 1] over the candidate set, times the Protein cost weight (closeness of the predicted cost
  to a random target level, floored at a small positive value so it never turns negative),
  times the probability of not failing.

Over ``max_suggestion_cost`` the exact value is ``-inf``; the smooth value used while climbing
subtracts a steep penalty instead, so the climb is pushed back under the cap rather than stopped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import log_ndtr, ndtr

from runlab.sweep._gp import GaussianProcess, log_expected_improvement, log_expected_improvement_grad

WEIGHT_FLOOR = 1e-3
_CAP_PENALTY = 50.0
_FEASIBLE_NOISE = 0.01


@dataclass
class CostModel:
    """Log-cost GP and the observed log-cost range it is read against."""

    gp: GaussianProcess | None  # None when every observation cost the same
    lo: float  # min observed log cost
    hi: float  # max observed log cost

    def predict_grad(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Predicted log cost (m,) and its gradient (m, d)."""
        if self.gp is None:
            return np.full(len(x), self.lo), np.zeros_like(x)
        mean, _, dmean, _ = self.gp.predict_grad(x)
        return mean, dmean


@dataclass
class Acquisition:
    """The acquisition of one suggestion step; see the module docstring."""

    kind: str
    score_gp: GaussianProcess
    best: float  # incumbent in the score GP's units
    cost: CostModel
    feasible_gp: GaussianProcess | None = None
    target: float | None = None  # cost target in [0, 1 + global_search_scale] of the log range
    cap: float | None = None  # max_suggestion_cost
    ucb_beta: float = 2.0
    cost_aversion: float = 1.0  # ``ei``: exponent of the cost in EI / cost^a
    raw_min: float = 0.0  # rescaling of ucb/naive, fixed by calibrate()
    raw_spread: float = 1.0

    def calibrate(self, x: np.ndarray) -> None:
        """Fix the [0, 1] rescaling of ``ucb``/``naive`` scores over the candidate set ``x``."""
        if self.kind == "ei":
            return
        mean, std = self.score_gp.predict(x)
        raw = mean if self.kind == "naive" else mean + self.ucb_beta * std
        self.raw_min = float(raw.min())
        spread = float(np.ptp(raw))
        self.raw_spread = spread if spread > 0 else 1.0

    def evaluate(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Exact acquisition, predicted score and predicted log cost at x (m, d): 3 x (m,).
        Points predicted over the cost cap get ``-inf``."""
        acq, _, mean, log_c = self._value(x, smooth=False, grad=False)
        if self.cap is not None:
            acq = np.where(np.exp(log_c) > self.cap, -np.inf, acq)
        return acq, mean, log_c

    def value_grad(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Smooth acquisition (m,) and its gradient (m, d), for gradient ascent."""
        acq, grad, _, _ = self._value(x, smooth=True, grad=True)
        return acq, grad

    def _value(self, x: np.ndarray, *, smooth: bool,
               grad: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        x = np.atleast_2d(x)
        if grad:
            mean, std, dmean, dstd = self.score_gp.predict_grad(x)
            log_c, dlog_c = self.cost.predict_grad(x)
        else:
            mean, std = self.score_gp.predict(x)
            dmean = dstd = dlog_c = np.zeros_like(x)
            log_c = self.cost.gp.predict_mean(x) if self.cost.gp is not None else np.full(len(x), self.cost.lo)
        if self.kind == "ei":
            if grad:
                acq, d_mu, d_sd = log_expected_improvement_grad(mean, std, self.best)
                dacq = d_mu[:, None] * dmean + d_sd[:, None] * dstd
            else:
                acq, dacq = log_expected_improvement(mean, std, self.best), dmean
            dearer = log_c > self.cost.lo
            acq = acq - self.cost_aversion * np.where(dearer, log_c - self.cost.lo, 0.0)
            dacq = dacq - self.cost_aversion * np.where(dearer[:, None], dlog_c, 0.0)
        else:
            raw = mean if self.kind == "naive" else mean + self.ucb_beta * std
            draw = dmean if self.kind == "naive" else dmean + self.ucb_beta * dstd
            positive = (raw - self.raw_min) / self.raw_spread
            dpositive = draw / self.raw_spread
            weight, dweight = self._cost_weight(log_c, dlog_c)
            acq = positive * weight
            dacq = dpositive * weight[:, None] + positive[:, None] * dweight
        if self.feasible_gp is not None:
            acq, dacq = self._with_feasibility(x, acq, dacq, grad)
        if smooth and self.cap is not None:
            excess = log_c - math.log(self.cap)
            over = excess > 0
            acq = acq - _CAP_PENALTY * np.where(over, excess, 0.0)
            dacq = dacq - _CAP_PENALTY * np.where(over[:, None], dlog_c, 0.0)
        return acq, dacq, mean, log_c

    def _cost_weight(self, log_c: np.ndarray, dlog_c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Protein's cost weight 1 - |target - normalised log cost|, clipped to [floor, 1]."""
        if self.cost.gp is None or self.target is None:
            return np.ones(len(log_c)), np.zeros_like(dlog_c)
        span = self.cost.hi - self.cost.lo
        c_norm = (log_c - self.cost.lo) / span
        raw = 1.0 - np.abs(self.target - c_norm)
        inside = (raw > WEIGHT_FLOOR) & (raw < 1.0)
        slope = -np.sign(c_norm - self.target) / span
        return np.clip(raw, WEIGHT_FLOOR, 1.0), np.where(inside[:, None], slope[:, None] * dlog_c, 0.0)

    def _with_feasibility(self, x: np.ndarray, acq: np.ndarray, dacq: np.ndarray,
                          grad: bool) -> tuple[np.ndarray, np.ndarray]:
        """Expected improvement *given* the trial does not fail: P(success) from a GP on 1/0
        labels, log-added for ``ei`` and multiplied otherwise."""
        assert self.feasible_gp is not None
        if grad:
            f_mean, f_std, df_mean, df_std = self.feasible_gp.predict_grad(x)
        else:
            f_mean, f_std = self.feasible_gp.predict(x)
            df_mean = df_std = np.zeros_like(x)
        scale = np.sqrt(f_std**2 + _FEASIBLE_NOISE)
        u = (f_mean - 0.5) / scale
        du = df_mean / scale[:, None] - ((f_mean - 0.5) * f_std / scale**3)[:, None] * df_std
        log_p = log_ndtr(u)
        floor = math.log(WEIGHT_FLOOR)
        clipped = log_p < floor
        dlog_p = np.where(clipped[:, None], 0.0, np.exp(-0.5 * u * u - log_p - 0.5 * math.log(2 * math.pi))[:, None] * du)
        log_p = np.maximum(log_p, floor)
        if self.kind == "ei":
            return acq + log_p, dacq + dlog_p
        p = np.clip(ndtr(u), WEIGHT_FLOOR, 1.0)
        return acq * p, dacq * p[:, None] + acq[:, None] * p[:, None] * dlog_p


__all__ = ["WEIGHT_FLOOR", "Acquisition", "CostModel"]
