"""Run every comparison a configuration asks for, once; all report formats read the result."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from runlab.compare import CompareResult, IncompleteDataWarning, ScoreMatrix, compare, score_matrix
from runlab.errors import InputError, NotFoundError, did_you_mean
from runlab.reports._config import CompareConfig
from runlab.reports._efficiency import Efficiency, efficiency
from runlab.reports._headline import title_of

if TYPE_CHECKING:
    from runlab.warehouse import Warehouse


@dataclass(frozen=True)
class Analysis:
    """The comparisons of one configuration plus the run table and secondary-metric summaries."""

    config: CompareConfig
    results: dict[str, CompareResult]
    """comparison name (the metric, or the task regex) -> result"""
    runs: pd.DataFrame
    """One row per run: run_id, name, method, state, created_at, tags, history_rows, mean score per comparison."""
    secondary: pd.DataFrame
    """method, metric, n, mean, std, min, max of each secondary metric (reduced like the primary)."""
    notes: list[str]
    efficiency: dict[str, Efficiency] = field(default_factory=dict)
    """comparison name -> sample-efficiency curves (absent when disabled or impossible: see notes)."""


def matrix_for(wh: Warehouse, config: CompareConfig, metric: str | None) -> ScoreMatrix:
    """The score matrix of one metric under the configuration's grouping, tasks and reducer."""
    return score_matrix(
        wh,
        metric,
        group_by=config.group_by,
        task_by=config.task_by,
        reducer=config.reducer,
        n=config.n,
        direction=config.direction,
        optimal_scores=config.optimal_scores,
        random_scores=config.random_scores,
        normalize=config.normalize,
        runs=config.runs,
    )


def compare_matrix(matrix: ScoreMatrix, config: CompareConfig) -> CompareResult:
    """:func:`runlab.compare.compare` with the configuration's analysis settings."""
    a = config.analysis
    with warnings.catch_warnings():
        # Left-out data is kept in result.notes, which every output shows.
        warnings.simplefilter("ignore", IncompleteDataWarning)
        return compare(
            matrix,
            trim=a.iqm_trim_percentage,
            reps=a.bootstrap_samples,
            confidence=a.confidence_level,
            ci_method=a.ci_method,
            task_bootstrap=a.task_bootstrap,
            tests=a.tests,
            correction=a.correction,
            alpha=a.alpha,
            seed=a.seed,
        )


def logged_metrics(wh: Warehouse, config: CompareConfig) -> list[str]:
    """The metric names the configuration's runs logged, sorted."""
    run_ids = wh.resolve_runs(config.runs)
    return sorted(wh.metric_names(run_ids)["metric"].unique()) if run_ids else []


def check_requested_metrics(wh: Warehouse, config: CompareConfig, logged: list[str] | None = None) -> list[str]:
    """Every metric the configuration names must exist: an unknown primary metric is an error with
    did-you-mean (also when a metric-regex ``task_by`` selects the scored metrics), an unknown
    secondary one a note. Returns the notes."""
    logged = logged_metrics(wh, config) if logged is None else logged
    known = set(logged)
    for m in config.metrics.primary:
        if m not in known:
            raise NotFoundError(
                f"metrics.primary names {m!r}, which no selected run logged",
                hint=did_you_mean(m, logged, "list the metric names with `runlab runs metrics`"),
            )
    notes = []
    if config.task_by is not None and "(?P<task>" in config.task_by and config.metrics.primary:
        notes.append(f"metrics.primary ({', '.join(config.metrics.primary)}) is not scored: task_by is a "
                     "metric regex, which selects the scored metrics by name")
    for m in config.metrics.secondary:
        if m not in known:
            hint = did_you_mean(m, logged)
            notes.append(f"secondary metric {m!r} was logged by no selected run" + (f" ({hint})" if hint else ""))
    return notes


def analyse(wh: Warehouse, config: CompareConfig) -> Analysis:
    """Score, compare and summarise everything ``config`` names."""
    logged = logged_metrics(wh, config)
    requested = check_requested_metrics(wh, config, logged)
    results: dict[str, CompareResult] = {}
    for metric in config.score_metrics():
        name = metric if metric is not None else str(config.task_by)
        results[name] = compare_matrix(matrix_for(wh, config, metric), config)
    notes: list[str] = list(requested)
    curves: dict[str, Efficiency] = {}
    for name, res in results.items():
        curve, why = efficiency(wh, config, res)
        if curve is not None:
            curves[name] = curve
        notes += [f"{name}: {line}" if len(results) > 1 else line for line in why]
    secondary = _secondary(wh, config, notes, set(config.metrics.secondary) - set(logged))
    runs = _run_table(wh, results)
    return Analysis(config, results, runs, secondary, notes, curves)


def _secondary(wh: Warehouse, config: CompareConfig, notes: list[str], skip: set[str]) -> pd.DataFrame:
    frames = []
    # A secondary metric is one named metric per run: a metric-regex task_by (which selects the
    # primary metrics by name) does not apply to it, a config-path task_by does.
    regex_tasks = config.task_by is not None and "(?P<task>" in config.task_by
    plain = config.model_copy(
        update={"normalize": None, "optimal_scores": None, "task_by": None if regex_tasks else config.task_by}
    )
    for metric in config.metrics.secondary:
        if metric in skip:
            continue
        try:
            frame = matrix_for(wh, plain, metric).to_frame()
        except InputError as exc:
            notes.append(f"secondary metric {metric!r} left out: {exc.message}")
            continue
        frame["metric"] = metric
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["method", "metric", "n", "mean", "std", "min", "max"])
    data = pd.concat(frames)
    out = data.groupby(["method", "metric"], sort=True)["score"].agg(["count", "mean", "std", "min", "max"])
    return out.rename(columns={"count": "n"}).reset_index()


def _run_table(wh: Warehouse, results: dict[str, CompareResult]) -> pd.DataFrame:
    method_of: dict[str, str] = {}
    means: dict[str, pd.Series] = {}
    for name, res in results.items():
        frame = res.matrix.to_frame()
        method_of.update(zip(frame["run_id"], frame["method"], strict=True))
        means[name] = frame.groupby("run_id")["score"].mean()
    info = wh.runs(sorted(method_of)) if method_of else wh.runs([])
    table = pd.DataFrame(
        {
            "run_id": info["run_id"].astype(str),
            "name": info["name"].astype(str),
            "method": info["run_id"].map(method_of).fillna(""),
            "state": info["state"].astype(str),
            "created_at": info["created_at"].map(lambda t: "" if pd.isna(t) else str(t)),
            "tags": info["tags"].map(lambda t: ", ".join(map(str, t)) if isinstance(t, list | tuple | np.ndarray) else ""),
            "history_rows": info["history_rows"],
        }
    )
    for name, series in means.items():
        table[f"score: {title_of(name)}"] = table["run_id"].map(series)
    return table.sort_values(["method", "name"], kind="stable").reset_index(drop=True)
