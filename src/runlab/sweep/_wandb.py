"""The W&B bridge: observations into run summaries, and W&B history back into a sweep.

Trainer side, :func:`report_result` is the one call a trainer makes at the end of a trial: it
writes ``$RUNLAB_TRIAL_DIR/results.json`` (what the runner reads) and, when a W&B run is active,
``sweep/score``, ``sweep/cost``, ``sweep/suggestion`` and ``sweep/run_id`` into its summary, so
the observation travels with the run wherever W&B data goes.

Controller side, earlier runs of a W&B group or sweep become observations of a new sweep: the
runs come from the warehouse (ingested by runlab from W&B, online or offline), the suggestion
from ``sweep/suggestion`` when present or else from the run config at the parameter paths, the
score from ``sweep/score`` or the sweep's metric, the cost from ``sweep/cost`` or ``_runtime``.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from runlab.errors import InputError
from runlab.sweep._files import atomic_write_text
from runlab.sweep._objective import RESULTS_FILE
from runlab.sweep._store import SweepStore, Trial
from runlab.sweep._trial import as_float

SUMMARY_SCORE = "sweep/score"
SUMMARY_COST = "sweep/cost"
SUMMARY_SUGGESTION = "sweep/suggestion"
SUMMARY_RUN_ID = "sweep/run_id"
_FAILED_STATES = frozenset({"failed", "crashed", "killed"})


def observation_summary(
    suggestion: Mapping[str, Any] | None, score: float, cost: float | None, run_id: str | None = None
) -> dict[str, Any]:
    """The ``sweep/*`` summary keys of one observation (plain JSON values)."""
    out: dict[str, Any] = {SUMMARY_SCORE: float(score)}
    if cost is not None:
        out[SUMMARY_COST] = float(cost)
    if suggestion is not None:
        out[SUMMARY_SUGGESTION] = json.loads(json.dumps(dict(suggestion)))
    if run_id:
        out[SUMMARY_RUN_ID] = run_id
    return out


def report_result(
    score: float, *, cost: float | None = None, extra: Mapping[str, Any] | None = None,
    wandb_run: Any = None, write_file: bool = True, trial_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Report a trial's objective from inside the trainer; returns what was written.

    ``trial_dir`` defaults to ``$RUNLAB_TRIAL_DIR``; ``wandb_run`` defaults to the active W&B run
    (``wandb.run``) when wandb is already imported. A non-finite score is written as is: the
    runner records the trial as a failure naming the value.
    """
    folder = Path(trial_dir) if trial_dir is not None else _env_trial_dir()
    suggestion = _read_suggestion(folder)
    results = {**dict(extra or {}), "score": float(score)}
    if cost is not None:
        results["cost"] = float(cost)
    if write_file:
        if folder is None:
            raise InputError(
                "report_result needs a trial folder: RUNLAB_TRIAL_DIR is not set",
                hint="run the trainer through 'runlab sweep run', or pass trial_dir=...",
            )
        atomic_write_text(folder / RESULTS_FILE, json.dumps(results, default=str))
    run = wandb_run if wandb_run is not None else _active_wandb_run()
    if run is not None:
        run.summary.update(observation_summary(suggestion, score, cost, os.environ.get("RUNLAB_SWEEP_RUN_ID")))
    return results


def _env_trial_dir() -> Path | None:
    value = os.environ.get("RUNLAB_TRIAL_DIR")
    return Path(value) if value else None


def _read_suggestion(folder: Path | None) -> dict[str, Any] | None:
    if folder is None or not (folder / "train_config_overrides.yaml").exists():
        return None
    data = yaml.safe_load((folder / "train_config_overrides.yaml").read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else None


def _active_wandb_run() -> Any:
    wandb = sys.modules.get("wandb")  # never import wandb just to find there is no run
    return getattr(wandb, "run", None) if wandb is not None else None


@dataclass(frozen=True, kw_only=True)
class WandbObservation:
    """One earlier W&B run, as an observation for a sweep."""

    run_id: str
    """The warehouse run id (``wandb:entity/project/id``)."""
    suggestion: dict[str, Any]
    score: float | None
    cost: float | None
    is_failure: bool
    reason: str = ""
    """Why a failure is one (run state, missing or non-finite score)."""


def observations_from_runs(
    runs: Any, config: Any, *, group: str | None = None, sweep_id: str | None = None,
) -> list[WandbObservation]:
    """Observations from a warehouse ``runs()`` frame (``run_id, group, config, summary, state, sweep_id``).

    ``config`` is the sweep config (dict, path or :class:`SweepConfig`); only runs of ``group``
    and/or ``sweep_id`` are used. Runs still running, or without the sweep's parameters, are
    skipped; failed runs and runs without a finite score are failures.
    """
    from runlab.sweep._space import load_sweep_config

    cfg = load_sweep_config(config)
    if group is None and sweep_id is None:
        raise InputError("say which W&B runs to import: a group or a sweep id",
                         hint="--group NAME or --wandb-sweep ID")
    out = []
    for row in runs.to_dict("records"):
        if group is not None and row.get("group") != group:
            continue
        if sweep_id is not None and not _same_sweep(row.get("sweep_id"), sweep_id):
            continue
        obs = _observation(row, cfg)
        if obs is not None:
            out.append(obs)
    return out


def _same_sweep(value: Any, wanted: str) -> bool:
    return isinstance(value, str) and bool(value) and (value == wanted or value.rsplit("/", 1)[-1] == wanted)


def _observation(row: Mapping[str, Any], cfg: Any) -> WandbObservation | None:
    if row.get("state") == "running":
        return None
    summary = _as_dict(row.get("summary"))
    run_config = _as_dict(row.get("config"))
    source = summary.get(SUMMARY_SUGGESTION)
    try:
        flat = cfg.parameters.flatten(source if isinstance(source, Mapping) else run_config)
    except InputError:
        return None
    suggestion = cfg.parameters.nest(flat)
    score = as_float(summary.get(SUMMARY_SCORE, summary.get(cfg.metric)))
    cost = as_float(summary.get(SUMMARY_COST, summary.get("_runtime")))
    cost = cost if cost is not None and math.isfinite(cost) and cost > 0 else None
    run_id = str(row.get("run_id"))
    if row.get("state") in _FAILED_STATES:
        return WandbObservation(run_id=run_id, suggestion=suggestion, score=None, cost=cost, is_failure=True,
                                reason=f"W&B run state {row.get('state')!r}")
    if score is None or not math.isfinite(score):
        return WandbObservation(run_id=run_id, suggestion=suggestion, score=None, cost=cost, is_failure=True,
                                reason=f"summary {cfg.metric!r} must be a finite number, got {score!r}")
    return WandbObservation(run_id=run_id, suggestion=suggestion, score=score, cost=cost, is_failure=False)


def _as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str):
        try:
            data = json.loads(value)
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}
    return {}




def import_observations(store: SweepStore, sweep: str, observations: list[WandbObservation]) -> list[Trial]:
    """Store observations as finished trials (``source = wandb:<run id>``); re-importing adds nothing."""
    known = {t.source for t in store.trials(sweep)}
    added = []
    for obs in observations:
        source = f"wandb:{obs.run_id}"
        if source in known:
            continue
        added.append(store.record_trial(
            sweep, obs.suggestion, score=obs.score, cost=obs.cost, is_failure=obs.is_failure,
            error=obs.reason or None, results={"wandb_run_id": obs.run_id}, source=source,
        ))
        known.add(source)
    return added


def import_from_warehouse(
    store: SweepStore, sweep: str, home: Path, *, group: str | None = None, sweep_id: str | None = None,
) -> list[Trial]:
    """Import a W&B group's or sweep's runs (already in the warehouse at ``home``) into ``sweep``."""
    from runlab.warehouse import Warehouse

    config = store.get_sweep(sweep).config
    with Warehouse.open(home, read_only=True) as wh:
        runs = wh.runs()
    return import_observations(store, sweep, observations_from_runs(runs, config, group=group, sweep_id=sweep_id))


__all__ = [
    "SUMMARY_COST",
    "SUMMARY_RUN_ID",
    "SUMMARY_SCORE",
    "SUMMARY_SUGGESTION",
    "WandbObservation",
    "import_from_warehouse",
    "import_observations",
    "observation_summary",
    "observations_from_runs",
    "report_result",
]
