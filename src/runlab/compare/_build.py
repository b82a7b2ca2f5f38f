"""From a tidy frame to a score matrix: group, task, reduce, normalise.

A run belongs to a *method* through a label or a config value (labels win), a *task* is a config
value, a metric-name capture (a :class:`runlab.frames.TaskSpec`) or the metric itself, and a curve
becomes one number with an explicit reducer. Everything starts from a tidy frame: given a
warehouse, the frame is made with :func:`runlab.frames.tidy_frame` first, so there is one path from
runs to scores and one definition of a task.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from runlab.compare._groups import GroupSpec
from runlab.compare._matrix import ScoreMatrix
from runlab.compare._normalise import task_affine
from runlab.compare._reduce import reduce_curves, to_arrays
from runlab.configpath import config_value, key_paths
from runlab.errors import InputError, NotFoundError, did_you_mean
from runlab.frames import MissingReport, TaskSpec, tidy_frame
from runlab.stats import (
    DIRECTIONS,
    NORMALIZATION_ALIASES,
    NORMALIZATIONS,
    REDUCERS,
    Direction,
    Normalization,
    Reducer,
    choice,
)
from runlab.warehouse.helpers import glob_match, is_glob

if TYPE_CHECKING:
    from runlab.warehouse import Warehouse

_TIDY_FIXED = ("run_id", "run_name", "task", "step")


def score_matrix(
    source: Warehouse | pd.DataFrame,
    metric: str | None,
    *,
    group_by: str,
    task_by: str | None = None,
    reducer: Reducer = "last",
    n: int = 10,
    direction: Direction = "maximize",
    optimal_scores: Mapping[str, float] | None = None,
    random_scores: Mapping[str, float] | None = None,
    normalize: Normalization | None = None,
    runs: Sequence[str] | None = None,
) -> ScoreMatrix:
    """Build the (runs x tasks) score matrix per method from a tidy frame (or a warehouse).

    ``source``: a tidy frame (columns ``run_id``, ``step``, optional ``run_name``, one column per
    metric and one per config path / label key, as :func:`runlab.frames.tidy_frame` makes it), or a
    :class:`runlab.warehouse.Warehouse`, from which that frame is made. ``metric``: the metric to
    score; None when ``task_by`` is a metric regex (the regex selects the metrics). ``group_by``: a
    label key or a dotted config path (labels win). ``task_by``: None (one task: the metric), a
    dotted config path, or a regex over metric names with a ``(?P<task>...)`` group (other named
    groups prefix the task name: ``suite/task``). ``reducer``: ``last`` / ``last_n_mean`` (mean of
    the last ``n`` finite values) / ``max`` / ``auc`` (trapezoid area over the step range divided by
    its length). NaN/inf values are skipped before reducing and counted in the missing-data report.
    ``normalize``: None, ``minmax`` / ``zscore`` (per task over all runs) or ``optimal``
    (``(x - random) / (optimal - random)``, random defaulting to 0); ``optimal_scores`` implies
    ``optimal``. Normalised scores are oriented so that higher is better.
    """
    reducer = choice("reducer", reducer, REDUCERS)  # type: ignore[assignment]
    direction = choice("direction", direction, DIRECTIONS)  # type: ignore[assignment]
    if normalize is None and optimal_scores:
        normalize = "optimal"
    if normalize is not None:
        normalize = choice("normalize", normalize, NORMALIZATIONS, NORMALIZATION_ALIASES)  # type: ignore[assignment]
    if reducer == "last_n_mean" and (not isinstance(n, int) or n < 1):
        raise InputError(f"n must be a positive integer for reducer 'last_n_mean', got {n!r}")
    spec = TaskSpec.parse(task_by) if task_by is not None else None
    regex_tasks = spec is not None and spec.regex is not None
    if not regex_tasks and not metric:
        raise InputError("metric must be a metric name", hint="e.g. metric='overview/reward'")
    if regex_tasks and metric:
        raise InputError(
            f"metric must be None when task_by is a metric regex (the regex selects the metrics), got {metric!r}",
            hint="drop metric, or use a config path for task_by",
        )
    if isinstance(source, pd.DataFrame):
        long, meta = _long(source, metric, group_by, spec, runs)
    else:  # the warehouse resolves ``runs`` (ids, names, globs) while making the frame
        long, meta = _long(_frame(source, metric, group_by, spec, runs), metric, group_by, spec, None)
    return _assemble(long, meta, spec, metric=metric or (task_by or ""), group_by=group_by, task_by=task_by,
                     reducer=reducer, n=n, direction=direction, normalize=normalize,
                     optimal_scores=optimal_scores, random_scores=random_scores)


def _frame(wh: Warehouse, metric: str | None, group_by: str, spec: TaskSpec | None,
           runs: Sequence[str] | None) -> pd.DataFrame:
    """The tidy frame of the runs to score: the metric(s) as columns, the group and task beside them.

    Before any history is read, the group and a config-path task are checked against the runs'
    labels and configs, so a typo is reported as what it is (with did-you-mean), not as a
    missing metric later on.
    """
    run_ids = wh.resolve_runs(list(runs) if runs is not None else None)
    if not run_ids:
        raise InputError("the warehouse has no runs to score", hint="ingest or fetch runs first")
    group = GroupSpec.parse(group_by)
    info = wh.runs(run_ids)
    _check_keys(wh, info, group, spec)
    logged = sorted(wh.metric_names(run_ids)["metric"].unique())
    if spec is not None and spec.regex is not None:
        wanted = [m for m in logged if spec.task_name(m) is not None]
        if not wanted:
            raise InputError(
                f"no metric name matches task_by regex {spec.metric_regex!r}",
                hint=did_you_mean(spec.metric_regex or "", logged, "list the logged metric names with `runlab runs metrics`"),
            )
    else:
        if metric not in logged:
            raise NotFoundError(f"no selected run logged metric {metric!r}",
                                hint=did_you_mean(str(metric), logged, "list the metric names with `runlab runs metrics`"))
        wanted = [str(metric)]
    params = [group_by] if group.kind == "key" else []
    params += [spec.config_path] if spec is not None and spec.config_path is not None else []
    fields = [group_by] if group.kind == "run" else []
    frame = tidy_frame(wh, run_ids, wanted, config_params=params, labels=True, run_fields=fields)
    report: MissingReport = frame.attrs["missing_report"]
    in_frame = set(frame["run_id"])
    frame.attrs["runs_without_rows"] = [r for r in run_ids if r not in in_frame]
    frame.attrs["nonfinite"] = report.total_nonfinite
    return frame


def _check_keys(wh: Warehouse, info: pd.DataFrame, group: GroupSpec, spec: TaskSpec | None) -> None:
    """A group key or config-path task that no selected run has is an error naming it."""
    configs = [c or {} for c in info["config"]]
    labels = wh.labels(list(info["run_id"]))
    label_keys = sorted(set(labels["key"])) if len(labels) else []
    paths = sorted({p for c in configs for p in key_paths(c)})
    if group.kind == "key" and group.key not in label_keys and all(
            config_value(c, group.key) is None for c in configs):
        raise InputError(
            f"no selected run has a value for group_by {group.key!r} (neither a label nor a config path)",
            hint=did_you_mean(group.key, [*label_keys, *paths, "group", "job_type", "tags"],
                              "use a label key, a dotted config path, group, job_type, tags or name:<regex>"),
        )
    if group.kind == "run" and group.text not in label_keys and not any(_present(v) for v in info[group.text]):
        raise InputError(f"no selected run has a W&B {group.text!r}",
                         hint="group by a label, a config path or name:<regex> instead")
    if spec is not None and spec.config_path is not None and all(
            config_value(c, spec.config_path) is None for c in configs):
        raise InputError(
            f"no selected run has a value for task_by {spec.config_path!r}",
            hint=did_you_mean(spec.config_path, paths,
                              "use a dotted config path, or a metric regex with a (?P<task>...) group"),
        )


def _present(value: Any) -> bool:
    if isinstance(value, list | tuple | np.ndarray):
        return len(value) > 0
    return not _is_missing(value)


@dataclass
class _Meta:
    """Per-run facts read off the frame: group, task (config tasks), name, runs left out."""

    group: dict[str, str]
    task: dict[str, str] | None
    names: dict[str, str]
    without_group: list[str]
    without_task: list[str]
    without_rows: list[str]
    nonfinite: int | None
    """Non-finite values the frame's report counted (None: count them in the frame itself)."""


def _long(df: pd.DataFrame, metric: str | None, group_by: str, spec: TaskSpec | None,
          runs: Sequence[str] | None) -> tuple[pd.DataFrame, _Meta]:
    """``run_id, step, metric, value`` rows of the scored metric(s), and the per-run facts."""
    for col in ("run_id", "step"):
        if col not in df.columns:
            raise InputError(f"the tidy frame must have a {col!r} column, got columns {list(df.columns)}")
    attrs = dict(df.attrs)
    df = df.copy(deep=False)
    df.attrs = {}  # the frame's report travels in ``meta``; pandas need not carry it through melt
    if runs is not None:
        df = df[_selected(df, runs)]
    first = df.groupby("run_id", sort=True).first()
    run_ids = [str(r) for r in first.index]
    names = dict(zip(run_ids, first["run_name"].astype(str), strict=True)) if "run_name" in df.columns else {}
    group_of = GroupSpec.parse(group_by).values(first, run_ids)
    task_of = None
    if spec is not None and spec.config_path is not None:
        # a config-path task is read like a key group: the label of that name, else the config column
        task_of = GroupSpec(spec.config_path, "key", spec.config_path, role="task_by").values(first, run_ids)
    meta = _meta_for(run_ids, names, group_of, task_of, attrs)
    if spec is not None and spec.regex is not None:
        value_cols = [c for c in df.columns if c not in _TIDY_FIXED and spec.task_name(str(c)) is not None]
        if not value_cols:
            raise InputError(f"no column of the tidy frame matches task_by regex {spec.metric_regex!r}")
    else:
        if metric not in df.columns:
            raise InputError(f"metric {metric!r} is not a column of the tidy frame")
        value_cols = [str(metric)]
    sub = df[df["run_id"].isin(set(meta.group))]
    long = sub.melt(id_vars=["run_id", "step"], value_vars=value_cols, var_name="metric", value_name="value")
    return long.dropna(subset=["value"]).astype({"value": float}), meta


def _selected(df: pd.DataFrame, runs: Sequence[str]) -> pd.Series:
    """Rows of the runs named by ``runs``: run ids or run names, exactly or as globs."""
    ids = df["run_id"].astype(str)
    names = df["run_name"].astype(str) if "run_name" in df.columns else ids
    keep = pd.Series(False, index=df.index)
    for ref in runs:
        if is_glob(ref):
            keep |= ids.map(lambda v, r=ref: glob_match(r, v)) | names.map(lambda v, r=ref: glob_match(r, v))
        else:
            keep |= (ids == ref) | (names == ref)
    return keep


def _meta_for(run_ids: Sequence[str], names: Mapping[str, str], group_of: Mapping[str, Any],
              task_of: Mapping[str, Any] | None, attrs: Mapping[str, Any]) -> _Meta:
    group: dict[str, str] = {}
    task: dict[str, str] | None = {} if task_of is not None else None
    without_group: list[str] = []
    without_task: list[str] = []
    for rid in run_ids:
        g = group_of.get(rid)
        if _is_missing(g):
            without_group.append(rid)
            continue
        if task_of is not None and task is not None:
            t = task_of.get(rid)
            if _is_missing(t):
                without_task.append(rid)
                continue
            task[rid] = str(t)
        group[rid] = str(g)
    return _Meta(group, task, dict(names), without_group, without_task,
                 list(attrs.get("runs_without_rows", [])), attrs.get("nonfinite"))


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    return isinstance(value, str) and value == ""


def _tasks(long: pd.DataFrame, meta: _Meta, spec: TaskSpec | None, metric: str, task_by: str | None) -> pd.Series:
    """The task of every row: the run's config value, the metric's regex capture, or the metric."""
    if meta.task is not None:
        return long["run_id"].map(meta.task)
    if spec is None or spec.regex is None:
        return pd.Series(metric, index=long.index)
    names = {m: spec.task_name(m) for m in long["metric"].unique()}
    tasks = long["metric"].map(names)
    clash = long.assign(task=tasks).groupby(["run_id", "task"])["metric"].nunique()
    if (clash > 1).any():
        (rid, task) = clash[clash > 1].index[0]
        raise InputError(
            f"several metrics of run {rid!r} map to task {task!r} under task_by {task_by!r}",
            hint="add more named groups to the regex so that every metric gets its own task",
        )
    return tasks


def _assemble(long: pd.DataFrame, meta: _Meta, spec: TaskSpec | None, *, metric: str, group_by: str,
              task_by: str | None, reducer: str, n: int, direction: str, normalize: str | None,
              optimal_scores: Mapping[str, float] | None,
              random_scores: Mapping[str, float] | None) -> ScoreMatrix:
    long = long.copy()
    long["run_id"] = long["run_id"].astype(str)
    long["task"] = _tasks(long, meta, spec, metric, task_by)
    finite = np.isfinite(long["value"].to_numpy(dtype=float))
    nonfinite = int((~finite).sum()) if meta.nonfinite is None else int(meta.nonfinite)
    reduced = reduce_curves(long[finite], reducer, n)
    scored = set(reduced["run_id"])
    if reduced.empty:
        raise InputError(
            f"no run has a finite value of {metric!r}",
            hint="check the metric name (runlab runs metrics) and the selected runs",
        )
    reduced["method"] = reduced["run_id"].map(meta.group)
    methods = sorted(reduced["method"].unique(), key=str)
    tasks = sorted(reduced["task"].unique(), key=str)
    scores, ids = to_arrays(reduced, methods, tasks)
    counts = pd.DataFrame([np.isfinite(scores[m]).sum(axis=0) for m in methods], index=methods, columns=tasks)
    raw = affine = None
    if normalize is not None:
        raw = scores
        affine = task_affine(scores, tasks, normalize, direction, optimal_scores, random_scores)
        scores = {m: (s - affine[0]) / affine[1] for m, s in scores.items()}
    missing = MissingReport(
        counts=counts,
        runs_without_group=meta.without_group,
        runs_without_task=meta.without_task,
        runs_without_score=[r for r in meta.group if r not in scored] + meta.without_rows,
        nonfinite_values=nonfinite,
    )
    return ScoreMatrix(scores=scores, run_ids=ids, tasks=tasks, missing=missing, metric=metric,
                       group_by=group_by, task_by=task_by, reducer=reducer, direction=direction,
                       normalize=normalize, run_names={r: meta.names.get(r, "") for r in scored},
                       raw_scores=raw, affine=affine)
