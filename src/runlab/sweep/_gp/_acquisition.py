"""Acquisition functions on GP predictions (maximisation convention)."""

from __future__ import annotations

import numpy as np
from scipy.special import erfcx, log_ndtr

_LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)
_SQRT_HALF_PI = np.sqrt(np.pi / 2)
_SQRT2 = np.sqrt(2.0)


def log_expected_improvement(mean: np.ndarray, std: np.ndarray, best: float | np.ndarray) -> np.ndarray:
    """log E[max(f - best, 0)] for f ~ N(mean, std^2); (m,) -> (m,).

    EI underflows to 0 far from the incumbent, which would make every such candidate tie; in
    log space (Ament et al., 2023) the ranking survives. EI = std * h(z), h(z) = z Phi(z) + phi(z).
    """
    std = np.maximum(std, 1e-12)
    z = (mean - best) / std
    log_h = np.empty_like(z)
    mid = z > -1.0
    zm = z[mid]
    h = zm * np.exp(log_ndtr(zm)) + np.exp(-0.5 * zm * zm - _LOG_SQRT_2PI)
    log_h[mid] = np.log(np.maximum(h, 1e-300))
    # Below -1, h(z) = phi(z) (1 - |z| sqrt(pi/2) erfcx(|z| / sqrt 2)): no exp underflows, and the
    # bracket (about 1/z^2) keeps ~1e-16 z^2 relative error. A truncated Mills-ratio series
    # here would be off by 1% at z = -5, a jump that misleads gradient ascent.
    tail = (z <= -1.0) & (z > -1e3)
    zt = -z[tail]
    bracket = 1.0 - zt * _SQRT_HALF_PI * erfcx(zt / _SQRT2)
    log_h[tail] = -0.5 * zt * zt - _LOG_SQRT_2PI + np.log(np.maximum(bracket, 1e-300))
    far = z <= -1e3  # series h(z) = phi(z) / z^2 (1 - 3/z^2 + ...), exact to double precision here
    zf = z[far]
    log_h[far] = -0.5 * zf * zf - _LOG_SQRT_2PI - 2.0 * np.log(-zf) + np.log1p(-3.0 / zf**2)
    return np.log(std) + log_h


def log_expected_improvement_grad(mean: np.ndarray, std: np.ndarray,
                                  best: float | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log EI and its partial derivatives with respect to ``mean`` and ``std``; 3 x (m,).

    With z = (mean - best) / std and h'(z) = Phi(z): dlogEI/dmean = r / std and
    dlogEI/dstd = (1 - z r) / std, where r = Phi(z) / h(z) is taken in log space so it stays
    finite (about -z) deep in the tail.
    """
    std = np.maximum(std, 1e-12)
    value = log_expected_improvement(mean, std, best)
    z = (mean - best) / std
    ratio = np.exp(log_ndtr(z) - (value - np.log(std)))
    return value, ratio / std, (1.0 - z * ratio) / std


def expected_improvement(mean: np.ndarray, std: np.ndarray, best: float | np.ndarray) -> np.ndarray:
    """E[max(f - best, 0)]; (m,) -> (m,), never negative."""
    return np.exp(log_expected_improvement(mean, std, best))


def upper_confidence_bound(mean: np.ndarray, std: np.ndarray, beta: float) -> np.ndarray:
    """mean + beta * std; (m,) -> (m,)."""
    return mean + beta * std
