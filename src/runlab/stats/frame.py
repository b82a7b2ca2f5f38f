"""Frame-level statistics: from the warehouse (or a tidy frame) to a score matrix to a comparison.

The array functions of :mod:`runlab.stats` take rliable's ``{method: ndarray(num_runs, num_tasks)}``.
Real experiments rarely arrive that way: a run belongs to a *method* through a label or a config
value, a *task* is a config value (``sim.task``), a metric-name capture
(``eval_(?P<suite>[^/]+)/(?P<task>.+)``) or the run itself, and a curve has to be reduced to one
number with an explicit reducer. :func:`score_matrix` does that and keeps what it could not use in a
:class:`MissingReport` (tasks a method never ran, runs without a group, NaN values) instead of
dropping it silently. :func:`compare` turns a matrix into one :class:`CompareResult` (estimates with
bootstrap CIs, probability of improvement, significance tests with a multiple-comparison
correction), which the CLI, the plots and every report format read.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from runlab.errors import InputError
from runlab.frames import config_value

if TYPE_CHECKING:
    from runlab.warehouse import Warehouse

Reducer = Literal["last", "last_n_mean", "max", "auc"]
Direction = Literal["maximize", "minimize"]
Normalize = Literal["minmax", "zscore", "optimal"]

REDUCERS: tuple[str, ...] = ("last", "last_n_mean", "max", "auc")
DIRECTIONS: tuple[str, ...] = ("maximize", "minimize")
NORMALIZATIONS: tuple[str, ...] = ("minmax", "zscore", "optimal")
_TIDY_FIXED = ("run_id", "run_name", "task", "step")


class IncompleteDataWarning(UserWarning):
    """Part of the data could not enter a comparison (missing tasks, unequal run counts)."""


# --------------------------------------------------------------------------------------------
# Score matrix
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MissingReport:
    """What the score matrix could not fill, so that nothing disappears without a trace."""

    counts: pd.DataFrame
    """Runs per cell: index = methods, columns = tasks, values = number of runs (0 = missing)."""
    runs_without_group: list[str] = field(default_factory=list)
    """Runs that have no value for ``group_by`` (no label, no config entry)."""
    runs_without_task: list[str] = field(default_factory=list)
    """Runs that have no value for a config-path ``task_by``."""
    runs_without_score: list[str] = field(default_factory=list)
    """Runs that have no finite value of the metric at all."""
    nonfinite_values: int = 0
    """NaN/inf history values that were skipped before reducing."""

    @property
    def missing_cells(self) -> list[tuple[str, str]]:
        """(method, task) pairs without a single run."""
        stacked = self.counts.stack()
        return [(str(m), str(t)) for (m, t), n in stacked.items() if n == 0]

    @property
    def is_complete(self) -> bool:
        """True when every method has every task and no run was left out."""
        return not (
            self.missing_cells or self.runs_without_group or self.runs_without_task or self.runs_without_score
        )

    def lines(self) -> list[str]:
        """Human-readable findings, one per line (empty when complete)."""
        out: list[str] = []
        by_method: dict[str, list[str]] = {}
        for method, task in self.missing_cells:
            by_method.setdefault(method, []).append(task)
        for method, tasks in by_method.items():
            out.append(f"method {method!r} has no runs for task(s): {', '.join(map(repr, tasks))}")
        if self.runs_without_group:
            out.append(f"{len(self.runs_without_group)} run(s) have no group value and were left out")
        if self.runs_without_task:
            out.append(f"{len(self.runs_without_task)} run(s) have no task value and were left out")
        if self.runs_without_score:
            out.append(f"{len(self.runs_without_score)} run(s) have no finite value of the metric")
        if self.nonfinite_values:
            out.append(f"{self.nonfinite_values} NaN/inf metric value(s) were skipped before reducing")
        return out


@dataclass(frozen=True)
class ScoreMatrix:
    """Scores per method as ``ndarray(num_runs, num_tasks)``, with where every number came from.

    Rows are run slots: with tasks from metric names one row is one run; with tasks from a config
    value each task has its own runs, and row ``i`` holds the ``i``-th run (ordered by run id) of
    every task. Cells without a run are NaN (and ``""`` in :attr:`run_ids`).
    """

    scores: dict[str, np.ndarray]
    """method -> float array (num_rows, num_tasks); NaN where no run fills the cell."""
    run_ids: dict[str, np.ndarray]
    """method -> object array of the same shape: the run each score came from (``""`` if none)."""
    tasks: list[str]
    missing: MissingReport
    metric: str = "score"
    group_by: str = "method"
    task_by: str | None = None
    reducer: str = "last"
    direction: str = "maximize"
    normalize: str | None = None
    run_names: dict[str, str] = field(default_factory=dict)
    """run_id -> display name (data, never markup)."""
    raw_scores: dict[str, np.ndarray] | None = None
    """Scores before normalisation (None when not normalised)."""
    affine: tuple[np.ndarray, np.ndarray] | None = None
    """Per-task ``(centre, span)`` of the normalisation, ``normalised = (raw - centre) / span``
    (None when not normalised); other views of the same runs (e.g. curves) reuse it."""

    @property
    def methods(self) -> list[str]:
        return list(self.scores)

    @property
    def higher_is_better(self) -> bool:
        """Normalised scores are always oriented so that higher is better."""
        return self.normalize is not None or self.direction == "maximize"

    def counts(self) -> dict[str, np.ndarray]:
        """method -> number of finite scores per task."""
        return {m: np.isfinite(s).sum(axis=0) for m, s in self.scores.items()}

    def rectangular(self) -> tuple[dict[str, np.ndarray], list[str], list[str]]:
        """The part every statistic can use: (score_dict, tasks, notes on what was left out).

        Only tasks present for every method are kept, and each method keeps as many rows as its
        smallest task has runs (first runs by run id), so that the result is NaN-free. The notes
        say which tasks and how many runs were left out; callers surface them.
        """
        counts = self.counts()
        keep = np.ones(len(self.tasks), dtype=bool)
        for c in counts.values():
            keep &= c > 0
        notes: list[str] = []
        dropped = [t for t, k in zip(self.tasks, keep, strict=True) if not k]
        if dropped:
            notes.append(
                f"task(s) {', '.join(map(repr, dropped))} are missing for some methods and were left "
                "out of the comparison"
            )
        if not keep.any():
            raise InputError(
                "no task has runs for every method, so the methods cannot be compared",
                hint="check group_by/task_by, or compare fewer methods (see the missing-data report)",
            )
        out: dict[str, np.ndarray] = {}
        for method, s in self.scores.items():
            sub = s[:, keep]
            n = int(counts[method][keep].min())
            cols = [_compact(sub[:, j])[:n] for j in range(sub.shape[1])]
            extra = int(np.isfinite(sub).sum()) - n * sub.shape[1]
            if extra:
                notes.append(
                    f"method {method!r}: tasks have unequal run counts; {extra} score(s) beyond the "
                    f"first {n} run(s) per task were left out"
                )
            out[method] = np.column_stack(cols)
        return out, [t for t, k in zip(self.tasks, keep, strict=True) if k], notes

    def oriented(self, score_dict: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        """Scores with higher = better (negated for a raw ``minimize`` metric)."""
        src = self.scores if score_dict is None else score_dict
        sign = 1.0 if self.higher_is_better else -1.0
        return {m: sign * np.asarray(s, dtype=float) for m, s in src.items()}

    def to_frame(self) -> pd.DataFrame:
        """Long form: method, task, row, run_id, run_name, score (filled cells only)."""
        rows = []
        for method, s in self.scores.items():
            ids = self.run_ids[method]
            for i, j in zip(*np.nonzero(np.isfinite(s)), strict=True):
                rid = str(ids[i, j])
                rows.append((method, self.tasks[j], int(i), rid, self.run_names.get(rid, ""), float(s[i, j])))
        return pd.DataFrame(rows, columns=["method", "task", "row", "run_id", "run_name", "score"])


def _compact(col: np.ndarray) -> np.ndarray:
    return col[np.isfinite(col)]


def from_score_dict(
    score_dict: Mapping[str, Any], tasks: Sequence[str] | None = None, *, direction: Direction = "maximize"
) -> ScoreMatrix:
    """Wrap rliable-convention arrays (``{method: (num_runs, num_tasks)}``) as a :class:`ScoreMatrix`."""
    _check_choice("direction", direction, DIRECTIONS)
    if not score_dict:
        raise InputError("score_dict is empty", hint="pass {method: ndarray(num_runs, num_tasks)}")
    arrays = {str(m): np.atleast_2d(np.asarray(v, dtype=float)) for m, v in score_dict.items()}
    widths = {a.shape[1] for a in arrays.values()}
    if len(widths) != 1:
        raise InputError(f"every method must have the same number of tasks, got {sorted(widths)}")
    width = widths.pop()
    task_names = [str(t) for t in tasks] if tasks is not None else [f"task_{j}" for j in range(width)]
    if len(task_names) != width:
        raise InputError(f"tasks must have {width} names (one per column), got {len(task_names)}")
    bad = {m: int((~np.isfinite(a)).sum()) for m, a in arrays.items() if not np.isfinite(a).all()}
    if bad:
        raise InputError(
            f"scores must be finite; NaN/inf found in {bad}",
            hint="remove or impute them, or build the matrix with score_matrix() which reports them",
        )
    counts = pd.DataFrame(
        [np.full(width, a.shape[0]) for a in arrays.values()], index=list(arrays), columns=task_names
    )
    ids = {m: np.full(a.shape, "", dtype=object) for m, a in arrays.items()}
    return ScoreMatrix(
        scores=arrays,
        run_ids=ids,
        tasks=task_names,
        missing=MissingReport(counts=counts),
        direction=direction,
    )


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
    normalize: Normalize | None = None,
    runs: Sequence[str] | None = None,
) -> ScoreMatrix:
    """Build the (runs x tasks) score matrix per method from the warehouse or a tidy frame.

    ``source``: a :class:`runlab.warehouse.Warehouse`, or a tidy frame with columns ``run_id``,
    ``step``, optional ``run_name``, one column per metric and one per config path / label key.
    ``metric``: the metric to score; must be None when ``task_by`` is a metric regex (the regex
    selects the metrics). ``group_by``: a label key or a dotted config path (labels win).
    ``task_by``: None (one task: the metric), a dotted config path, or a regex over metric names with
    a ``(?P<task>...)`` group (other named groups prefix the task name: ``suite/task``).
    ``reducer``: ``last`` / ``last_n_mean`` (mean of the last ``n`` finite values) / ``max`` /
    ``auc`` (trapezoid area over the step range divided by its length: the curve's mean height).
    NaN/inf values are skipped before reducing and counted in the missing-data report.
    ``normalize``: None, ``minmax`` or ``zscore`` (per task over all runs) or ``optimal``
    (``(x - random) / (optimal - random)``, random defaulting to 0); giving ``optimal_scores``
    implies ``optimal``. Normalised scores are oriented so that higher is better.
    """
    _check_choice("reducer", reducer, REDUCERS)
    _check_choice("direction", direction, DIRECTIONS)
    if normalize is None and optimal_scores:
        normalize = "optimal"
    if normalize is not None:
        _check_choice("normalize", normalize, NORMALIZATIONS)
    if reducer == "last_n_mean" and (not isinstance(n, int) or n < 1):
        raise InputError(f"n must be a positive integer for reducer 'last_n_mean', got {n!r}")
    regex = _task_regex(task_by)
    if regex is None and not metric:
        raise InputError("metric must be a metric name", hint="e.g. metric='overview/reward'")
    if regex is not None and metric:
        raise InputError(
            f"metric must be None when task_by is a metric regex (the regex selects the metrics), got {metric!r}",
            hint="drop metric, or use a config path for task_by",
        )
    if isinstance(source, pd.DataFrame):
        long, meta = _long_from_tidy(source, metric, group_by, task_by, regex, runs)
    else:
        long, meta = _long_from_warehouse(source, metric, group_by, task_by, regex, runs)
    return _assemble(
        long,
        meta,
        metric=metric or (task_by or ""),
        group_by=group_by,
        task_by=task_by,
        reducer=reducer,
        n=n,
        direction=direction,
        normalize=normalize,
        optimal_scores=optimal_scores,
        random_scores=random_scores,
    )


def _check_choice(name: str, value: object, choices: Sequence[str]) -> None:
    if value not in choices:
        raise InputError(f"{name} must be one of {', '.join(choices)}, got {value!r}")


def _task_regex(task_by: str | None) -> re.Pattern[str] | None:
    if task_by is None or "(?P<task>" not in task_by:
        return None
    try:
        return re.compile(task_by)
    except re.error as exc:
        raise InputError(f"task_by is not a valid regular expression: {task_by!r} ({exc})") from None


def _task_name(match: re.Match[str]) -> str:
    groups = match.groupdict()
    parts = [str(v) for k, v in groups.items() if k != "task" and v is not None]
    return "/".join([*parts, str(groups["task"])])


@dataclass
class _Meta:
    """Per-run facts gathered while reading: group, task (config tasks), name, dropped runs."""

    group: dict[str, str]
    task: dict[str, str] | None
    names: dict[str, str]
    without_group: list[str]
    without_task: list[str]


def _meta_for(
    run_ids: Sequence[str],
    names: Mapping[str, str],
    group_of: Mapping[str, Any],
    task_of: Mapping[str, Any] | None,
) -> _Meta:
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
    return _Meta(group, task, dict(names), without_group, without_task)


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    return isinstance(value, str) and value == ""


def _long_from_warehouse(
    wh: Warehouse,
    metric: str | None,
    group_by: str,
    task_by: str | None,
    regex: re.Pattern[str] | None,
    runs: Sequence[str] | None,
) -> tuple[pd.DataFrame, _Meta]:
    run_ids = wh.resolve_runs(list(runs) if runs is not None else None)
    info = wh.runs(run_ids)
    if info.empty:
        raise InputError("the warehouse has no runs to score", hint="ingest or fetch runs first")
    run_ids = list(info["run_id"])
    labels = wh.labels(run_ids)
    by_label = labels[labels["key"] == group_by] if not labels.empty else labels
    group_of: dict[str, Any] = (
        dict(zip(by_label["run_id"], by_label["value"], strict=True)) if len(by_label) else {}
    )
    configs = dict(zip(info["run_id"], info["config"], strict=True))
    for rid in run_ids:
        if rid not in group_of:
            group_of[rid] = config_value(configs[rid] or {}, group_by)
    task_of = None
    if task_by is not None and regex is None:
        task_of = {rid: config_value(configs[rid] or {}, task_by) for rid in run_ids}
    meta = _meta_for(run_ids, dict(zip(info["run_id"], info["name"], strict=True)), group_of, task_of)
    kept = list(meta.group)
    if regex is not None:
        names = wh.metric_names(kept)
        wanted = sorted({m for m in names["metric"].unique() if regex.fullmatch(m)}) if len(names) else []
        if not wanted:
            raise InputError(f"no metric name matches task_by regex {regex.pattern!r}")
    else:
        wanted = [str(metric)]
    hist = wh.history(kept, wanted) if kept else pd.DataFrame(columns=["run_id", "step", "metric", "value"])
    return hist[["run_id", "step", "metric", "value"]], meta


def _long_from_tidy(
    df: pd.DataFrame,
    metric: str | None,
    group_by: str,
    task_by: str | None,
    regex: re.Pattern[str] | None,
    runs: Sequence[str] | None,
) -> tuple[pd.DataFrame, _Meta]:
    for col in ("run_id", "step"):
        if col not in df.columns:
            raise InputError(f"the tidy frame must have a {col!r} column, got columns {list(df.columns)}")
    if group_by not in df.columns:
        raise InputError(
            f"group_by {group_by!r} is not a column of the tidy frame",
            hint=f"add it as a label or config param; columns are {list(df.columns)}",
        )
    if runs is not None:
        df = df[df["run_id"].isin(set(runs))]
    per_run = df.groupby("run_id", sort=True)
    run_ids = [str(r) for r in per_run.groups]
    first = per_run.first()
    names = dict(zip(run_ids, first["run_name"].astype(str), strict=True)) if "run_name" in df.columns else {}
    group_of = dict(zip(run_ids, first[group_by], strict=True))
    task_of = None
    if task_by is not None and regex is None:
        if task_by not in df.columns:
            raise InputError(f"task_by {task_by!r} is not a column of the tidy frame")
        task_of = dict(zip(run_ids, first[task_by], strict=True))
    meta = _meta_for(run_ids, names, group_of, task_of)
    if regex is not None:
        value_cols = [c for c in df.columns if c not in _TIDY_FIXED and regex.fullmatch(str(c))]
        if not value_cols:
            raise InputError(f"no column of the tidy frame matches task_by regex {regex.pattern!r}")
    else:
        if metric not in df.columns:
            raise InputError(f"metric {metric!r} is not a column of the tidy frame")
        value_cols = [str(metric)]
    sub = df[df["run_id"].isin(set(meta.group))]
    long = sub.melt(id_vars=["run_id", "step"], value_vars=value_cols, var_name="metric", value_name="value")
    return long.dropna(subset=["value"]).astype({"value": float}), meta


def _assemble(
    long: pd.DataFrame,
    meta: _Meta,
    *,
    metric: str,
    group_by: str,
    task_by: str | None,
    reducer: str,
    n: int,
    direction: str,
    normalize: str | None,
    optimal_scores: Mapping[str, float] | None,
    random_scores: Mapping[str, float] | None,
) -> ScoreMatrix:
    long = long.copy()
    long["run_id"] = long["run_id"].astype(str)
    if meta.task is not None:
        long["task"] = long["run_id"].map(meta.task)
    elif task_by is not None:
        regex = re.compile(task_by)
        task_names = {m: _task_name(regex.fullmatch(m)) for m in long["metric"].unique()}  # type: ignore[arg-type]
        long["task"] = long["metric"].map(task_names)
        clash = long.groupby(["run_id", "task"])["metric"].nunique()
        if (clash > 1).any():
            (rid, task) = clash[clash > 1].index[0]
            raise InputError(
                f"several metrics of run {rid!r} map to task {task!r} under task_by {task_by!r}",
                hint="add more named groups to the regex so that every metric gets its own task",
            )
    else:
        long["task"] = metric
    values = long["value"].to_numpy(dtype=float)
    finite = np.isfinite(values)
    nonfinite = int((~finite).sum())
    long = long[finite]
    reduced = _reduce(long, reducer, n)
    scored = set(reduced["run_id"])
    without_score = [r for r in meta.group if r not in scored]
    if reduced.empty:
        raise InputError(
            f"no run has a finite value of {metric!r}",
            hint="check the metric name (runlab runs metrics) and the selected runs",
        )
    reduced["method"] = reduced["run_id"].map(meta.group)
    methods = sorted(reduced["method"].unique(), key=str)
    tasks = sorted(reduced["task"].unique(), key=str)
    scores, ids = _to_arrays(reduced, methods, tasks)
    counts = pd.DataFrame([np.isfinite(scores[m]).sum(axis=0) for m in methods], index=methods, columns=tasks)
    raw = affine = None
    if normalize is not None:
        raw = scores
        affine = _normalisation(scores, tasks, normalize, direction, optimal_scores, random_scores)
        scores = {m: (s - affine[0]) / affine[1] for m, s in scores.items()}
    missing = MissingReport(
        counts=counts,
        runs_without_group=meta.without_group,
        runs_without_task=meta.without_task,
        runs_without_score=without_score,
        nonfinite_values=nonfinite,
    )
    return ScoreMatrix(
        scores=scores,
        run_ids=ids,
        tasks=tasks,
        missing=missing,
        metric=metric,
        group_by=group_by,
        task_by=task_by,
        reducer=reducer,
        direction=direction,
        normalize=normalize,
        run_names={r: meta.names.get(r, "") for r in scored},
        raw_scores=raw,
        affine=affine,
    )


def _reduce(long: pd.DataFrame, reducer: str, n: int) -> pd.DataFrame:
    """One score per (run, task) from the finite values ordered by step."""
    long = long.sort_values(["run_id", "task", "step"], kind="stable")
    grouped = long.groupby(["run_id", "task"], sort=True)
    if reducer == "last":
        out = grouped["value"].last()
    elif reducer == "max":
        out = grouped["value"].max()
    elif reducer == "last_n_mean":
        out = grouped["value"].apply(lambda v: float(v.to_numpy()[-n:].mean()))
    else:
        out = grouped[["step", "value"]].apply(_auc)
    return out.rename("score").reset_index()


def _auc(g: pd.DataFrame) -> float:
    x = g["step"].to_numpy(dtype=float)
    y = g["value"].to_numpy(dtype=float)
    if len(x) == 1 or x[-1] == x[0]:
        return float(y.mean())
    return float(np.trapezoid(y, x) / (x[-1] - x[0]))


def _to_arrays(
    reduced: pd.DataFrame, methods: list[str], tasks: list[str]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    task_ix = {t: j for j, t in enumerate(tasks)}
    scores: dict[str, np.ndarray] = {}
    ids: dict[str, np.ndarray] = {}
    for method in methods:
        sub = reduced[reduced["method"] == method].sort_values(["task", "run_id"])
        slot = sub.groupby("task").cumcount().to_numpy()
        rows = int(slot.max()) + 1
        s = np.full((rows, len(tasks)), np.nan)
        r = np.full((rows, len(tasks)), "", dtype=object)
        cols = sub["task"].map(task_ix).to_numpy()
        s[slot, cols] = sub["score"].to_numpy(dtype=float)
        r[slot, cols] = sub["run_id"].to_numpy()
        scores[method], ids[method] = s, r
    return scores, ids


def _normalisation(
    scores: dict[str, np.ndarray],
    tasks: list[str],
    kind: str,
    direction: str,
    optimal: Mapping[str, float] | None,
    random: Mapping[str, float] | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-task ``(centre, span)`` over all methods' runs, oriented so that higher is better."""
    stacked = np.vstack(list(scores.values()))  # (all rows, tasks), NaN-padded
    sign = 1.0 if direction == "maximize" else -1.0
    if kind == "optimal":
        missing = [t for t in tasks if not optimal or t not in optimal]
        if missing:
            raise InputError(
                f"optimal_scores has no entry for task(s) {', '.join(map(repr, missing))}",
                hint="give an optimal score for every task, or use normalize='minmax'",
            )
        assert optimal is not None
        if direction == "minimize" and not random:
            raise InputError(
                "a minimized metric needs random_scores (the score of a random policy) to normalise "
                "against optimal_scores",
                hint="pass random_scores per task, or use normalize='minmax'",
            )
        lo = np.array([float((random or {}).get(t, 0.0)) for t in tasks])
        hi = np.array([float(optimal[t]) for t in tasks])
        span = hi - lo
        bad = [t for t, s in zip(tasks, span, strict=True) if s == 0 or not np.isfinite(s)]
        if bad:
            raise InputError(f"optimal and random scores must differ, but are equal for task(s) {bad}")
        return lo, span
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if kind == "minmax":
            lo, hi = np.nanmin(stacked, axis=0), np.nanmax(stacked, axis=0)
            center, span = (lo, hi - lo) if sign > 0 else (hi, lo - hi)
        else:
            center = np.nanmean(stacked, axis=0)
            counts = np.isfinite(stacked).sum(axis=0)
            span = (
                sign * np.nanstd(stacked, axis=0, ddof=1)
                if stacked.shape[0] > 1
                else np.full(len(tasks), np.nan)
            )
            span = np.where(counts > 1, span, np.nan)
    bad = [t for t, s in zip(tasks, span, strict=True) if not np.isfinite(s) or s == 0]
    if bad:
        raise InputError(
            f"{kind} normalisation is undefined for task(s) {', '.join(map(repr, bad))}: all scores are "
            "equal (or there is a single run)",
            hint="use normalize=None, or normalize='optimal' with optimal_scores",
        )
    return center, span


# --------------------------------------------------------------------------------------------
# Comparison
# --------------------------------------------------------------------------------------------

AGGREGATES: tuple[str, ...] = ("median", "iqm", "mean", "optimality_gap")
TESTS: tuple[str, ...] = ("welch_t", "mann_whitney", "wilcoxon", "permutation")
CORRECTIONS: tuple[str, ...] = ("holm", "bonferroni", "fdr_bh", "none")
_AGG_LABEL = {"median": "Median", "iqm": "IQM", "mean": "Mean", "optimality_gap": "Optimality Gap"}


@dataclass(frozen=True)
class Profile:
    """A performance profile: fraction of runs above each threshold, per method, with CI bands."""

    taus: np.ndarray
    points: dict[str, np.ndarray]
    """method -> (len(taus),)"""
    intervals: dict[str, np.ndarray]
    """method -> (2, len(taus)) lower/upper"""


@dataclass(frozen=True)
class CompareResult:
    """Everything a comparison produced; the CLI table, plots, HTML, LaTeX and CSV all read this.

    ``estimates``: method, aggregate, estimate, lower, upper, n_runs, n_tasks.
    ``improvement``: method_x, method_y, probability (P(X > Y), oriented so that better wins),
    lower, upper. ``tests``: method_x, method_y, test, variant, statistic, p_value, p_adjusted,
    reject, n_x, n_y (``p_adjusted`` corrected with ``correction`` over the pairs of each test).
    """

    matrix: ScoreMatrix
    score_dict: dict[str, np.ndarray]
    """The NaN-free part of the matrix every statistic used (see :meth:`ScoreMatrix.rectangular`)."""
    tasks: list[str]
    estimates: pd.DataFrame
    improvement: pd.DataFrame
    tests: pd.DataFrame
    profile: Profile | None
    settings: dict[str, Any]
    notes: list[str]
    """Data left out and small-sample caveats, in words."""

    def estimate(self, method: str, aggregate: str = "IQM") -> tuple[float, float, float]:
        """(estimate, lower, upper) of one method and aggregate label (``IQM``, ``Mean`` ...)."""
        row = self.estimates[
            (self.estimates["method"] == method) & (self.estimates["aggregate"] == aggregate)
        ]
        if row.empty:
            raise InputError(f"no estimate for method {method!r} and aggregate {aggregate!r}")
        r = row.iloc[0]
        return float(r["estimate"]), float(r["lower"]), float(r["upper"])


def compare(
    data: ScoreMatrix | Mapping[str, Any],
    *,
    aggregates: Sequence[str] = AGGREGATES,
    trim: float = 0.25,
    reps: int = 2000,
    confidence: float = 0.95,
    ci_method: str = "percentile",
    task_bootstrap: bool = False,
    tests: Sequence[str] = ("welch_t", "mann_whitney"),
    correction: str = "holm",
    alpha: float = 0.05,
    profile_points: int = 101,
    seed: int | np.random.Generator | None = 0,
) -> CompareResult:
    """Compare the methods of a score matrix (or an rliable score dict): estimates, PoI, tests.

    Aggregates are bootstrapped with the stratified bootstrap of :func:`runlab.stats.interval_estimates`
    (``reps`` resamples, ``confidence`` level); ``trim`` is the fraction cut from each end for the
    IQM (0.25 is the interquartile mean). The optimality gap is computed only for normalised
    matrices (it needs 1 = optimal). Significance tests compare each pair of methods on the
    per-run mean over tasks (one sample per run slot) and are corrected for multiple comparisons.
    Tasks missing for some methods and unequal run counts are left out *with a note*.
    """
    matrix = data if isinstance(data, ScoreMatrix) else from_score_dict(data)
    _check_settings(aggregates, trim, reps, confidence, tests, correction, alpha)
    rng = np.random.default_rng(seed)
    score_dict, tasks, notes = matrix.rectangular()
    if notes:
        warnings.warn("; ".join(notes), IncompleteDataWarning, stacklevel=2)
    from runlab.stats import SampleSizeWarning

    aggs = [a for a in aggregates if a != "optimality_gap" or matrix.normalize not in (None, "zscore")]
    with warnings.catch_warnings():
        # Small-sample caveats go into ``notes`` once instead of one warning per statistic.
        warnings.simplefilter("ignore", SampleSizeWarning)
        notes = list(notes) + _sample_size_notes(score_dict)
        if len(aggs) < len(aggregates):
            notes.append("optimality gap left out: it needs scores normalised to 1 = optimal")
        estimates = _estimates(
            score_dict, aggs, trim, reps, confidence, ci_method, task_bootstrap, _child(rng)
        )
        oriented = matrix.oriented(score_dict)
        improvement = _improvement(oriented, reps, confidence, _child(rng))
        table = _tests(oriented, tests, correction, alpha, _child(rng))
        profile = _profile(matrix, score_dict, profile_points, reps, confidence, _child(rng))
    settings = {
        "metric": matrix.metric,
        "group_by": matrix.group_by,
        "task_by": matrix.task_by,
        "reducer": matrix.reducer,
        "direction": matrix.direction,
        "normalize": matrix.normalize,
        "aggregates": aggs,
        "trim": trim,
        "reps": reps,
        "confidence": confidence,
        "ci_method": ci_method,
        "task_bootstrap": task_bootstrap,
        "tests": list(tests),
        "correction": correction,
        "alpha": alpha,
    }
    return CompareResult(matrix, score_dict, tasks, estimates, improvement, table, profile, settings, notes)


def _child(rng: np.random.Generator) -> int:
    """An independent integer seed for one step, so that steps do not share random streams."""
    return int(rng.integers(0, 2**62))


def _check_settings(
    aggregates: Sequence[str],
    trim: float,
    reps: int,
    confidence: float,
    tests: Sequence[str],
    correction: str,
    alpha: float,
) -> None:
    for a in aggregates:
        _check_choice("aggregate", a, AGGREGATES)
    for t in tests:
        _check_choice("test", t, TESTS)
    _check_choice("correction", correction, CORRECTIONS)
    if not 0.0 <= trim < 0.5:
        raise InputError(f"trim (iqm_trim_percentage) must be in [0, 0.5), got {trim!r}")
    if not isinstance(reps, int | np.integer) or reps < 1:
        raise InputError(f"reps (bootstrap_samples) must be a positive integer, got {reps!r}")
    if not 0.0 < confidence < 1.0:
        raise InputError(f"confidence (confidence_level) must be in (0, 1), got {confidence!r}")
    if not 0.0 < alpha < 1.0:
        raise InputError(f"alpha must be in (0, 1), got {alpha!r}")


def _sample_size_notes(score_dict: Mapping[str, np.ndarray]) -> list[str]:
    from runlab import stats

    return [line for m, s in score_dict.items() for line in stats.check_sample_size(s, f"method {m!r}")]


def _aggregate_fn(names: Sequence[str], trim: float) -> Any:
    """The bootstrap's vectorised multi-aggregate; the IQM becomes a trimmed mean when trim != 0.25."""
    from runlab import stats

    parts = ["trimmed_mean" if n == "iqm" and trim != 0.25 else n for n in names]
    return stats.aggregate_func(*parts, trim=trim)


def _estimates(
    score_dict: dict[str, np.ndarray],
    aggs: Sequence[str],
    trim: float,
    reps: int,
    confidence: float,
    ci_method: str,
    task_bootstrap: bool,
    seed: int,
) -> pd.DataFrame:
    from runlab import stats

    points, intervals = stats.interval_estimates(
        score_dict,
        _aggregate_fn(aggs, trim),
        reps=reps,
        method=ci_method,
        confidence=confidence,
        task_bootstrap=task_bootstrap,
        seed=seed,
    )
    rows = []
    for m, s in score_dict.items():
        p = np.atleast_1d(np.asarray(points[m], dtype=float))
        ci = np.asarray(intervals[m], dtype=float).reshape(2, -1)
        for k, name in enumerate(aggs):
            label = _AGG_LABEL[name] if name != "iqm" or trim == 0.25 else f"Trimmed mean ({trim:g})"
            rows.append((m, label, p[k], ci[0, k], ci[1, k], s.shape[0], s.shape[1]))
    return pd.DataFrame(
        rows, columns=["method", "aggregate", "estimate", "lower", "upper", "n_runs", "n_tasks"]
    )


def _improvement(oriented: dict[str, np.ndarray], reps: int, confidence: float, seed: int) -> pd.DataFrame:
    from runlab import stats

    cols = ["method_x", "method_y", "probability", "lower", "upper"]
    if len(oriented) < 2:
        return pd.DataFrame(columns=cols)
    points, intervals = stats.probability_of_improvement_intervals(
        oriented, reps=reps, confidence=confidence, seed=seed
    )
    rows = [
        (a, b, points[(a, b)], *np.asarray(intervals[(a, b)], dtype=float).ravel()[:2]) for a, b in points
    ]
    return pd.DataFrame(rows, columns=cols)


def _profile(
    matrix: ScoreMatrix,
    score_dict: dict[str, np.ndarray],
    points: int,
    reps: int,
    confidence: float,
    seed: int,
) -> Profile | None:
    """Run-score profile over an even grid spanning the observed (oriented) scores."""
    from runlab import stats

    if points < 2:
        return None
    oriented = matrix.oriented(score_dict)
    allv = np.concatenate([s.ravel() for s in oriented.values()])
    lo, hi = float(allv.min()), float(allv.max())
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    taus = np.linspace(lo, hi, points)
    prof, ci = stats.performance_profile(oriented, taus, reps=reps, confidence=confidence, seed=seed)
    sign = 1.0 if matrix.higher_is_better else -1.0
    return Profile(
        taus=sign * taus,
        points={m: np.asarray(prof[m], dtype=float) for m in oriented},
        intervals={m: np.asarray(ci[m], dtype=float).reshape(2, -1) for m in oriented},
    )


def _tests(
    oriented: dict[str, np.ndarray], tests: Sequence[str], correction: str, alpha: float, seed: int
) -> pd.DataFrame:
    """Every test on every pair (per-run means over tasks), corrected within each test's family."""
    from runlab import stats

    cols = [
        "method_x",
        "method_y",
        "test",
        "variant",
        "statistic",
        "p_value",
        "p_adjusted",
        "reject",
        "n_x",
        "n_y",
    ]
    if len(oriented) < 2:
        return pd.DataFrame(columns=cols)
    rows = []
    for k, test in enumerate(tests):
        for r in stats.pairwise_tests(oriented, test=test, correction=correction, alpha=alpha, seed=seed + k):
            t = r.result
            rows.append(
                (r.a, r.b, test, t.variant, t.statistic, t.pvalue, r.pvalue_adjusted, r.reject, t.n_x, t.n_y)
            )
    return pd.DataFrame(rows, columns=cols)
