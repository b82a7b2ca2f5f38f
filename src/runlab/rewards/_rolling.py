"""Rolling-window statistics over many concatenated streams at once (numpy only).

All streams lie end to end in one array ``y`` (stream ``k`` occupies ``starts[k] : starts[k] +
lengths[k]``, in sample order). A window of ``w`` samples ending at position ``i`` is *complete*
when it lies inside one stream. Window sums are one ``np.convolve`` of the whole array with a
fixed weight vector, read at the complete windows' starts: no per-window Python loop, and no
cumulative-sum cancellation (every window is summed from its own ``w`` values).

Definitions (the slope and noise the issue fixes):

- OLS slope of reward on sample index over a window of consecutive indices ``t0 .. t0+w-1``:
  ``b = sum_k (k - (w-1)/2) * y_k / (w (w^2 - 1) / 12)`` (the denominator is ``sum_k (k - kbar)^2``).
- Rolling standard deviation, ``ddof=1``: ``sqrt(sum_k (y_k - ybar)^2 / (w - 1))``.
"""

from __future__ import annotations

import numpy as np


def complete_windows(starts: np.ndarray, lengths: np.ndarray, w: int) -> tuple[np.ndarray, Segments]:
    """Which window starts (positions ``0 .. total - w``) hold a complete window of width ``w``, as a
    boolean mask, and the complete windows' segments (one per stream, in order).

    Only the last ``w - 1`` starts of each stream are incomplete, so the mask is built from those
    few positions (no pass that materialises every window's start).
    """
    total = int(lengths.sum())
    mask = np.ones(max(total - w + 1, 0), dtype=bool)
    n_win = np.maximum(lengths - w + 1, 0)
    bad = np.minimum(lengths, w - 1)  # incomplete starts per stream
    first_bad = np.repeat(starts + n_win, bad)
    first_bad += np.arange(len(first_bad)) - np.repeat(np.cumsum(bad) - bad, bad)
    mask[first_bad[first_bad < len(mask)]] = False
    return mask, Segments.from_lengths(n_win)


def window_slopes(y: np.ndarray, complete: np.ndarray, w: int) -> np.ndarray:
    """OLS slope of ``y`` on a consecutive index in each complete window ``y[s : s + w]``
    (``complete``: the mask of :func:`complete_windows`)."""
    if w < 2:
        raise ValueError(f"slope window must be >= 2, got {w}")
    weights = (np.arange(w) - (w - 1) / 2) / (w * (w * w - 1) / 12)
    return _window_dot(y, weights)[complete] if complete.any() else np.empty(0)


def window_std(y: np.ndarray, complete: np.ndarray, w: int) -> np.ndarray:
    """Standard deviation (``ddof=1``) of each complete window ``y[s : s + w]``.

    ``y`` should be centred per stream (:func:`centre`): the window variance is
    ``(sum y^2 - (sum y)^2 / w) / (w - 1)``, whose cancellation error grows with
    ``(window mean / window std)^2``; centring keeps that ratio at the stream's own scale.
    """
    if w < 2:
        raise ValueError(f"noise window must be >= 2, got {w}")
    if not complete.any():
        return np.empty(0)
    ones = np.ones(w)
    s1 = _window_dot(y, ones)
    s2 = _window_dot(np.square(y), ones)
    np.square(s1, out=s1)
    s1 /= w
    s2 -= s1
    np.maximum(s2, 0.0, out=s2)
    s2 /= w - 1
    return np.sqrt(s2, out=s2)[complete]


_TAPS = 10  # np.convolve is ~8x faster per tap on kernels up to ~10 taps than on longer ones


def _window_dot(y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``out[s] = y[s : s + w] @ weights`` for every ``s`` (``len(y) - w + 1`` values): ``np.convolve``,
    the kernel split into pieces of at most ``_TAPS`` taps whose shifted results add up."""
    w = len(weights)
    valid = len(y) - w + 1
    full: np.ndarray | None = None
    for o in range(0, w, _TAPS):
        piece = weights[o : o + _TAPS]
        part = np.convolve(y[o : o + valid + len(piece) - 1], piece[::-1], mode="valid")
        if full is None:
            full = part
        else:
            full += part
    assert full is not None
    return full


class Segments:
    """Contiguous groups of a sorted ``owner`` array (group of each value), computed once and reused."""

    def __init__(self, owner: np.ndarray, n: int) -> None:
        self._owner: np.ndarray | None = owner
        self.n = n
        self.count = np.bincount(owner, minlength=n).astype(float)
        self.present = np.flatnonzero(np.diff(owner, prepend=-1)) if len(owner) else np.zeros(0, np.int64)
        self.ids = owner[self.present]
        self.first = np.cumsum(self.count).astype(np.int64) - self.count.astype(np.int64)

    @classmethod
    def from_lengths(cls, lengths: np.ndarray) -> Segments:
        """Group ``k`` holds the next ``lengths[k]`` values (no sorting or counting needed)."""
        seg = cls.__new__(cls)
        seg._owner = None
        seg.n, seg.count = len(lengths), lengths.astype(float)
        seg.first = np.cumsum(lengths) - lengths
        seg.ids = np.flatnonzero(lengths > 0)
        seg.present = seg.first[seg.ids]
        return seg

    @property
    def owner(self) -> np.ndarray:
        """Group of each value (built on first use: it is one pass over all values)."""
        if self._owner is None:
            self._owner = np.repeat(np.arange(self.n), self.count.astype(np.int64))
        return self._owner

    def sum(self, values: np.ndarray) -> np.ndarray:
        """Per-group sums (0 for empty groups)."""
        out = np.zeros(self.n)
        if len(values):
            out[self.ids] = np.add.reduceat(values, self.present)
        return out

    def spread(self, per_group: np.ndarray) -> np.ndarray:
        """``per_group[owner]``: each group's value repeated over its members (no index array)."""
        return np.repeat(per_group, self.count.astype(np.int64))

    def take(self, mask: np.ndarray) -> Segments:
        """The segments of ``owner[mask]``."""
        return Segments(self.owner[mask], self.n)


def centre(y: np.ndarray, seg: Segments) -> tuple[np.ndarray, np.ndarray]:
    """``y`` minus its stream's mean, and the means."""
    mean = seg.sum(y) / np.maximum(seg.count, 1)
    return y - seg.spread(mean), mean


def grouped_mean_std(values: np.ndarray, seg: Segments) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-group count, mean and standard deviation (``ddof=1``; NaN below 2 values) of ``values``."""
    count = seg.count
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = seg.sum(values) / count
        dev = values - seg.spread(mean)
        var = seg.sum(np.square(dev, out=dev)) / (count - 1)
    mean[count == 0] = np.nan
    var[count < 2] = np.nan
    return count, mean, np.sqrt(var)


def grouped_index_slope(y: np.ndarray, seg: Segments) -> np.ndarray:
    """Per-group OLS slope of ``y`` on its position ``0, 1, ..., m-1`` within the group.

    With ``x`` consecutive, ``sum (x - xbar)^2 = m (m^2 - 1) / 12`` and ``sum (x - xbar) y =
    sum g y - (first + (m - 1) / 2) sum y`` with ``g`` the global position and ``first`` the group's
    first one: two segmented sums, no per-value group lookup.
    """
    m = seg.count
    g = np.arange(len(y), dtype=float)
    g *= y
    sxy = seg.sum(g) - (seg.first + (m - 1) / 2) * seg.sum(y)
    sxx = m * (m * m - 1) / 12
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(m >= 2, sxy / sxx, np.nan)


def grouped_corr(x: np.ndarray, y: np.ndarray, seg: Segments) -> np.ndarray:
    """Per-group Pearson correlation over rows where both values are finite (NaN if undefined)."""
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return np.full(seg.n, np.nan)
    sub = seg if ok.all() else seg.take(ok)
    x, y = x[ok], y[ok]
    _, mx, _ = grouped_mean_std(x, sub)
    _, my, _ = grouped_mean_std(y, sub)
    dx, dy = x - sub.spread(mx), y - sub.spread(my)
    sxy, sxx, syy = sub.sum(dx * dy), sub.sum(dx * dx), sub.sum(dy * dy)
    # a constant series (spread at rounding level of its values) has no correlation
    flat_x = sxx <= 1e-24 * np.maximum(sub.sum(x * x), 1e-300)
    flat_y = syy <= 1e-24 * np.maximum(sub.sum(y * y), 1e-300)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = sxy / np.sqrt(sxx * syy)
    return np.where(flat_x | flat_y, np.nan, r)


def ema_end(y: np.ndarray, starts: np.ndarray, lengths: np.ndarray, alpha: float) -> np.ndarray:
    """Each stream's EMA after its last sample: ``e_0 = y_0``, ``e_t = e_{t-1} + alpha (y_t - e_{t-1})``.

    Closed form ``e_{n-1} = (1-alpha)^{n-1} y_0 + sum_{t>=1} alpha (1-alpha)^{n-1-t} y_t``. Weights
    below ``1e-17`` of the newest one cannot change a float64 result, so only each stream's last
    ``K = ceil(39 / -log(1 - alpha))`` samples are summed (one segmented sum over those tails).
    """
    if alpha >= 1:
        return y[starts + lengths - 1].astype(float)
    k = int(np.ceil(39.0 / -np.log1p(-alpha)))
    tail = np.minimum(lengths, k)
    seg = Segments.from_lengths(tail)
    first = np.repeat(starts + lengths - tail, tail)
    pos = np.arange(len(first)) - np.repeat(np.cumsum(tail) - tail, tail)
    idx = first + pos  # global sample index
    age = np.repeat(lengths - 1, tail) - (idx - np.repeat(starts, tail))  # n-1-t
    t0 = idx == np.repeat(starts, tail)  # the stream's first sample (weight without alpha)
    w = np.exp(age * np.log1p(-alpha)) * np.where(t0, 1.0, alpha)
    return seg.sum(w * y[idx])
