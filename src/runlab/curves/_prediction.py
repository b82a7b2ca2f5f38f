"""What every curve model returns, and the scores computed from it.

A :class:`CurvePrediction` holds a mean curve per run and, when the model has one, a predictive
distribution: Gaussian per point (``std``) or an empirical set of curves (``samples``, e.g. the
nearest configurations' curves). Intervals and CRPS come from whichever is present; a point-only
model (``std`` and ``samples`` both ``None``) gets neither, and the evaluation says so instead of
inventing a number.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class CurvePrediction:
    """Predicted curves on ``grid``: ``mean (N, L)``, optional ``std (N, L)`` or ``samples (N, S, L)``."""

    grid: np.ndarray
    mean: np.ndarray
    std: np.ndarray | None = None
    samples: np.ndarray | None = None
    flags: list[list[str]] = field(default_factory=list)
    """Per run: features missing, out of the training range, or unseen."""

    @property
    def has_distribution(self) -> bool:
        return self.std is not None or self.samples is not None

    def interval(self, level: float = 0.8) -> tuple[np.ndarray, np.ndarray] | None:
        """Central ``level`` interval ``(lower, upper)``, each ``(N, L)``; ``None`` for point models."""
        lo_q, hi_q = 0.5 - level / 2, 0.5 + level / 2
        if self.std is not None:
            z = stats.norm.ppf(hi_q)
            return self.mean - z * self.std, self.mean + z * self.std
        if self.samples is not None:
            return np.quantile(self.samples, lo_q, axis=1), np.quantile(self.samples, hi_q, axis=1)
        return None

    def crps(self, y: np.ndarray) -> np.ndarray | None:
        """Continuous ranked probability score per point ``(N, L)`` against observed ``y``."""
        if self.std is not None:
            return crps_gaussian(self.mean, self.std, y)
        if self.samples is not None:
            return crps_samples(self.samples, y)
        return None

    def prob_below(self, threshold: float | np.ndarray, point: int = -1) -> np.ndarray:
        """P(value at grid index ``point`` < ``threshold``) per run (point models: 0 or 1)."""
        m = self.mean[:, point]
        if self.std is not None:
            return stats.norm.cdf((np.asarray(threshold) - m) / np.maximum(self.std[:, point], 1e-12))
        if self.samples is not None:
            return (self.samples[:, :, point] < np.asarray(threshold)[..., None]).mean(axis=1)
        return (m < threshold).astype(float)


def crps_gaussian(mean: np.ndarray, std: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Closed-form CRPS of N(mean, std^2) at ``y`` (Gneiting & Raftery 2007)."""
    s = np.maximum(std, 1e-12)
    z = (y - mean) / s
    return s * (z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / np.sqrt(np.pi))


def crps_samples(samples: np.ndarray, y: np.ndarray) -> np.ndarray:
    """CRPS of the empirical distribution of ``samples (N, S, L)`` at ``y (N, L)``:
    E|X - y| - E|X - X'| / 2, the second term from sorted samples in O(S log S)."""
    s = np.sort(samples, axis=1)
    m = s.shape[1]
    first = np.abs(s - y[:, None, :]).mean(axis=1)
    w = (2 * np.arange(1, m + 1) - m - 1)[None, :, None]
    spread = 2 * (w * s).sum(axis=1) / (m * m)
    return first - spread / 2


def curve_scores(pred: CurvePrediction, y: np.ndarray, *, level: float = 0.8,
                 mask: np.ndarray | None = None) -> dict[str, float | None]:
    """RMSE, final-reward error, Spearman of final reward, interval coverage and CRPS of ``pred``.

    ``mask (N, L)`` limits the point scores to the points that count (the unobserved rest of a
    prefix); the final-reward scores use the last grid point.
    """
    return pooled_scores(y, pred.mean, pred.interval(level), pred.crps(y), mask)


def pooled_scores(y: np.ndarray, mean: np.ndarray, bounds: tuple[np.ndarray, np.ndarray] | None,
                  crps: np.ndarray | None, mask: np.ndarray | None = None) -> dict[str, float | None]:
    """The scores of :func:`curve_scores` from arrays (out-of-fold predictions stitched together)."""
    keep = np.ones_like(y, dtype=bool) if mask is None else mask
    err = (mean - y)[keep]
    final_pred, final_true = mean[:, -1], y[:, -1]
    rho = None
    if len(y) >= 3 and np.ptp(final_pred) > 0 and np.ptp(final_true) > 0:
        rho = float(stats.spearmanr(final_pred, final_true).statistic)
    out: dict[str, float | None] = {
        "rmse": float(np.sqrt(np.mean(err**2))),
        "final_error": float(np.mean(np.abs(final_pred - final_true))),
        "spearman": rho, "coverage": None, "crps": None,
    }
    if bounds is not None:
        inside = (bounds[0] <= y) & (y <= bounds[1])
        out["coverage"] = float(inside[keep].mean())
    if crps is not None:
        out["crps"] = float(crps[keep].mean())
    return out
