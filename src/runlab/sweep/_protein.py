"""Protein: cost-aware Bayesian optimisation over the cost-score Pareto front.

Two GPs are fit per suggestion: one on the (warped, standardised) score, one on log cost.
Candidates are drawn around each Pareto point of (cost, score), around the incumbent at finer
scales, and globally; each is scored by the acquisition times a cost weight that prefers a cost
level drawn at random across (and, with ``global_search_scale``, beyond) the observed cost range.

Differences from the original, on purpose:

* everything is maximised internally (``direction * score``), and candidates over
  ``max_suggestion_cost`` get ``-inf``, so no masked candidate can win under minimisation;
* failures are never successes or Pareto points; they steer suggestions away twice: the
  score GP sees them as the worst observed score, and a feasibility GP (on success/failure
  labels) multiplies the acquisition by the probability that a candidate does not fail;
* the cost weight is clipped at a small positive floor, never negative;
* ``global_search_scale`` widens the global candidates and the cost-target range;
* pending trials enter the score GP as the worst score (constant liar), and candidates equal
  to a pending point are dropped, so parallel workers get different suggestions;
* NaN/inf objectives are rejected at ``observe``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from runlab.sweep._optimizer import Observation, SweepOptimizer
from runlab.sweep._space import SweepConfig, load_sweep_config

_MAX_LOCAL_CANDIDATES = 4096
_WEIGHT_FLOOR = 1e-3
_FINE_SCALES = (0.25, 0.05)
_REFINE_WIDTHS = (0.1, 0.02)  # absolute half-widths in the [-1, 1] box
_REFINE_TOP = 8
_REFINE_SAMPLES = 256


def pareto_front(costs: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Indices of the points no other point beats on both lower cost and higher score.

    costs, scores (n,) -> indices sorted by cost. Ties in cost keep the best score only.
    """
    order = np.lexsort((-scores, costs))
    front, best = [], -np.inf
    for i in order:
        if scores[i] > best:
            front.append(i)
            best = scores[i]
    return np.array(front, dtype=int)


def _warp_scores(y: np.ndarray) -> np.ndarray:
    """Monotone Yeo-Johnson warp of standardised scores, so heavy tails (a few disastrous trials)
    do not flatten the GP around the optimum. Falls back to identity when it cannot be fit."""
    from scipy.stats import yeojohnson

    std = y.std()
    if len(y) < 4 or std <= 0:
        return y
    z = (y - y.mean()) / std
    try:
        warped, _ = yeojohnson(z)
    except (ValueError, FloatingPointError):
        return z
    return warped if np.all(np.isfinite(warped)) else z


def _single_blas_thread() -> contextlib.AbstractContextManager[Any]:
    """GP matrices have a few hundred rows: a multi-threaded BLAS spends more time synchronising
    than computing (10x slower on a busy machine), so one thread is used when threadpoolctl is
    installed."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


class Protein(SweepOptimizer):
    """Cost-aware GP optimiser. See the module docstring for the algorithm.

    >>> p = Protein({"metric": "reward", "goal": "maximize",
    ...              "parameters": {"lr": {"distribution": "log_normal", "min": 1e-5, "max": 1e-2}}},
    ...             seed=0)
    >>> suggestion, info = p.suggest()
    >>> p.observe(suggestion, score=0.5, cost=10.0).is_failure
    False
    """

    def __init__(self, sweep_config: Mapping[str, Any] | str | Path | SweepConfig, *,
                 seed: int | np.random.Generator | None = None) -> None:
        super().__init__(sweep_config, seed=seed)
        self.settings = self.config.protein
        self._suggestion_idx = 0
        self._theta_score: np.ndarray | None = None
        self._theta_cost: np.ndarray | None = None
        self._theta_feasible: np.ndarray | None = None

    def suggest(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """Next parameters (nested dict of plain Python numbers) and an info dict with the phase
        and, in the GP phase, the predicted score and cost."""
        self._suggestion_idx += 1
        n_ok = len(self.successes)
        info: dict[str, Any] = {"n_observations": len(self.observations), "n_pending": len(self._pending)}
        if not self.observations and not self._pending:
            return self._result(self.space.snap(self.space.center)[0], {**info, "phase": "center"})
        n_started = len(self.observations) + len(self._pending)
        if n_started < self.settings.num_random_samples or n_ok < 2:
            return self._result(self._random_point(), {**info, "phase": "random"})
        freq = self.settings.resample_frequency
        if freq and self._suggestion_idx % freq == 0:
            ok = self.successes
            front = pareto_front(*self._cost_score(ok))
            pick = ok[int(front[self._rng.integers(len(front))])]
            return self._result(pick.unit, {**info, "phase": "resample"})
        return self._bayes(info)

    # -- phases -------------------------------------------------------------------------------
    def _random_point(self) -> np.ndarray:
        # Around the search centre, within scale * global_search_scale: the user's mean and
        # scale say where trials are sensible (and affordable) before any model exists.
        width = max(self.settings.global_search_scale, 1e-9)
        for _ in range(64):
            unit = self.space.snap(self.space.sample(self._rng, 1, scale=width))[0]
            if not self._is_taken(unit):
                return unit
        return unit

    def _cost_score(self, obs: list[Observation]) -> tuple[np.ndarray, np.ndarray]:
        costs = np.array([o.cost for o in obs], dtype=float)
        scores = self.config.direction * np.array([o.score for o in obs], dtype=float)
        return costs, scores

    def _candidates(self, ok: list[Observation], front: np.ndarray, best: int) -> np.ndarray:
        """Local (around Pareto points and the incumbent) and global candidates, (m, dim)."""
        s = self.settings
        centres = np.stack([ok[i].unit for i in front])
        n_local = min(s.suggestions_per_pareto * len(centres), _MAX_LOCAL_CANDIDATES)
        parts = [self.space.sample(self._rng, n_local, mu=centres)]
        for fine in _FINE_SCALES:
            parts.append(self.space.sample(self._rng, s.suggestions_per_pareto, mu=ok[best].unit, scale=fine))
        width = 2.0 * max(s.global_search_scale, 1e-9)
        parts.append(self.space.sample(self._rng, s.random_suggestions, scale=width))
        cands = self.space.snap(np.vstack(parts))
        if self._pending:
            pend = np.stack(self._pending)
            taken = (np.abs(cands[:, None, :] - pend[None, :, :]).max(-1) < 1e-9).any(1)
            if not taken.all():
                cands = cands[~taken]
        return cands

    def _bayes(self, info: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        with _single_blas_thread():
            return self._bayes_step(info)

    def _bayes_step(self, info: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        from scipy.special import ndtr

        from runlab.sweep._gp import fit_gp

        t0 = time.perf_counter()
        ok, failed = self.successes, self.failures
        costs, scores = self._cost_score(ok)
        x_ok = (np.stack([o.unit for o in ok]) + 1.0) / 2.0  # GP works on [0, 1]^d
        y = _warp_scores(scores)
        worst = float(y.min())
        x_fit, y_fit = x_ok, y
        if failed:  # a failure also scores as the worst success: no optimism left around it
            x_fit = np.vstack([x_ok, (np.stack([o.unit for o in failed]) + 1.0) / 2.0])
            y_fit = np.concatenate([y, np.full(len(failed), worst)])
        gp = fit_gp(x_fit, y_fit, warm_start=self._theta_score)
        self._theta_score = gp.theta
        if self._pending:  # constant liar: in-flight points count as the worst score
            gp = gp.conditioned((np.stack(self._pending) + 1.0) / 2.0, np.full(len(self._pending), worst))

        log_c = np.log(costs)
        c_lo, c_hi = float(log_c.min()), float(log_c.max())
        cost_gp = target = None
        if c_hi - c_lo > 1e-9:
            cost_gp = fit_gp(x_ok, log_c, warm_start=self._theta_cost)
            self._theta_cost = cost_gp.theta
            target = (1.0 + self.settings.global_search_scale) * self._rng.uniform()
        feasible_gp = self._feasibility_model(x_ok, failed)
        best_y = float(y.max())

        def evaluate(cands: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            """Acquisition, predicted score and log cost of box points (m, d) -> 3 x (m,)."""
            xc = (cands + 1.0) / 2.0
            mean, std = gp.predict(xc)
            if cost_gp is not None:
                pred_log_c = cost_gp.predict(xc)[0]
                c_norm = (pred_log_c - c_lo) / (c_hi - c_lo)
                weight = np.clip(1.0 - np.abs(target - c_norm), _WEIGHT_FLOOR, 1.0)
            else:
                pred_log_c, weight = np.full(len(cands), c_lo), np.ones(len(cands))
            acq = self._acquisition(mean, std, best_y, weight, pred_log_c - c_lo)
            if feasible_gp is not None:  # expected improvement *given* the trial does not fail
                f_mean, f_std = feasible_gp.predict(xc)
                feasible = np.clip(ndtr((f_mean - 0.5) / np.sqrt(f_std**2 + 0.01)), _WEIGHT_FLOOR, 1.0)
                acq = acq + np.log(feasible) if self.settings.acquisition == "ei" else acq * feasible
            cap = self.settings.max_suggestion_cost
            if cap is not None:
                over = np.exp(pred_log_c) > cap
                acq = np.where(over, -np.inf, acq)
                if over.all():  # nothing predicted under the cap: take the cheapest candidate
                    acq = -pred_log_c
            return acq, mean, pred_log_c

        front = pareto_front(costs, scores)
        cands = self._candidates(ok, front, int(np.argmax(scores)))
        acq, mean, pred_log_c = evaluate(cands)
        cands, acq, mean, pred_log_c = self._refine(cands, acq, mean, pred_log_c, evaluate)
        pick = int(np.argmax(acq))
        info.update(
            phase="bayes",
            acquisition=self.settings.acquisition,
            predicted_score=self._to_user_score(float(mean[pick]), scores, y),
            predicted_cost=float(np.exp(pred_log_c[pick])),
            acquisition_value=float(np.exp(acq[pick]) if self.settings.acquisition == "ei" else acq[pick]),
            cost_target=None if target is None else float(target),
            n_candidates=len(cands),
            pareto_size=len(front),
            seconds=time.perf_counter() - t0,
        )
        return self._result(cands[pick], info)

    def _feasibility_model(self, x_ok: np.ndarray, failed: list[Observation]) -> Any:
        """GP on 1 (success) / 0 (failure) labels, or ``None`` without failures. Its prediction
        gives the probability that a candidate does not fail, which multiplies the acquisition."""
        if not failed:
            return None
        from runlab.sweep._gp import fit_gp

        x_fail = (np.stack([o.unit for o in failed]) + 1.0) / 2.0
        labels = np.concatenate([np.ones(len(x_ok)), np.zeros(len(x_fail))])
        model = fit_gp(np.vstack([x_ok, x_fail]), labels, warm_start=self._theta_feasible)
        self._theta_feasible = model.theta
        return model

    def _refine(self, cands: np.ndarray, acq: np.ndarray, mean: np.ndarray, pred_log_c: np.ndarray,
                evaluate: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Zoom in on the best candidates: sample around the top few at shrinking widths and keep
        everything seen. Random candidates alone leave the acquisition's peak unresolved in more
        than two or three dimensions. Shapes as given, with rows appended."""
        for width in _REFINE_WIDTHS:
            top = cands[np.argsort(-acq)[:_REFINE_TOP]]
            rows = top[self._rng.integers(0, len(top), size=_REFINE_SAMPLES)]
            step = width * self._rng.uniform(-1.0, 1.0, size=rows.shape)
            new = self.space.snap(np.clip(rows + step, -1.0, 1.0))
            if self._pending:
                pend = np.stack(self._pending)
                new = new[~(np.abs(new[:, None, :] - pend[None]).max(-1) < 1e-9).any(1)]
            if not len(new):
                continue
            a, m, c = evaluate(new)
            cands, acq = np.vstack([cands, new]), np.concatenate([acq, a])
            mean, pred_log_c = np.concatenate([mean, m]), np.concatenate([pred_log_c, c])
        return cands, acq, mean, pred_log_c

    def _acquisition(self, mean: np.ndarray, std: np.ndarray, best: float, weight: np.ndarray,
                     rel_log_cost: np.ndarray) -> np.ndarray:
        """Higher is better. ``ei`` is expected improvement per unit of predicted cost (relative to
        the cheapest observation), so cheap trials map the landscape before dear ones refine it;
        ``ucb`` and ``naive`` multiply a non-negative score by the Protein cost weight."""
        from runlab.sweep._gp import log_expected_improvement, upper_confidence_bound

        kind = self.settings.acquisition
        if kind == "ei":
            return log_expected_improvement(mean, std, best) - np.maximum(rel_log_cost, 0.0)
        raw = mean if kind == "naive" else upper_confidence_bound(mean, std, self.settings.ucb_beta)
        spread = float(np.ptp(raw))
        positive = (raw - raw.min()) / spread if spread > 0 else np.ones_like(raw)
        return positive * weight

    def _to_user_score(self, warped: float, scores: np.ndarray, y: np.ndarray) -> float:
        """Map a warped prediction back to user units by monotone interpolation over observations."""
        order = np.argsort(y)
        internal = float(np.interp(warped, y[order], scores[order]))
        return self.config.direction * internal


def make_optimizer(sweep_config: Mapping[str, Any] | str | Path | SweepConfig, *,
                   seed: int | np.random.Generator | None = None) -> SweepOptimizer:
    """The optimiser the config's ``method`` names: Protein (bayes), random or grid search."""
    from runlab.sweep._grid import GridSearch
    from runlab.sweep._random import RandomSearch

    config = load_sweep_config(sweep_config)
    kinds: dict[str, type[SweepOptimizer]] = {"bayes": Protein, "random": RandomSearch, "grid": GridSearch}
    return kinds[config.method](config, seed=seed)


__all__ = ["Protein", "make_optimizer", "pareto_front"]
