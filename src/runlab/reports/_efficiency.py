"""Sample-efficiency curves of one comparison: the aggregate score along training, with CI bands.

The curves use exactly what the comparison used: the same runs (the NaN-free part of its score
matrix), the same tasks (for a metric-regex ``task_by`` each task's own metric, otherwise the
primary metric) and the same normalisation (the per-task centre and span the comparison derived
from its reduced scores, so the last point and the comparison share one scale). Each run's
finite values are linearly interpolated onto an even grid over the x range *every* run reached:
no curve is extrapolated, and a note says when longer runs were cut.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from runlab.errors import InputError
from runlab.reports._config import CompareConfig
from runlab.stats.frame import CompareResult, ScoreMatrix

if TYPE_CHECKING:
    from runlab.warehouse import Warehouse

_LABEL = {"iqm": "IQM", "mean": "Mean", "median": "Median"}


@dataclass(frozen=True)
class Efficiency:
    """The aggregate of each method at every grid point, with bootstrap bands and its inputs."""

    x_axis: str
    aggregate: str
    """Display label of the aggregate (``IQM``, ``Mean``, ``Median``, ``Trimmed mean (0.1)``)."""
    x: np.ndarray
    """The grid, ``(points,)``: even steps from the latest first x to the earliest last x."""
    points: dict[str, np.ndarray]
    """method -> ``(points,)``"""
    intervals: dict[str, np.ndarray]
    """method -> ``(2, points)`` lower/upper"""
    scores: pd.DataFrame
    """The resampled (normalised) scores: method, task, row, run_id, run_name, x, score."""
    tasks: list[str]
    n_runs: dict[str, int]
    notes: list[str]

    def curves(self) -> pd.DataFrame:
        """Long form: method, x, point, lower, upper (one row per method and grid point)."""
        parts = [
            pd.DataFrame({"method": m, "x": self.x, "point": p, "lower": self.intervals[m][0],
                          "upper": self.intervals[m][1]})
            for m, p in self.points.items()
        ]
        return pd.concat(parts, ignore_index=True)

    def final(self) -> pd.DataFrame:
        """The last grid point per method: method, x, aggregate, estimate, lower, upper, n_runs, n_tasks."""
        rows = [
            (m, float(self.x[-1]), self.aggregate, float(p[-1]), float(self.intervals[m][0, -1]),
             float(self.intervals[m][1, -1]), self.n_runs[m], len(self.tasks))
            for m, p in self.points.items()
        ]
        return pd.DataFrame(
            rows, columns=["method", "x", "aggregate", "estimate", "lower", "upper", "n_runs", "n_tasks"]
        )

    def summary(self) -> dict[str, Any]:
        """JSON-ready description for ``report.json``."""
        return {
            "x_axis": self.x_axis,
            "aggregate": self.aggregate,
            "points": len(self.x),
            "x_min": float(self.x[0]),
            "x_max": float(self.x[-1]),
            "tasks": self.tasks,
            "n_runs": self.n_runs,
            "notes": self.notes,
        }


def efficiency(wh: Warehouse, config: CompareConfig, res: CompareResult) -> tuple[Efficiency | None, list[str]]:
    """The curves of one comparison, or None with the reason among the returned notes."""
    se = config.sample_efficiency
    if not se.enabled:
        return None, []
    try:
        return _build(wh, config, res), []
    except InputError as exc:
        return None, [f"sample-efficiency curves left out: {exc.message}" + (f" ({exc.hint})" if exc.hint else "")]


def _build(wh: Warehouse, config: CompareConfig, res: CompareResult) -> Efficiency:
    se, a = config.sample_efficiency, config.analysis
    matrix = res.matrix
    cells = _cells(matrix, res)
    run_ids = sorted({r for by_task in cells.values() for ids in by_task.values() for r in ids})
    curves = _curves(wh, config, matrix, run_ids)
    if not curves:
        raise InputError(
            f"no run of the comparison has finite values of the scored metric(s) along x axis {se.x_axis!r}",
            hint=f"check that the runs log {se.x_axis!r}, or set sample_efficiency.x_axis=_step",
        )
    notes: list[str] = []
    lacking = [r for r in run_ids if not any((r, t) in curves for t in res.tasks)]
    kept: dict[str, dict[str, list[str]]] = {}
    dropped = 0
    for m, by_task in cells.items():
        with_curve = {t: [r for r in ids if (r, t) in curves] for t, ids in by_task.items()}
        n = min(len(ids) for ids in with_curve.values())
        if n == 0:
            raise InputError(
                f"method {m!r} has no run with finite values of the scored metric along x axis {se.x_axis!r}",
                hint=f"check that the runs log {se.x_axis!r}, or set sample_efficiency.x_axis=_step",
            )
        dropped += sum(len(ids) for ids in by_task.values()) - n * len(by_task)
        kept[m] = {t: ids[:n] for t, ids in with_curve.items()}
    if dropped:
        notes.append(
            f"{dropped} run curve(s) of the comparison were left out: {len(lacking)} run(s) have no value on "
            f"x axis {se.x_axis!r}, and each method keeps as many runs per task as its smallest task has"
        )
    used = [curves[(r, t)] for by_task in kept.values() for t, ids in by_task.items() for r in ids]
    firsts = np.array([xs[0] for xs, _ in used])
    lasts = np.array([xs[-1] for xs, _ in used])
    lo, hi = float(firsts.max()), float(lasts.min())
    if not hi > lo:
        raise InputError(
            f"the runs share no range of {se.x_axis!r}: the latest first value {lo:g} is not below the "
            f"earliest last value {hi:g}",
            hint="select runs that overlap in training, or pick another sample_efficiency.x_axis",
        )
    notes += _cut_notes(se.x_axis, firsts, lasts, lo, hi)
    grid = np.linspace(lo, hi, se.points)
    center, span = _affine(matrix, res.tasks)
    score_dict: dict[str, np.ndarray] = {}
    rows = []
    for m, by_task in kept.items():
        n = len(next(iter(by_task.values())))
        arr = np.empty((n, len(res.tasks), len(grid)))
        for j, t in enumerate(res.tasks):
            for i, r in enumerate(by_task[t]):
                xs, ys = curves[(r, t)]
                arr[i, j] = (np.interp(grid, xs, ys) - center[j]) / span[j]
                rows += [(m, t, i, r, matrix.run_names.get(r, ""), float(x), float(v))
                         for x, v in zip(grid, arr[i, j], strict=True)]
        score_dict[m] = arr
    stat, label = _statistic(se.aggregate, a.iqm_trim_percentage)
    from runlab import stats

    with warnings.catch_warnings():
        # The comparison already reports small samples for these runs.
        warnings.simplefilter("ignore", stats.SampleSizeWarning)
        points, intervals = stats.sample_efficiency(
            score_dict,
            stat,
            reps=a.bootstrap_samples,
            method=a.ci_method,
            confidence=a.confidence_level,
            task_bootstrap=a.task_bootstrap,
            seed=a.seed,
        )
    scores = pd.DataFrame(rows, columns=["method", "task", "row", "run_id", "run_name", "x", "score"])
    return Efficiency(
        x_axis=se.x_axis,
        aggregate=label,
        x=grid,
        points={m: np.asarray(p, dtype=float) for m, p in points.items()},
        intervals={m: np.asarray(v, dtype=float).reshape(2, -1) for m, v in intervals.items()},
        scores=scores,
        tasks=list(res.tasks),
        n_runs={m: int(s.shape[0]) for m, s in score_dict.items()},
        notes=notes,
    )


def _cells(matrix: ScoreMatrix, res: CompareResult) -> dict[str, dict[str, list[str]]]:
    """method -> task -> run ids in row order: the runs behind ``res.score_dict`` (see ``rectangular``)."""
    out: dict[str, dict[str, list[str]]] = {}
    for m, used in res.score_dict.items():
        n = used.shape[0]
        by_task = {}
        for t in res.tasks:
            j = matrix.tasks.index(t)
            col = matrix.scores[m][:, j]
            by_task[t] = [str(r) for r in matrix.run_ids[m][np.isfinite(col), j][:n]]
        out[m] = by_task
    return out


def _curves(
    wh: Warehouse, config: CompareConfig, matrix: ScoreMatrix, run_ids: list[str]
) -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]:
    """(run, task) -> (x, value): finite values ordered by x, the latest step's value at a repeated x."""
    x_axis = config.sample_efficiency.x_axis
    regex = _regex(config.task_by)
    if regex is not None:
        names = wh.metric_names(run_ids)
        metric_task = {m: _task_name(hit) for m in names["metric"].unique() if (hit := regex.fullmatch(m))}
    else:
        metric_task = {matrix.metric: ""}
    if not metric_task:
        return {}
    query = wh.history_query(run_ids, sorted(metric_task), x_axis=x_axis)
    x = "CAST(step AS DOUBLE)" if x_axis == "_step" else "CAST(x AS DOUBLE)"
    table = wh.con.execute(
        f"SELECT run_id, metric, {x} AS x, arg_max(value, step) AS value FROM ({query}) "
        f"WHERE {x} IS NOT NULL AND isfinite({x}) AND isfinite(value) "
        "GROUP BY ALL ORDER BY run_id, metric, x"
    ).df()
    task_of_run = _config_tasks(matrix)
    out: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
    for (rid, metric), g in table.groupby(["run_id", "metric"], sort=False):
        task = metric_task[str(metric)] if regex is not None else task_of_run.get(str(rid), matrix.metric)
        out[(str(rid), task)] = (g["x"].to_numpy(dtype=float), g["value"].to_numpy(dtype=float))
    return out


def _config_tasks(matrix: ScoreMatrix) -> dict[str, str]:
    """run id -> task, read off the matrix (a config-path task or the metric itself)."""
    out: dict[str, str] = {}
    for ids in matrix.run_ids.values():
        for j, t in enumerate(matrix.tasks):
            out.update((str(r), t) for r in ids[:, j] if r)
    return out


def _regex(task_by: str | None) -> re.Pattern[str] | None:
    return re.compile(task_by) if task_by is not None and "(?P<task>" in task_by else None


def _task_name(match: re.Match[str]) -> str:
    """The score matrix's task name of a metric: other named groups first (``suite/task``)."""
    groups = match.groupdict()
    parts = [str(v) for k, v in groups.items() if k != "task" and v is not None]
    return "/".join([*parts, str(groups["task"])])


def _cut_notes(x_axis: str, firsts: np.ndarray, lasts: np.ndarray, lo: float, hi: float) -> list[str]:
    notes = []
    later, longer = int((firsts < lo).sum()), int((lasts > hi).sum())
    if longer:
        notes.append(
            f"curves end at {x_axis} = {hi:,.6g}, the furthest every run reached: {longer} of {len(lasts)} "
            f"run curve(s) went further (up to {lasts.max():,.6g}) and were cut there"
        )
    if later:
        notes.append(
            f"curves start at {x_axis} = {lo:,.6g}, the latest first value of any run: {later} of "
            f"{len(firsts)} run curve(s) started earlier (from {firsts.min():,.6g})"
        )
    return notes


def _affine(matrix: ScoreMatrix, tasks: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per-task (centre, span) with ``normalised = (raw - centre) / span``: the comparison's own
    normalisation, so a curve value equal to a run's reduced score lands on its normalised score."""
    if matrix.affine is None:
        return np.zeros(len(tasks)), np.ones(len(tasks))
    cols = [matrix.tasks.index(t) for t in tasks]
    center, span = matrix.affine
    return center[cols], span[cols]


def _statistic(aggregate: str, trim: float) -> tuple[Any, str]:
    """The ``runlab.stats`` aggregate and its label; the IQM follows the configured trim."""
    from runlab import stats

    if aggregate == "iqm" and trim != 0.25:
        return stats.aggregate_func("trimmed_mean", trim=trim), f"Trimmed mean ({trim:g})"
    return aggregate, _LABEL[aggregate]
