"""Largest-Triangle-Three-Buckets downsampling (Steinarsson 2013), vectorised per bucket."""

from __future__ import annotations

import numpy as np


def lttb_indices(x: np.ndarray, y: np.ndarray, n_out: int) -> np.ndarray:
    """Indices of ``n_out`` points of the series ``(x, y)`` (sorted by x) that keep its visual shape.

    The first and last points are always kept; each bucket in between keeps the point forming the
    largest triangle with the previously kept point and the next bucket's mean. Non-finite ``y``
    values are treated as 0 for the area so that they never poison a bucket.
    """
    n = len(x)
    if n_out >= n or n <= 2:
        return np.arange(n)
    yy = np.where(np.isfinite(y), y, 0.0).astype(float)
    xx = x.astype(float)
    edges = np.linspace(1, n - 1, n_out - 1).astype(int)  # n_out - 2 buckets over points 1..n-2
    out = np.empty(n_out, dtype=np.int64)
    out[0], out[-1] = 0, n - 1
    prev = 0
    for b in range(n_out - 2):
        lo, hi = edges[b], max(edges[b + 1], edges[b] + 1)
        nlo, nhi = hi, edges[b + 2] if b + 2 < len(edges) else n
        nx, ny = (xx[nlo:nhi].mean(), yy[nlo:nhi].mean()) if nhi > nlo else (xx[-1], yy[-1])
        area = np.abs((xx[prev] - nx) * (yy[lo:hi] - yy[prev]) - (xx[prev] - xx[lo:hi]) * (ny - yy[prev]))
        prev = lo + int(np.argmax(area))
        out[b + 1] = prev
    return np.unique(out)
