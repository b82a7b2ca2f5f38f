"""Protein: cost-aware Bayesian optimisation over the cost-score Pareto front.

Two GPs (ARD Matern-5/2 on the unit box, MAP hyperparameters warm-started from the previous
fit, with restarts while data are few) are fit per suggestion: one on the (Yeo-Johnson warped)
score, reverting to a low quantile of the scores far from data, one on log cost. Candidates are drawn around each Pareto point of (cost, score), around the incumbent at
finer scales, and globally; each is scored by the acquisition (``_acquire``), and the best
are then climbed by L-BFGS-B on the acquisition's analytic gradient, so the peak is found
rather than approximated by the best random draw. The random phase uses a scrambled Sobol
design around the search centre.

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

from runlab.sweep._acquire import Acquisition, CostModel
from runlab.sweep._optimizer import Observation, SweepOptimizer
from runlab.sweep._pareto import pareto_front
from runlab.sweep._space import NumericParam, SweepConfig, load_sweep_config

_MAX_LOCAL_CANDIDATES = 4096
_CLIMB_STARTS = 10
_RESTART_MAX_OBS = 80
_WARM_MAX_ITER = 15
# Far from data the score GP reverts to this quantile of the observed scores, not their mean:
# unexplored corners are then presumed mediocre, as most of a search space is, and expected
# improvement stops paying for far-off trials that the few good ones made look promising.
_PRIOR_MEAN_QUANTILE = 0.25
_GLOBAL_WIDTH = 2.0  # global candidates reach this many parameter scales (x global_search_scale)
_FINE_SCALES = (0.25, 0.05)
_REFINE_WIDTHS = (0.1, 0.02)  # absolute half-widths in the [-1, 1] box
_REFINE_TOP = 8
_REFINE_SAMPLES = 256


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


def _cost_aversion(rng: np.random.Generator) -> float:
    """The exponent a of ``ei``'s EI / cost^a for one suggestion: u^3 with u uniform, Protein's
    random cost target in exponent form. Most suggestions then weigh cost lightly and chase the
    score; about one in five is strongly cost-averse and maps the landscape cheaply. Always
    a = 1 spends too many trials on cheap, short runs and leaves the best score short; a = 0
    ignores cost."""
    return float(rng.uniform()) ** 3


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
                 seed: int | np.random.Generator | None = None, design_seed: int | None = None,
                 design_offset: int = 0) -> None:
        """``design_seed`` and ``design_offset`` matter to callers that build a new Protein for
        every suggestion (the Optuna sampler): the random phase then walks one Sobol design (the
        one ``seed=design_seed`` would draw) from point ``design_offset`` on, instead of each
        instance restarting a design of its own. By default the design is drawn from ``seed``'s
        generator, from point 0."""
        super().__init__(sweep_config, seed=seed)
        self.settings = self.config.protein
        self._suggestion_idx = 0
        self._theta_score: np.ndarray | None = None
        self._theta_cost: np.ndarray | None = None
        self._theta_feasible: np.ndarray | None = None
        self._design: np.ndarray | None = None  # space-filling points of the random phase
        self._design_seed = design_seed
        self._design_idx = max(int(design_offset), 0)

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
        """Around the search centre, within scale * global_search_scale: the user's mean and
        scale say where trials are sensible (and affordable) before any model exists. Points
        come from a scrambled Sobol sequence (seeded from the optimiser's generator), which
        covers the box more evenly than independent draws; taken points fall back to draws."""
        width = max(self.settings.global_search_scale, 1e-9)
        if self._design is None:
            from scipy.stats import qmc

            n = 1 << max(self.settings.num_random_samples - 1, self._design_idx, 1).bit_length()
            source = self._rng if self._design_seed is None else np.random.default_rng(self._design_seed)
            self._design = qmc.Sobol(self.space.dim, scramble=True, seed=source).random(n)
        if self._design_idx < len(self._design):
            u = self._design[self._design_idx]
            self._design_idx += 1
            unit = self.space.snap(np.clip(self.space.center + width * self.space.scales * (2.0 * u - 1.0),
                                           -1.0, 1.0))[0]
            if not self._is_taken(unit):
                return unit
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
        width = _GLOBAL_WIDTH * max(s.global_search_scale, 1e-9)
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
        t0 = time.perf_counter()
        ok = self.successes
        costs, scores = self._cost_score(ok)
        y = _warp_scores(scores)
        acquisition = self._build_acquisition(ok, costs, y)
        front = pareto_front(costs, scores)
        cands = self._candidates(ok, front, int(np.argmax(scores)))
        acquisition.calibrate((cands + 1.0) / 2.0)

        def evaluate(box: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            return acquisition.evaluate((box + 1.0) / 2.0)

        acq, mean, pred_log_c = evaluate(cands)
        cands, acq, mean, pred_log_c = self._refine(cands, acq, mean, pred_log_c, evaluate)
        incumbent = ok[int(np.argmax(scores))].unit
        cands, acq, mean, pred_log_c = self._climb(cands, acq, mean, pred_log_c, acquisition, evaluate, incumbent)
        # Nothing predicted under the cost cap: the cheapest candidate is the best bet.
        pick = int(np.argmax(acq)) if np.isfinite(acq).any() else int(np.argmin(pred_log_c))
        info.update(
            phase="bayes",
            acquisition=self.settings.acquisition,
            predicted_score=self._to_user_score(float(mean[pick]), scores, y),
            predicted_cost=float(np.exp(pred_log_c[pick])),
            acquisition_value=float(np.exp(acq[pick]) if self.settings.acquisition == "ei" else acq[pick]),
            cost_target=None if acquisition.target is None else float(acquisition.target),
            n_candidates=len(cands),
            pareto_size=len(front),
            seconds=time.perf_counter() - t0,
        )
        return self._result(cands[pick], info)

    def _build_acquisition(self, ok: list[Observation], costs: np.ndarray, y: np.ndarray) -> Acquisition:
        """Fit the score, cost and feasibility GPs (warm-started from the previous fit)."""
        from runlab.sweep._gp import fit_gp

        failed = self.failures
        x_ok = (np.stack([o.unit for o in ok]) + 1.0) / 2.0  # GP works on [0, 1]^d
        worst = float(y.min())
        x_fit, y_fit = x_ok, y
        if failed:  # a failure also scores as the worst success: no optimism left around it
            x_fit = np.vstack([x_ok, (np.stack([o.unit for o in failed]) + 1.0) / 2.0])
            y_fit = np.concatenate([y, np.full(len(failed), worst)])
        prior_mean = float(np.quantile(y_fit, _PRIOR_MEAN_QUANTILE))
        gp = fit_gp(x_fit, y_fit, warm_start=self._theta_score, prior_mean=prior_mean,
                    **self._fit_budget(len(y_fit), self._theta_score))
        self._theta_score = gp.theta
        if self._pending:  # constant liar: in-flight points count as the worst score
            gp = gp.conditioned((np.stack(self._pending) + 1.0) / 2.0, np.full(len(self._pending), worst))
        log_c = np.log(costs)
        cost = CostModel(None, float(log_c.min()), float(log_c.max()))
        target = None
        if cost.hi - cost.lo > 1e-9:
            cost.gp = fit_gp(x_ok, log_c, warm_start=self._theta_cost,
                             **self._fit_budget(len(x_ok), self._theta_cost))
            self._theta_cost = cost.gp.theta
            target = (1.0 + self.settings.global_search_scale) * self._rng.uniform()
        # The incumbent is the best *predicted* score among observed points, not the best
        # observed one: with a noisy objective (RL returns) a lucky observation would otherwise
        # set a bar that only wild exploration can clear. Noise-free, the two coincide.
        best = float(gp.predict(x_ok)[0].max())
        return Acquisition(kind=self.settings.acquisition, score_gp=gp, best=best, cost=cost,
                           feasible_gp=self._feasibility_model(x_ok, failed), target=target,
                           cap=self.settings.max_suggestion_cost, ucb_beta=self.settings.ucb_beta,
                           cost_aversion=_cost_aversion(self._rng) if target is not None else 1.0)

    @staticmethod
    def _fit_budget(n: int, warm_start: np.ndarray | None) -> dict[str, int]:
        """Hyperparameter-fit effort by data size. While data are few the marginal likelihood is
        often multimodal and a fit is cheap: restart from fixed points too. With many, one
        warm-started refit of limited length per suggestion (it resumes where the previous one
        stopped, so the hyperparameters still converge over successive suggestions)."""
        if n <= _RESTART_MAX_OBS or warm_start is None:
            return {"restarts": 2, "max_iter": 200}
        return {"restarts": 0, "max_iter": _WARM_MAX_ITER}

    def _climb(self, cands: np.ndarray, acq: np.ndarray, mean: np.ndarray, pred_log_c: np.ndarray,
               acquisition: Acquisition, evaluate: Any,
               incumbent: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Gradient ascent (L-BFGS-B) of the acquisition from the best distinct candidates, over
        the numeric dimensions (integers relaxed, then snapped); categorical choices stay as
        sampled. The end points join the candidates and are judged by the exact acquisition."""
        from runlab.sweep._gp import maximize_from_starts

        free = np.array([isinstance(p, NumericParam) for p in self.space.params])
        finite = np.isfinite(acq)
        if not free.any() or not finite.any():
            return cands, acq, mean, pred_log_c
        starts = self._climb_starts(cands, acq, incumbent)
        ends, _ = maximize_from_starts(acquisition.value_grad, (starts + 1.0) / 2.0, free)
        new = self.space.snap(2.0 * ends - 1.0)
        if self._pending:
            pend = np.stack(self._pending)
            new = new[~(np.abs(new[:, None, :] - pend[None]).max(-1) < 1e-9).any(1)]
        if not len(new):
            return cands, acq, mean, pred_log_c
        a, m, c = evaluate(new)
        return (np.vstack([cands, new]), np.concatenate([acq, a]), np.concatenate([mean, m]),
                np.concatenate([pred_log_c, c]))

    def _climb_starts(self, cands: np.ndarray, acq: np.ndarray, incumbent: np.ndarray) -> np.ndarray:
        """The best candidate, the incumbent (its neighbourhood is where a trust region would
        look) and others drawn with probability proportional to exp(acquisition) (a roulette
        wheel, as Optuna does): mostly near the peak, sometimes in a second basin."""
        finite = np.flatnonzero(np.isfinite(acq))
        top = int(finite[np.argmax(acq[finite])])
        chosen = [top]
        weights = np.exp(acq[finite] - acq[top])
        weights[finite == top] = 0.0
        n_more = min(_CLIMB_STARTS - 2, int(np.count_nonzero(weights > 0)))
        if n_more > 0:
            chosen += self._rng.choice(finite, size=n_more, replace=False, p=weights / weights.sum()).tolist()
        return np.vstack([cands[chosen], incumbent[None, :]])

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
        everything seen. This reaches discrete neighbours the gradient climb cannot. Shapes as
        given, with rows appended."""
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


__all__ = ["Protein", "make_optimizer"]
