"""Exact GP regression with MAP-fitted hyperparameters.

Inputs live in the unit box [0, 1]^d; targets are standardised inside (zero mean, unit variance),
so one set of priors suits every objective. Hyperparameters theta = [log lengthscales (d),
log signal variance, log noise variance] are fit by L-BFGS-B on the negative log posterior with
an analytic gradient, warm-started from the previous fit so a refit costs a few iterations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg import cho_factor, cho_solve, solve_triangular
from scipy.linalg.lapack import dpotri
from scipy.optimize import minimize

from runlab.sweep._gp._kernel import matern52, matern52_lengthscale_factor, scaled_sq_dists

_JITTER = 1e-8
# Hyperparameters need not be exact: stopping once the posterior improves by less than this
# relative amount (or the gradient is this flat) keeps a warm-started refit to a few steps.
_FIT_FTOL = 1e-7
_FIT_GTOL = 1e-3
_LOG_NOISE_BOUNDS = (math.log(1e-6), math.log(1.0))
_LOG_SIGNAL_BOUNDS = (math.log(0.05), math.log(20.0))
_LOG_LS_BOUNDS = (math.log(5e-3), math.log(50.0))


def _prior(dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian prior (means, sds) over theta: lengthscales log-normal around 1 in the unit box
    (most of them end in [0.15, 7]), signal variance around 1 (targets are standardised), noise
    small but free. A prior that favours long lengthscales lets a few observations convince the
    model that a dimension does not matter, and the search then stops moving it."""
    mu = np.concatenate([np.zeros(dim), [0.0, math.log(1e-3)]])
    sd = np.concatenate([np.ones(dim), [1.5, 3.0]])
    return mu, sd


def _inverse_from_cholesky(lower: np.ndarray) -> np.ndarray:
    """K^-1 from the lower Cholesky factor of K (LAPACK potri: a third of the work of solving
    against the identity, and the gradient of every fit step needs it)."""
    inv, info = dpotri(lower, lower=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"potri failed with info={info}")
    return np.tril(inv) + np.tril(inv, -1).T


def _neg_log_posterior(theta: np.ndarray, x: np.ndarray, y: np.ndarray,
                       prior_mu: np.ndarray, prior_sd: np.ndarray) -> tuple[float, np.ndarray]:
    """Value and gradient of -log p(y | X, theta) - log p(theta). x (n, d), y (n,)."""
    n, d = x.shape
    ls = np.exp(theta[:d])
    signal, noise = math.exp(theta[d]), math.exp(theta[d + 1])
    sq = scaled_sq_dists(x, x, ls)
    k = matern52(sq, signal)
    kn = k + (noise + _JITTER) * np.eye(n)
    try:
        chol = cho_factor(kn, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        return 1e25, np.zeros_like(theta)
    alpha = cho_solve(chol, y, check_finite=False)
    kinv = _inverse_from_cholesky(chol[0])
    nll = 0.5 * y @ alpha + np.log(np.diag(chol[0])).sum() + 0.5 * n * math.log(2 * math.pi)
    w = kinv - np.outer(alpha, alpha)  # d nll / d K = 0.5 * w
    g = w * matern52_lengthscale_factor(sq, signal)  # (n, n)
    gx = g @ x  # (n, d)
    grad_ls = (np.einsum("nd,n->d", x * x, g.sum(1)) - np.einsum("nd,nd->d", x, gx)) / ls**2
    grad = np.concatenate([grad_ls, [0.5 * np.sum(w * k), 0.5 * noise * np.trace(w)]])
    z = (theta - prior_mu) / prior_sd
    return float(nll + 0.5 * z @ z), grad + z / prior_sd


@dataclass
class GaussianProcess:
    """A fitted GP. ``predict`` answers in the units of the ``y`` it was fit on."""

    x: np.ndarray  # (n, d) unit-box inputs
    y: np.ndarray  # (n,) standardised targets
    theta: np.ndarray  # (d + 2,) log lengthscales, log signal var, log noise var
    y_mean: float
    y_std: float

    def __post_init__(self) -> None:
        d = self.x.shape[1]
        self._ls = np.exp(self.theta[:d])
        self._signal = math.exp(self.theta[d])
        noise = math.exp(self.theta[d + 1]) + _JITTER
        k = matern52(scaled_sq_dists(self.x, self.x, self._ls), self._signal)
        self._chol = np.linalg.cholesky(k + noise * np.eye(len(self.x)))
        self._alpha = cho_solve((self._chol, True), self.y, check_finite=False)
        # L^-1 once, so predicting many candidates is one matrix product instead of a solve.
        self._chol_inv = solve_triangular(self._chol, np.eye(len(self.x)), lower=True, check_finite=False)

    @property
    def noise_var(self) -> float:
        """Noise variance in the units of ``y``."""
        return math.exp(self.theta[-1]) * self.y_std**2

    def predict(self, xc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation of the latent function at xc (m, d) -> (m,), (m,)."""
        ks = matern52(scaled_sq_dists(xc, self.x, self._ls), self._signal)  # (m, n)
        mean = ks @ self._alpha
        v = ks @ self._chol_inv.T  # (m, n) = (L^-1 ks^T)^T
        var = np.maximum(self._signal - np.einsum("mn,mn->m", v, v), 1e-12)
        return self.y_mean + self.y_std * mean, self.y_std * np.sqrt(var)

    def predict_mean(self, xc: np.ndarray) -> np.ndarray:
        """Posterior mean only (no variance: a third of the work of ``predict``), (m, d) -> (m,)."""
        ks = matern52(scaled_sq_dists(xc, self.x, self._ls), self._signal)
        return self.y_mean + self.y_std * (ks @ self._alpha)

    def predict_grad(self, xc: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Mean, std and their gradients with respect to the inputs, for optimising an
        acquisition by gradient ascent. xc (m, d) -> mean (m,), std (m,), dmean (m, d), dstd (m, d).

        With dk/dx_j = -F (x_j - X_j) / l_j^2 (F from the kernel), the mean's gradient is
        sum_i alpha_i dk_i/dx and the variance's is -2 (K^-1 k)^T dk/dx.
        """
        xc = np.atleast_2d(np.asarray(xc, dtype=float))
        sq = scaled_sq_dists(xc, self.x, self._ls)  # (m, n)
        ks = matern52(sq, self._signal)
        f = matern52_lengthscale_factor(sq, self._signal)  # (m, n)
        v = ks @ self._chol_inv.T  # (m, n)
        kinv_k = v @ self._chol_inv  # (m, n) = (K^-1 k)^T
        raw_var = self._signal - np.einsum("mn,mn->m", v, v)
        var = np.maximum(raw_var, 1e-12)
        inv_ls2 = 1.0 / self._ls**2

        def weighted_dk(w: np.ndarray) -> np.ndarray:
            # sum_i w_mi dk(x_m, X_i)/dx = -(sum_i w_mi F_mi (x_m - X_i)) / l^2, (m, d)
            wf = w * f
            return -(wf.sum(1)[:, None] * xc - wf @ self.x) * inv_ls2

        dmean = weighted_dk(np.broadcast_to(self._alpha, f.shape))
        dvar = -2.0 * weighted_dk(kinv_k)
        std = np.sqrt(var)
        dstd = np.where((raw_var > 1e-12)[:, None], dvar / (2.0 * std[:, None]), 0.0)
        return (self.y_mean + self.y_std * (ks @ self._alpha), self.y_std * std,
                self.y_std * dmean, self.y_std * dstd)

    def conditioned(self, x_new: np.ndarray, y_new: np.ndarray) -> GaussianProcess:
        """The same hyperparameters with extra (fantasy) observations in ``y`` units."""
        y_std = (np.asarray(y_new, dtype=float) - self.y_mean) / self.y_std
        return GaussianProcess(np.vstack([self.x, x_new]), np.concatenate([self.y, y_std]),
                               self.theta, self.y_mean, self.y_std)


def fit_gp(x: np.ndarray, y: np.ndarray, *, warm_start: np.ndarray | None = None, restarts: int = 2,
           prior_mean: float | None = None, max_iter: int = 200) -> GaussianProcess:
    """MAP fit of a GP to x (n, d) in [0, 1]^d and finite y (n,).

    Starts from ``warm_start`` (a previous ``theta`` of the same dimension) when given, plus up
    to ``restarts`` fixed starts: the prior mean (smooth) and a wiggly one (short lengthscales),
    because the posterior is often bimodal. Without a warm start both fixed starts are always
    tried. The best optimum wins. ``prior_mean`` is the constant the prediction reverts to far
    from data (default: the mean of ``y``). Deterministic: same data, same answer.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n, d = x.shape
    y_mean = float(y.mean()) if prior_mean is None else float(prior_mean)
    y_std = float(y.std()) if n > 1 and y.std() > 0 else 1.0
    ys = (y - y_mean) / y_std
    mu, sd = _prior(d)
    bounds = [_LOG_LS_BOUNDS] * d + [_LOG_SIGNAL_BOUNDS, _LOG_NOISE_BOUNDS]
    lo, hi = np.array(bounds).T
    wiggly = mu.copy()
    wiggly[:d] = math.log(0.2)
    fixed = [np.clip(mu, lo, hi), np.clip(wiggly, lo, hi)]
    if warm_start is not None and len(warm_start) == d + 2:
        starts = [np.clip(np.asarray(warm_start, dtype=float), lo, hi), *fixed[:max(restarts, 0)]]
    else:
        starts = fixed
    best: tuple[float, np.ndarray] | None = None
    for start in starts:
        res = minimize(_neg_log_posterior, start, args=(x, ys, mu, sd), jac=True, method="L-BFGS-B",
                       bounds=bounds, options={"maxiter": max_iter, "ftol": _FIT_FTOL, "gtol": _FIT_GTOL})
        if best is None or res.fun < best[0]:
            best = (float(res.fun), res.x)
    assert best is not None
    return GaussianProcess(x, ys, best[1], y_mean, y_std)
