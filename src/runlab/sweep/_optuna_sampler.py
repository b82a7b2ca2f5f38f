"""Protein as an Optuna sampler: see :mod:`runlab.sweep.optuna` for what each trial means to it."""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.samplers import BaseSampler, RandomSampler
from optuna.study import Study, StudyDirection
from optuna.trial import FrozenTrial, TrialState

from runlab.errors import InputError
from runlab.sweep._protein import Protein
from runlab.sweep._space import (
    CategoricalParam,
    NumericParam,
    Param,
    ParameterSpace,
    ProteinSettings,
    SweepConfig,
)

log = logging.getLogger(__name__)

#: System attribute holding the parameters a trial was given by :meth:`ProteinSampler.sample_relative`.
PARAMS_ATTR = "runlab_protein:params"
#: System attribute holding the cost :meth:`ProteinSampler.after_trial` recorded for a trial.
COST_ATTR = "runlab_protein:cost"
#: User attribute holding a trial's cost (set it in the objective: ``trial.set_user_attr("cost", s)``).
COST_USER_ATTR = "cost"
_MAX_CLASHES = 3  # re-suggestions after finding another worker's identical pending point


# -- Optuna distributions on Protein's box ----------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class _GridParam(NumericParam):
    """A numeric parameter restricted to ``min + k * step``: Optuna's stepped floats and every
    integer distribution (log integers are log-scaled, then rounded to whole numbers)."""

    step: float
    integer: bool

    def unnormalize(self, z: Any) -> np.ndarray:
        raw = super().unnormalize(z)
        k = np.round((raw - self.min) / self.step)
        return np.clip(self.min + k * self.step, self.min, self.max)

    def to_python(self, value: float) -> int | float:
        return round(float(value)) if self.integer else float(value)


def _param(path: str, dist: BaseDistribution) -> Param:
    """One Optuna distribution as a parameter of Protein's space (searched over the whole range)."""
    if isinstance(dist, CategoricalDistribution):
        # Choices are indices: Optuna's choices may be of mixed types, or equal across types.
        return CategoricalParam(path=path, values=tuple(range(len(dist.choices))), mean=0, scale=1.0)
    if not isinstance(dist, FloatDistribution | IntDistribution):
        raise InputError(f"ProteinSampler cannot search a {type(dist).__name__}, got {dist!r}")
    lo, hi = float(dist.low), float(dist.high)
    kind = "log_normal" if dist.log else "uniform"
    mean = float(NumericParam(path=path, distribution=kind, min=lo, max=hi, mean=lo, scale=1.0).unnormalize(0.0))
    integer = isinstance(dist, IntDistribution)
    if integer or dist.step is not None:
        step = float(dist.step) if dist.step is not None else 1.0
        return _GridParam(path=path, distribution=kind, min=lo, max=hi, mean=mean, scale=1.0, step=step,
                          integer=integer)
    return NumericParam(path=path, distribution=kind, min=lo, max=hi, mean=mean, scale=1.0)


class _SpaceMap:
    """The relative search space as Protein's :class:`ParameterSpace` (paths ``p0, p1, ...``, so
    parameter names with dots never nest) and the maps between Optuna values and its points."""

    def __init__(self, search_space: Mapping[str, BaseDistribution]) -> None:
        self.names = list(search_space)
        self.dists = [search_space[n] for n in self.names]
        self.paths = [f"p{i}" for i in range(len(self.names))]
        self.space = ParameterSpace([_param(p, d) for p, d in zip(self.paths, self.dists, strict=True)])

    def internal(self, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """Optuna parameter values -> Protein's flat values; ``None`` when one is missing or is not
        a value of its distribution. (Protein itself rejects numbers outside the bounds.)"""
        out: dict[str, Any] = {}
        for name, path, dist in zip(self.names, self.paths, self.dists, strict=True):
            if name not in params:
                return None
            try:
                value = dist.to_internal_repr(params[name])
            except (ValueError, TypeError):
                return None
            out[path] = int(value) if isinstance(dist, CategoricalDistribution) else float(value)
        return out

    def external(self, flat: Mapping[str, Any]) -> dict[str, Any]:
        """Protein's flat suggestion -> Optuna parameter values (plain Python numbers or choices)."""
        out: dict[str, Any] = {}
        for name, path, dist in zip(self.names, self.paths, self.dists, strict=True):
            value = flat[path]
            if isinstance(dist, CategoricalDistribution):
                out[name] = dist.to_external_repr(int(value))
            elif isinstance(dist, IntDistribution):
                out[name] = int(value)
            else:
                out[name] = float(value)
        return out


# -- what a trial means to Protein -------------------------------------------------------------
def _positive(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) and value > 0 else None


def trial_cost(trial: FrozenTrial) -> float | None:
    """``user_attrs["cost"]`` if it is a finite positive number, else the cost recorded at
    ``after_trial``, else the trial's duration in seconds; ``None`` when none is known."""
    for value in (trial.user_attrs.get(COST_USER_ATTR), trial.system_attrs.get(COST_ATTR)):
        cost = _positive(value)
        if cost is not None:
            return cost
    if trial.datetime_start is not None and trial.datetime_complete is not None:
        return _positive((trial.datetime_complete - trial.datetime_start).total_seconds())
    return None


def _given_params(trial: FrozenTrial) -> dict[str, Any]:
    """The parameters a running trial has, including relative ones it has not asked for yet."""
    shared = trial.system_attrs.get(PARAMS_ATTR)
    params = dict(json.loads(shared)) if isinstance(shared, str) else {}
    params.update(trial.params)
    return params


def _repeats_observation(protein: Protein, suggestion: Mapping[str, Any]) -> bool:
    """Whether the suggestion is a point already observed: worth another trial only when Protein
    re-tries Pareto points on purpose (``resample_frequency``); otherwise it is suggested again
    with that point held pending (in a space with few points, up to a few times)."""
    if protein.settings.resample_frequency:
        return False
    unit = protein.space.to_unit(suggestion)
    return any(np.allclose(o.unit, unit, rtol=0.0, atol=1e-9) for o in protein.observations)


def _taken_by_earlier(study: Study, trial: FrozenTrial, params: Mapping[str, Any]) -> bool:
    """Whether a running trial numbered before ``trial`` was given exactly ``params``.

    Two workers sampling at the same moment do not see each other's pending point, and the
    gradient climb can take both to the same point (a corner of the box, say). Each writes its
    point first and then looks: the later-numbered trial of a clashing pair always sees the other
    and suggests again with that point pending, whatever the interleaving.
    """
    for other in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if other.number < trial.number:
            given = _given_params(other)
            if all(name in given and given[name] == value for name, value in params.items()):
                return True
    return False


def _single_objective(study: Study) -> StudyDirection:
    if len(study.directions) != 1:
        raise ValueError(f"ProteinSampler optimises one objective, but the study has {len(study.directions)} "
                         "directions; use NSGAIISampler or TPESampler for multi-objective studies")
    return study.direction


class ProteinSampler(BaseSampler):
    """Protein (cost-aware GP over the cost-score Pareto front) as an Optuna sampler.

    ``seed`` makes the suggestions reproducible across processes (same seed, same study, same
    suggestions). ``n_startup_trials`` is Protein's random phase (a Sobol design over the whole
    space) before the GPs are used. ``protein`` holds other settings of Protein's ``protein:`` block
    (``random_suggestions``, ``suggestions_per_pareto``, ``acquisition``, ``max_suggestion_cost``,
    ``global_search_scale``...; see :class:`runlab.sweep.ProteinSettings`). ``constant_liar`` counts
    running trials as pending. ``independent_sampler`` serves parameters outside the joint space
    (default: uniform draws, see :meth:`sample_independent`).
    """

    def __init__(
        self, *, seed: int | None = None, n_startup_trials: int = 10, protein: Mapping[str, Any] | None = None,
        constant_liar: bool = True, independent_sampler: BaseSampler | None = None,
        warn_independent_sampling: bool = True,
    ) -> None:
        self._settings = ProteinSettings.from_mapping({**dict(protein or {}), "num_random_samples": n_startup_trials})
        self._seed = _base_seed(seed)
        self._constant_liar = constant_liar
        self._independent = independent_sampler
        self._warn_independent = warn_independent_sampling
        self._search_space = optuna.search_space.IntersectionSearchSpace()

    @property
    def settings(self) -> ProteinSettings:
        """Protein's settings (``n_startup_trials`` is ``num_random_samples``)."""
        return self._settings

    def reseed_rng(self) -> None:
        self._seed = _base_seed(None)
        if self._independent is not None:
            self._independent.reseed_rng()

    def infer_relative_search_space(self, study: Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        _single_objective(study)
        return {name: dist for name, dist in self._search_space.calculate(study).items() if not dist.single()}

    def sample_relative(self, study: Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        direction = _single_objective(study)
        if not search_space:
            return {}
        mapping = _SpaceMap(search_space)
        protein = self._protein(mapping, direction, trial.number)
        self._teach(protein, mapping, study, trial)
        for _ in range(_MAX_CLASHES + 1):
            suggestion, _info = protein.suggest()
            params = mapping.external(mapping.space.flatten(suggestion))
            # Other workers read these as this trial's pending point before the objective asks for them.
            study._storage.set_trial_system_attr(trial._trial_id, PARAMS_ATTR, json.dumps(params))
            if not _repeats_observation(protein, suggestion) and not (
                    self._constant_liar and _taken_by_earlier(study, trial, params)):
                break
            protein.mark_pending(suggestion)
        return params

    def _protein(self, mapping: _SpaceMap, direction: StudyDirection, number: int) -> Protein:
        goal = "minimize" if direction == StudyDirection.MINIMIZE else "maximize"
        config = SweepConfig(metric="value", goal=goal, method="bayes", protein=self._settings,
                             parameters=mapping.space, raw={})
        seed = int(np.random.SeedSequence([self._seed, number]).generate_state(1)[0])
        # One Sobol design for the whole study, walked by trial number (trial 0 is drawn independently:
        # nothing is known of the space yet), so workers never share a point.
        return Protein(config, seed=seed, design_seed=self._seed, design_offset=max(number - 1, 0))

    def _teach(self, protein: Protein, mapping: _SpaceMap, study: Study, current: FrozenTrial) -> None:
        """Observe every finished trial in the space and hold running ones as pending."""
        states = (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED, TrialState.RUNNING)
        for trial in study.get_trials(deepcopy=False, states=states):
            running = trial.state == TrialState.RUNNING
            if trial.number == current.number or (running and not self._constant_liar):
                continue
            point = mapping.internal(_given_params(trial) if running else trial.params)
            if point is None:
                continue
            try:
                if running:
                    protein.mark_pending(point)
                elif trial.state == TrialState.COMPLETE and trial.value is not None and math.isfinite(trial.value):
                    protein.observe(point, score=float(trial.value), cost=trial_cost(trial) or 1.0)
                else:
                    protein.observe(point, cost=trial_cost(trial), is_failure=True)
            except InputError as exc:  # e.g. a value outside the bounds the space has now
                log.debug("ProteinSampler: trial %d is not used: %s", trial.number, exc.message)

    def sample_independent(self, study: Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        """A parameter outside the joint space: ``independent_sampler``'s draw, or by default a
        uniform draw (Optuna's ``RandomSampler``) seeded by the seed, the trial number and the
        parameter name, so workers sharing a seed still draw apart."""
        _single_objective(study)
        if self._warn_independent and not param_distribution.single():
            done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if len(done) >= self._settings.num_random_samples:
                log.warning("ProteinSampler: parameter %r of trial %d is outside the joint search space "
                            "(dynamic or conditional); it is sampled independently", param_name, trial.number)
        if self._independent is not None:
            return self._independent.sample_independent(study, trial, param_name, param_distribution)
        key = [self._seed, trial.number, zlib.crc32(param_name.encode("utf-8"))]
        seed = int(np.random.SeedSequence(key).generate_state(1)[0])
        return RandomSampler(seed=seed).sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        if self._independent is not None:
            self._independent.before_trial(study, trial)

    def after_trial(self, study: Study, trial: FrozenTrial, state: TrialState,
                    values: Sequence[float] | None) -> None:
        """Record the trial's cost (the ``cost`` user attribute, else the seconds since it
        started) in its system attributes, so every worker reads the same cost."""
        cost = _positive(trial.user_attrs.get(COST_USER_ATTR))
        if cost is None and trial.datetime_start is not None:
            cost = _positive((dt.datetime.now() - trial.datetime_start).total_seconds())
        if cost is not None:
            study._storage.set_trial_system_attr(trial._trial_id, COST_ATTR, cost)
        if self._independent is not None:
            self._independent.after_trial(study, trial, state, values)


def _base_seed(seed: int | None) -> int:
    if seed is None:
        return int(np.random.SeedSequence().generate_state(1)[0])
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise InputError(f"seed must be an integer or None, got {seed!r}")
    return int(seed) % (1 << 32)


__all__ = ["COST_ATTR", "COST_USER_ATTR", "PARAMS_ATTR", "ProteinSampler", "trial_cost"]
