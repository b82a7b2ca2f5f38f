"""The LP scorers' arithmetic, vectorised over updates *and* tasks (arrays are ``(updates, tasks)``).

syllabus (syllabus-rl 0.7 ``OnlineLearningProgress``), one update per ``update_interval`` episodes:

1. interval success rate ``r_k[t] = sum floor(max(x, 0)) / max(count, 1)`` over the interval's episodes;
2. baseline from the first interval ``b = min(r_0, 0.75)``; normalised ``q_k = max(r_k - b, 0) / (1 - b)``;
3. fast EMA ``f_k = a q_k + (1 - a) f_{k-1}``, slow EMA *of the fast one* ``s_k = a f_k + (1 - a) s_{k-1}``,
   true rate ``p_k = a r_k + (1 - a) p_{k-1}``, all started at the first interval's value (``a = ema_alpha``);
4. reweighting ``R(p) = p (1 - theta) / (p + theta (1 - 2 p))`` (``theta = p_theta``), ``lp = |R(f) - R(s)|``;
5. tasks with progress ``P = {t : lp_t > 0 or p_t > 0}`` (all tasks when empty): z-score over ``P``
   (population std, 1 when 0), sigmoid, normalise over ``P``, zero outside ``P``;
6. mix ``(1 - uniform_prob) * dist + uniform_prob / T``, renormalise.

metta (Metta ``LearningProgressAlgorithm``), one update per episode (or per ``update_interval``):

1. ``x`` clipped to [0, 1], normalised against the fixed baseline 0.5: ``q = (x - 0.5) / 0.5``;
2. per task, over its own episodes only: ``f = q ts + f (1 - ts)``, ``s = q ts sf + s (1 - ts sf)``, both
   started at the first ``q`` (``ts = ema_timescale``, ``sf = slow_timescale_factor``);
3. with ``progress_smoothing = m != 0``: ``f, s <- R_m(f), R_m(s)`` with ``R_m(p) = p (1 - m) / (p + m (1 - 2 p))``
   (a denominator <= 0 is replaced by 1);
4. raw score ``max(|f - s| + lp_gain * max(f, 0), exploration_bonus)``; a task with fewer than 2
   episodes scores ``exploration_bonus``;
5. tasks with a positive score: with more than 2 of them, z-score (population std; only centred if
   it is 0) times ``z_score_amplification`` -- or, with ``lp_score_temperature = T > 0``, the raw score
   divided by ``T`` instead; sigmoid (argument clipped to +-500); normalise; zero elsewhere;
6. mix ``(1 - rand_task_rate) * dist + rand_task_rate / T``.

Both presets multiply the z-scores by the amplification schedule (1 unless a variant sets one)
and the scores by the SPS gate (1 unless ``sps_gate > 0``) before the sigmoid.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy.signal import lfilter


def ema_rows(x: np.ndarray, alpha: float) -> np.ndarray:
    """EMA down axis 0 started at the first row: ``e_0 = x_0``, ``e_k = alpha x_k + (1 - alpha) e_{k-1}``."""
    if len(x) == 0:
        return x.astype(float)
    zi = (1 - alpha) * x[:1].astype(float)  # state that makes e_0 = x_0
    y, _ = lfilter([alpha], [1.0, -(1 - alpha)], x, axis=0, zi=zi)
    return np.asarray(y)


def reweight(p: np.ndarray, theta: float) -> np.ndarray:
    """``R(p) = p (1 - theta) / (p + theta (1 - 2 p))`` (syllabus' form, no guard)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return p * (1.0 - theta) / (p + theta * (1.0 - 2.0 * p))


def _sigmoid(z: np.ndarray, clip: bool) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500) if clip else -z))


def _masked_zscore(v: np.ndarray, mask: np.ndarray, unit_if_zero: bool) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise z-scores of ``v`` over ``mask`` (population std) and whether each row's std was > 0."""
    cnt = np.maximum(mask.sum(axis=1, keepdims=True), 1)
    mean = np.where(mask, v, 0.0).sum(axis=1, keepdims=True) / cnt
    dev = np.where(mask, v - mean, 0.0)
    std = np.sqrt((dev * dev).sum(axis=1, keepdims=True) / cnt)
    pos = std > 0
    denom = np.where(pos, std, 1.0)
    return (v - mean) / denom if unit_if_zero else np.where(pos, (v - mean) / denom, v - mean), pos[:, 0]


def _normalise_masked(w: np.ndarray, mask: np.ndarray) -> np.ndarray:
    w = np.where(mask, w, 0.0)
    total = w.sum(axis=1, keepdims=True)
    n = np.maximum(mask.sum(axis=1, keepdims=True), 1)
    return np.where(total > 0, w / np.where(total > 0, total, 1.0), np.where(mask, 1.0 / n, 0.0))


def syllabus_rows(codes: np.ndarray, x: np.ndarray, n_tasks: int, s: Mapping[str, Any],
                  amp: np.ndarray | None = None, gate: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """State and sampling distribution after every syllabus update (see the module docstring)."""
    u = s["update_interval"]
    k = len(codes) // u
    used = k * u
    interval = np.arange(used) // u
    flat = interval * n_tasks + codes[:used]
    succ = np.bincount(flat, weights=np.floor(np.maximum(x[:used], 0.0)), minlength=k * n_tasks)
    cnt = np.bincount(flat, minlength=k * n_tasks)
    rates = succ.reshape(k, n_tasks) / np.maximum(cnt.reshape(k, n_tasks), 1)
    if k == 0:
        empty = np.zeros((0, n_tasks))
        return {"fast": empty, "slow": empty, "lp": empty, "prob": empty, "episode": np.zeros(0, int)}
    base = np.minimum(rates[0], 0.75)
    norm = np.maximum(rates - base, 0.0) / (1.0 - base)
    a = s["ema_alpha"]
    fast = ema_rows(norm, a)
    slow = ema_rows(fast, a)
    true = ema_rows(rates, a)
    lp = np.abs(reweight(fast, s["p_theta"]) - reweight(slow, s["p_theta"]))
    if gate is not None:
        lp = lp * gate
    mask = (lp > 0) | (true > 0)
    none = ~mask.any(axis=1)
    mask[none] = True
    z, _ = _masked_zscore(lp, mask, unit_if_zero=True)
    if amp is not None:
        z = z * amp[:, None]
    dist = _normalise_masked(_sigmoid(z, clip=False), mask)
    up = s["uniform_prob"]
    dist = (1 - up) * dist + up / n_tasks
    dist = dist / dist.sum(axis=1, keepdims=True)
    return {"fast": fast, "slow": slow, "lp": lp, "prob": dist, "episode": (np.arange(k) + 1) * u - 1}


def metta_state(codes: np.ndarray, x: np.ndarray, n_tasks: int, s: Mapping[str, Any],
                at: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-task fast EMA, slow EMA and episode count after episode ``at[j]`` (arrays ``(len(at), T)``).

    Each task's EMAs run over its own episodes only (one ``lfilter`` per task); the state at an
    episode is the task's value after its last episode at or before it.
    """
    q = (np.clip(x, 0.0, 1.0) - 0.5) / 0.5
    ts = s["ema_timescale"]
    fast = np.zeros((len(at), n_tasks))
    slow = np.zeros((len(at), n_tasks))
    count = np.zeros((len(at), n_tasks), dtype=np.int64)
    for t in range(n_tasks):
        pos = np.flatnonzero(codes == t)
        if len(pos) == 0:
            continue
        f = ema_rows(q[pos], ts)
        sl = ema_rows(q[pos], ts * s["slow_timescale_factor"])
        n = np.searchsorted(pos, at, side="right")
        count[:, t] = n
        seen = n > 0
        fast[seen, t] = f[n[seen] - 1]
        slow[seen, t] = sl[n[seen] - 1]
    return fast, slow, count


def metta_scores(fast: np.ndarray, slow: np.ndarray, count: np.ndarray, s: Mapping[str, Any]) -> np.ndarray:
    """Raw Metta scores (step 4 of the module docstring), before normalisation."""
    m = s["progress_smoothing"]
    if m != 0.0:
        fast, slow = _metta_reweight(fast, m), _metta_reweight(slow, m)
    raw = np.abs(fast - slow) + np.maximum(fast, 0.0) * s["lp_gain"]
    raw = np.maximum(raw, s["exploration_bonus"])
    return np.where(count >= 2, raw, s["exploration_bonus"])


def _metta_reweight(p: np.ndarray, m: float) -> np.ndarray:
    den = p + m * (1.0 - 2.0 * p)
    return p * (1.0 - m) / np.where(den <= 0, 1.0, den)


def metta_distribution(raw: np.ndarray, active: np.ndarray, s: Mapping[str, Any],
                       amp: np.ndarray | None = None) -> np.ndarray:
    """Steps 5-6: sampling distribution over tasks from raw scores (``active``: tasks in the pool)."""
    mask = (raw > 0) & active
    temp = s["lp_score_temperature"]
    if temp > 0:
        z = raw / temp
    else:
        zs, _ = _masked_zscore(raw, mask, unit_if_zero=False)
        big = mask.sum(axis=1) > 2
        z = np.where(big[:, None], zs * s["z_score_amplification"], raw)
    if amp is not None:
        z = z * amp[:, None]
    dist = _normalise_masked(_sigmoid(z, clip=True), mask)
    r = s["rand_task_rate"]
    n_active = np.maximum(active.sum(axis=1, keepdims=True), 1)
    return (1 - r) * dist + r * np.where(active, 1.0 / n_active, 0.0)
