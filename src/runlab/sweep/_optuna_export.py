"""runlab sweeps as Optuna studies, so optuna-dashboard and Optuna's analyses show them."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import FrozenTrial, TrialState

from runlab.errors import InputError, RunlabError
from runlab.sweep._optuna_sampler import COST_USER_ATTR
from runlab.sweep._space import CategoricalParam, ParameterSpace, SweepConfig, load_sweep_config
from runlab.sweep._store import SweepStore, Trial


@dataclass(frozen=True, kw_only=True)
class OptunaExport:
    """What :func:`export_to_optuna` did."""

    study_name: str
    added: list[str] = field(default_factory=list)
    """Run ids written as new Optuna trials."""
    present: list[str] = field(default_factory=list)
    """Run ids already in the study (an earlier export): left as they are."""
    unfinished: list[str] = field(default_factory=list)
    """Run ids still pending, running or stale: exported once they finish."""
    rejected: dict[str, str] = field(default_factory=dict)
    """Run id -> why Optuna rejected it (e.g. imported parameters outside the sweep's space)."""


def optuna_distributions(space: ParameterSpace) -> dict[str, BaseDistribution]:
    """The Optuna distribution of every parameter of a runlab space, by dotted path.

    ``logit_normal`` has no Optuna counterpart and becomes a linear float, ``uniform_pow2`` a log
    integer (its values are powers of two inside it).
    """
    out: dict[str, BaseDistribution] = {}
    for p in space.params:
        if isinstance(p, CategoricalParam):
            out[p.path] = CategoricalDistribution(p.values)
        elif p.distribution == "int_uniform":
            out[p.path] = IntDistribution(math.ceil(p.min), math.floor(p.max))
        elif p.distribution == "uniform_pow2":
            out[p.path] = IntDistribution(2 ** math.ceil(math.log2(p.min)), 2 ** math.floor(math.log2(p.max)),
                                          log=True)
        else:
            out[p.path] = FloatDistribution(p.min, p.max, log=p.distribution == "log_normal")
    return out


def _when(ts: float | None) -> dt.datetime | None:
    return None if ts is None else dt.datetime.fromtimestamp(ts)


def _frozen(trial: Trial, config: SweepConfig, dists: dict[str, BaseDistribution]) -> FrozenTrial:
    flat = config.parameters.flatten(trial.suggestion)
    attrs: dict[str, Any] = {"runlab_run_id": trial.run_id, "runlab_source": trial.source}
    if trial.cost is not None and math.isfinite(trial.cost):
        attrs[COST_USER_ATTR] = float(trial.cost)
    if trial.error:
        attrs["runlab_error"] = trial.error[:2000]
    ok = trial.state == "success"
    if trial.state == "pruned":
        attrs["runlab_predicted_final"] = trial.results.get("_predicted_final")
    state = TrialState.COMPLETE if ok else TrialState.PRUNED if trial.state == "pruned" else TrialState.FAIL
    return FrozenTrial(
        number=-1, trial_id=-1, state=state,
        value=float(trial.score) if ok and trial.score is not None else None,
        datetime_start=_when(trial.started_at or trial.created_at),
        datetime_complete=_when(trial.finished_at or trial.started_at or trial.created_at),
        params=flat, distributions=dists, user_attrs=attrs, system_attrs={}, intermediate_values={},
    )


def export_to_optuna(store: SweepStore, sweep: str, storage: str | optuna.storages.BaseStorage, *,
                     study_name: str | None = None) -> OptunaExport:
    """Write a runlab sweep's finished trials into an Optuna study (created if missing), so
    optuna-dashboard and Optuna's analysis tools show it.

    Parameters are named by their dotted paths, the objective is the value (the study's direction
    is the sweep's goal), the cost is the ``cost`` user attribute and the run id ``runlab_run_id``;
    successes become ``COMPLETE`` trials, pruned ones ``PRUNED`` and failures ``FAIL``. Exporting again adds only trials
    finished since: each run id is written once.
    """
    info = store.get_sweep(sweep)
    config = load_sweep_config(info.config)
    name = study_name or sweep
    try:
        study = optuna.create_study(storage=storage, study_name=name, direction=config.goal, load_if_exists=True)
    except (ValueError, ImportError, RuntimeError) as exc:
        raise RunlabError(f"cannot open Optuna study {name!r} at {storage!r}: {exc}",
                          hint="pass an SQLAlchemy URL Optuna accepts, e.g. sqlite:///optuna.db") from exc
    if len(study.directions) != 1 or study.direction.name.lower() != config.goal:
        raise InputError(f"Optuna study {name!r} exists with directions {[d.name for d in study.directions]}, "
                         f"but sweep {sweep!r} is to {config.goal}",
                         hint="pass another --study-name, or delete that study")
    study.set_user_attr("runlab_sweep", sweep)
    study.set_user_attr("runlab_metric", config.metric)
    known = {t.user_attrs.get("runlab_run_id") for t in study.get_trials(deepcopy=False)}
    dists = optuna_distributions(config.parameters)
    report = OptunaExport(study_name=name)
    for trial in store.trials(sweep):
        if trial.run_id in known:
            report.present.append(trial.run_id)
        elif not trial.is_finished:
            report.unfinished.append(trial.run_id)
        else:
            try:
                study.add_trial(_frozen(trial, config, dists))
            except (ValueError, InputError) as exc:
                report.rejected[trial.run_id] = str(exc)
                continue
            report.added.append(trial.run_id)
    return report


__all__ = ["OptunaExport", "export_to_optuna", "optuna_distributions"]
