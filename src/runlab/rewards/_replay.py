"""``replay``: run an LP scorer offline on a recorded episode stream and report what it would sample.

The recorded stream is fixed: every episode feeds the scorer in completion order, whatever the
scorer would have drawn, so a replay shows how a scorer *reads* a training's reward streams
(selectivity, how fast it reacts to a task that starts improving, how noisy its signal is), not
how it would have steered that training.

Active pool (metta ``num_active_tasks`` below the task count): the pool starts with the first
tasks seen; at an update where a pool task has had ``min_presentations`` episodes since it joined,
the lowest-scoring such task is evicted when its score is at or below the score at the
``eviction_percentile`` of the pool (Metta's rule) and the longest-waiting task outside the pool
joins. An evicted task keeps its EMAs (its recorded episodes keep arriving), but gets no
probability while outside the pool.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from runlab.errors import InputError
from runlab.rewards._lp import ema_rows, metta_distribution, metta_scores, metta_state, syllabus_rows
from runlab.rewards._scorer import LPScorer
from runlab.rewards._summary import summarize


@dataclass(frozen=True)
class ReplayResult:
    """What the scorer would have sampled after every update."""

    scorer: LPScorer
    tasks: list[str]
    """Task names; column ``t`` of the matrices is ``tasks[t]``."""
    episode: np.ndarray
    """``(updates,)`` the episode after which each update happened."""
    prob: np.ndarray
    """``(updates, tasks)`` sampling distribution after each update."""
    fast: np.ndarray
    slow: np.ndarray
    learning_progress: np.ndarray
    """``(updates, tasks)``: syllabus ``|R(fast) - R(slow)|``; metta the raw score before normalisation."""
    summary: dict[str, Any]
    """Selectivity, tracking lag and LP noise (see :mod:`runlab.rewards._summary`)."""
    per_update: pd.DataFrame
    """``update, episode, gini, entropy`` per update."""

    @property
    def probabilities(self) -> pd.DataFrame:
        """Long form: ``update, episode, task, probability, fast, slow, learning_progress``."""
        k, t = self.prob.shape
        return pd.DataFrame({
            "update": np.repeat(np.arange(k), t), "episode": np.repeat(self.episode, t),
            "task": np.tile(np.asarray(self.tasks, dtype=object), k), "probability": self.prob.ravel(),
            "fast": self.fast.ravel(), "slow": self.slow.ravel(),
            "learning_progress": self.learning_progress.ravel(),
        })


def replay(episodes: pd.DataFrame, scorer: LPScorer, tasks: Sequence[str] | None = None, *,
           on_progress: Callable[[int, int], None] | None = None) -> ReplayResult:
    """Replay ``episodes`` (columns ``episode, task, reward``, optional ``sps``) through ``scorer``.

    ``tasks`` fixes the task set and order (tasks never seen get only the uniform share); by
    default the tasks in order of first appearance. Deterministic: the same input gives the same
    result.
    """
    codes, names, x, sps = _prepare(episodes, scorer, tasks)
    s = scorer.settings
    n_tasks = len(names)
    k = len(codes) // s["update_interval"]
    at = (np.arange(k) + 1) * s["update_interval"] - 1
    amp = amplification(s, k)
    gate = sps_gate(codes, sps, at, n_tasks, s["sps_gate"]) if s["sps_gate"] > 0 else None
    if scorer.preset == "syllabus":
        rows = syllabus_rows(codes, x, n_tasks, s, amp=amp, gate=gate)
        fast, slow, lp, prob = rows["fast"], rows["slow"], rows["lp"], rows["prob"]
    else:
        fast, slow, count = metta_state(codes, x, n_tasks, s, at)
        lp = metta_scores(fast, slow, count, s)
        if gate is not None:
            lp = lp * gate
        active = pool_masks(lp, count, codes, at, n_tasks, s)
        prob = metta_distribution(lp, active, s, amp=amp)
    if on_progress is not None:
        on_progress(k, k)
    summary, per_update = summarize(prob, lp, codes, x, at, names)
    return ReplayResult(scorer=scorer, tasks=names, episode=at, prob=prob, fast=fast, slow=slow,
                        learning_progress=lp, summary=summary, per_update=per_update)


def _prepare(episodes: pd.DataFrame, scorer: LPScorer, tasks: Sequence[str] | None
             ) -> tuple[np.ndarray, list[str], np.ndarray, np.ndarray]:
    missing = [c for c in ("task", "reward") if c not in episodes.columns]
    if missing:
        raise InputError(f"episode stream lacks column(s) {missing}",
                         hint="replay needs columns episode, task, reward (in completion order)")
    ep = episodes.sort_values("episode", kind="stable") if "episode" in episodes else episodes
    ep = ep[np.isfinite(pd.to_numeric(ep["reward"], errors="coerce").to_numpy(dtype=float))]
    if ep.empty:
        raise InputError("the episode stream has no finite rewards to replay")
    task_col = ep["task"].astype(str)
    names = [str(t) for t in tasks] if tasks is not None else list(dict.fromkeys(task_col))
    lookup = {n: i for i, n in enumerate(names)}
    unknown = sorted(set(task_col) - set(lookup))
    if unknown:
        raise InputError(f"episodes of task(s) {unknown[:5]} are not in the given task list",
                         hint="add them to tasks=..., or leave tasks unset")
    codes = task_col.map(lookup).to_numpy(dtype=np.int64)
    reward = ep["reward"].to_numpy(dtype=float)
    sps = ep["sps"].to_numpy(dtype=float) if "sps" in ep else np.full(len(ep), np.nan)
    return codes, names, score_input(reward, codes, len(names), scorer.settings, ep), sps


def score_input(reward: np.ndarray, codes: np.ndarray, n_tasks: int, s: dict[str, Any],
                episodes: pd.DataFrame | None = None) -> np.ndarray:
    """What the scorer sees per episode (the ``input`` hook; see :mod:`runlab.rewards._scorer`)."""
    kind = s["input"]
    if callable(kind):
        out = np.asarray(kind(episodes), dtype=float)
        if out.shape != reward.shape:
            raise InputError(f"the input function returned shape {out.shape}, expected {reward.shape}")
        return out
    if kind == "reward":
        return reward
    if kind == "success":
        return (reward >= s["success_threshold"]).astype(float)
    if kind == "advantage":
        reward = _advantage(reward, codes, n_tasks, s["advantage_alpha"])
    lo, hi = np.min(reward), np.max(reward)
    return (reward - lo) / (hi - lo) if hi > lo else np.zeros_like(reward)


def _advantage(reward: np.ndarray, codes: np.ndarray, n_tasks: int, alpha: float) -> np.ndarray:
    """Reward minus the task's EMA of its earlier rewards (0 for a task's first episode)."""
    out = np.zeros_like(reward)
    for t in range(n_tasks):
        pos = np.flatnonzero(codes == t)
        if len(pos) > 1:
            base = ema_rows(reward[pos], alpha)
            out[pos[1:]] = reward[pos[1:]] - base[:-1]
    return out


def amplification(s: dict[str, Any], k: int) -> np.ndarray | None:
    """Per-update multiplier of the z-scores (``None`` for the constant schedule at 1)."""
    kind, a, b = s["amplification_schedule"], s["amplification_start"], s["amplification_end"]
    frac = np.arange(k) / max(k - 1, 1)
    if kind == "constant":
        return None if a == 1.0 else np.full(k, a)
    if kind == "linear":
        return a + (b - a) * frac
    if kind == "cosine":
        return b + (a - b) * 0.5 * (1 + np.cos(np.pi * frac))
    return np.where(frac < s["anneal_fraction"], a, b)


def sps_gate(codes: np.ndarray, sps: np.ndarray, at: np.ndarray, n_tasks: int, g: float) -> np.ndarray:
    """``(task mean SPS so far / median over tasks) ** g`` at each update; 1 where SPS is unknown."""
    ok = np.isfinite(sps)
    mean = np.full((len(at), n_tasks), np.nan)
    for t in range(n_tasks):
        pos = np.flatnonzero((codes == t) & ok)
        if len(pos):
            csum = np.cumsum(sps[pos])
            n = np.searchsorted(pos, at, side="right")
            seen = n > 0
            mean[seen, t] = csum[n[seen] - 1] / n[seen]
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: no task has SPS yet
        med = np.nanmedian(mean, axis=1, keepdims=True)
        factor = (mean / med) ** g
    return np.where(np.isfinite(factor), factor, 1.0)


def pool_masks(scores: np.ndarray, count: np.ndarray, codes: np.ndarray, at: np.ndarray, n_tasks: int,
               s: dict[str, Any]) -> np.ndarray:
    """``(updates, tasks)`` pool membership under Metta's eviction rule (module docstring)."""
    cap = s.get("num_active_tasks", 0)
    k = len(at)
    if not cap or cap >= n_tasks:
        return np.ones((k, n_tasks), dtype=bool)
    order = list(dict.fromkeys(codes.tolist())) + [t for t in range(n_tasks) if t not in set(codes.tolist())]
    pool, reserve = order[:cap], order[cap:]
    joined = dict.fromkeys(pool, 0)
    out = np.zeros((k, n_tasks), dtype=bool)
    for j in range(k):
        eligible = [t for t in pool if count[j, t] - joined[t] >= s["min_presentations"]]
        if eligible and reserve:
            ranked = np.sort(scores[j, pool])
            threshold = ranked[max(0, int(len(ranked) * s["eviction_percentile"]))]
            worst = min(eligible, key=lambda t: scores[j, t])
            if scores[j, worst] <= threshold:
                pool.remove(worst)
                reserve.append(worst)
                newcomer = reserve.pop(0)
                pool.append(newcomer)
                joined[newcomer] = int(count[j, newcomer])
        out[j, pool] = True
    return out
