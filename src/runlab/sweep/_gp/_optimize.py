"""Gradient ascent of an acquisition from several starting points at once.

Random candidates alone leave the acquisition's peak unresolved beyond two or three dimensions;
a few L-BFGS-B runs from the best candidates find it. The runs are independent, so they are
stacked into one problem (the sum of the acquisition over the starts, whose gradient separates
per start): one scipy call instead of one per start, as BoTorch does.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.optimize import minimize

ValueGrad = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def maximize_from_starts(fun: ValueGrad, starts: np.ndarray, free: np.ndarray, *,
                         max_iter: int = 60, tol: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """Local maxima of ``fun`` over the unit box, one per start.

    ``fun`` maps points (m, d) to values (m,) and gradients (m, d); ``starts`` (m, d) lie in
    [0, 1]^d; only the dimensions where ``free`` (d,) is True move (the others, e.g. categorical
    choices, keep the start's value). Returns the end points (m, d) and their values (m,).
    Non-finite values stop nothing: they count as very bad and their gradient as zero.
    """
    starts = np.atleast_2d(np.asarray(starts, dtype=float))
    m = len(starts)
    idx = np.flatnonzero(free)
    if not len(idx) or not m:
        values, _ = fun(starts)
        return starts, values
    fixed = starts.copy()

    def objective(flat: np.ndarray) -> tuple[float, np.ndarray]:
        x = fixed.copy()
        x[:, idx] = flat.reshape(m, len(idx))
        values, grads = fun(x)
        ok = np.isfinite(values)
        values = np.where(ok, values, -1e10)
        grads = np.where(ok[:, None] & np.isfinite(grads), grads, 0.0)
        return -float(values.sum()), -grads[:, idx].ravel()

    res = minimize(objective, starts[:, idx].ravel(), jac=True, method="L-BFGS-B",
                   bounds=[(0.0, 1.0)] * (m * len(idx)), options={"maxiter": max_iter, "ftol": tol, "gtol": tol})
    out = fixed.copy()
    out[:, idx] = np.clip(res.x.reshape(m, len(idx)), 0.0, 1.0)
    values, _ = fun(out)
    return out, values
