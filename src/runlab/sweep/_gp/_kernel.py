"""Matérn-5/2 kernel with one lengthscale per input dimension (ARD)."""

from __future__ import annotations

import numpy as np

_SQRT5 = np.sqrt(5.0)


def scaled_sq_dists(x1: np.ndarray, x2: np.ndarray, lengthscales: np.ndarray) -> np.ndarray:
    """Squared distances after dividing each dimension by its lengthscale.

    x1 (n, d), x2 (m, d), lengthscales (d,) -> (n, m), clipped at 0 against round-off.
    """
    a = x1 / lengthscales
    b = x2 / lengthscales
    sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.maximum(sq, 0.0)


def matern52(sq_dists: np.ndarray, signal_var: float) -> np.ndarray:
    """k(r) = s2 (1 + sqrt5 r + 5/3 r^2) exp(-sqrt5 r), from squared scaled distances r^2."""
    r = np.sqrt(sq_dists)
    return signal_var * (1.0 + _SQRT5 * r + (5.0 / 3.0) * sq_dists) * np.exp(-_SQRT5 * r)


def matern52_lengthscale_factor(sq_dists: np.ndarray, signal_var: float) -> np.ndarray:
    """F with dk/dlog(l_j) = F * (dx_j / l_j)^2, elementwise; (n, m).

    From dk/dr = -5/3 s2 r (1 + sqrt5 r) exp(-sqrt5 r) and dr/dlog(l_j) = -(dx_j/l_j)^2 / r.
    """
    r = np.sqrt(sq_dists)
    return signal_var * (5.0 / 3.0) * (1.0 + _SQRT5 * r) * np.exp(-_SQRT5 * r)
