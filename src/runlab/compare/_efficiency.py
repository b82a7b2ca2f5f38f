"""Sample-efficiency curves of one comparison: the aggregate score along training, with CI bands.

The curves use exactly what the comparison used: the same runs (the NaN-free part of its score
matrix), the same tasks (the same :class:`runlab.frames.TaskSpec`: for a metric-regex ``task_by``
each task's own metric, otherwise the scored metric) and the same normalisation (the per-task
centre and span of the comparison, so the last point and the comparison share one scale). The
values come from :func:`runlab.frames.tidy_frame`: once as logged, to find the x range *every* run
reached, then linearly interpolated onto an even grid over that range (``grid=``,
``interpolation="linear"``); nothing is extrapolated, and a note says when longer runs were cut.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from runlab import stats
from runlab.compare._compare import CompareResult
from runlab.compare._matrix import ScoreMatrix
from runlab.errors import InputError
from runlab.frames import TaskSpec, tidy_frame
from runlab.stats import CURVE_AGGREGATES, SampleSizeWarning, choice

if TYPE_CHECKING:
    from runlab.warehouse import Warehouse

_LABEL = {"iqm": "IQM", "mean": "Mean", "median": "Median"}
Curves = dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]


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


def efficiency_curves(
    wh: Warehouse,
    result: CompareResult,
    *,
    x_axis: str = "metric/agent_step",
    points: int = 20,
    aggregate: str = "iqm",
    trim: float = 0.25,
    reps: int = 2000,
    ci_method: str = "percentile",
    confidence: float = 0.95,
    task_bootstrap: bool = False,
    seed: int = 0,
) -> Efficiency:
    """The aggregate of every method of ``result`` at ``points`` even steps of ``x_axis``, with CIs.

    Raises :class:`runlab.errors.InputError` (with the reason) when the runs share no x range or a
    method has no run with finite values along ``x_axis``. Long because it reads as the recipe it
    is (runs -> logged curves -> shared range -> grid -> bootstrap), each step one call.
    """
    aggregate = choice("aggregate", aggregate, CURVE_AGGREGATES)
    matrix = result.matrix
    cells = _cells(matrix, result)
    run_ids = sorted({r for by_task in cells.values() for ids in by_task.values() for r in ids})
    metrics, task_of = _scored(wh, matrix, run_ids)
    run_task = _run_tasks(matrix)
    raw = _curves(tidy_frame(wh, run_ids, metrics, x_axis=x_axis, labels=False), metrics, task_of, run_task)
    if not raw:
        raise InputError(
            f"no run of the comparison has finite values of the scored metric(s) along x axis {x_axis!r}",
            hint=f"check that the runs log {x_axis!r}, or set sample_efficiency.x_axis=_step",
        )
    kept, notes = _kept(cells, raw, result.tasks, x_axis)
    used = [raw[(r, t)] for by_task in kept.values() for t, ids in by_task.items() for r in ids]
    firsts = np.array([xs[0] for xs, _ in used])
    lasts = np.array([xs[-1] for xs, _ in used])
    lo, hi = float(firsts.max()), float(lasts.min())
    if not hi > lo:
        raise InputError(
            f"the runs share no range of {x_axis!r}: the latest first value {lo:g} is not below the "
            f"earliest last value {hi:g}",
            hint="select runs that overlap in training, or pick another sample_efficiency.x_axis",
        )
    notes += _cut_notes(x_axis, firsts, lasts, lo, hi)
    grid = np.linspace(lo, hi, points)
    gridded = tidy_frame(wh, run_ids, metrics, x_axis=x_axis, grid=list(grid), interpolation="linear", labels=False)
    score_dict, rows = _on_grid(_curves(gridded, metrics, task_of, run_task, finite=False), kept, grid, matrix, result.tasks)
    stat, label = _statistic(aggregate, trim)
    with warnings.catch_warnings():
        # The comparison already reports small samples for these runs.
        warnings.simplefilter("ignore", SampleSizeWarning)
        pts, intervals = stats.sample_efficiency(score_dict, stat, reps=reps, method=ci_method,
                                                 confidence=confidence, task_bootstrap=task_bootstrap, seed=seed)
    return Efficiency(
        x_axis=x_axis,
        aggregate=label,
        x=grid,
        points={m: np.asarray(p, dtype=float) for m, p in pts.items()},
        intervals={m: np.asarray(v, dtype=float).reshape(2, -1) for m, v in intervals.items()},
        scores=pd.DataFrame(rows, columns=["method", "task", "row", "run_id", "run_name", "x", "score"]),
        tasks=list(result.tasks),
        n_runs={m: int(s.shape[0]) for m, s in score_dict.items()},
        notes=notes,
    )


def _scored(wh: Warehouse, matrix: ScoreMatrix, run_ids: list[str]) -> tuple[list[str], dict[str, str]]:
    """The metrics behind the scores, and metric -> task for metric-regex tasks (else empty)."""
    if matrix.task_by is not None:
        spec = TaskSpec.parse(matrix.task_by)
        if spec.regex is not None:
            logged = wh.metric_names(run_ids)["metric"].unique()
            task_of = {str(m): t for m in logged if (t := spec.task_name(str(m))) is not None}
            return sorted(task_of), task_of
    return [matrix.metric], {}


def _curves(frame: pd.DataFrame, metrics: list[str], task_of: dict[str, str], run_task: dict[str, str],
            finite: bool = True) -> Curves:
    """(run, task) -> (x, value) ordered by x; ``finite`` keeps only finite x and values.

    The task is the metric's (``task_of``, metric-regex tasks) or else the run's (``run_task``)."""
    out: Curves = {}
    for metric in metrics:
        if metric not in frame.columns:
            continue
        part = frame[["run_id", "step", metric]].dropna(subset=[metric])
        if finite:
            ok = np.isfinite(part["step"].to_numpy(dtype=float)) & np.isfinite(part[metric].to_numpy(dtype=float))
            part = part[ok]
        for rid, g in part.groupby("run_id", sort=False):
            task = task_of.get(metric) if task_of else run_task.get(str(rid), metric)
            if task is None:
                continue
            g = g.sort_values("step", kind="stable")
            out[(str(rid), task)] = (g["step"].to_numpy(dtype=float), g[metric].to_numpy(dtype=float))
    return out


def _run_tasks(matrix: ScoreMatrix) -> dict[str, str]:
    """run id -> task, read off the matrix (a config-path task or the metric itself)."""
    out: dict[str, str] = {}
    for ids in matrix.run_ids.values():
        for j, t in enumerate(matrix.tasks):
            out.update((str(r), t) for r in ids[:, j] if r)
    return out


def _kept(cells: dict[str, dict[str, list[str]]], curves: Curves, tasks: list[str],
          x_axis: str) -> tuple[dict[str, dict[str, list[str]]], list[str]]:
    """Per method and task the runs that have a curve, trimmed to the method's smallest task."""
    run_ids = sorted({r for by_task in cells.values() for ids in by_task.values() for r in ids})
    lacking = [r for r in run_ids if not any((r, t) in curves for t in tasks)]
    kept: dict[str, dict[str, list[str]]] = {}
    dropped = 0
    for m, by_task in cells.items():
        with_curve = {t: [r for r in ids if (r, t) in curves] for t, ids in by_task.items()}
        n = min(len(ids) for ids in with_curve.values())
        if n == 0:
            raise InputError(
                f"method {m!r} has no run with finite values of the scored metric along x axis {x_axis!r}",
                hint=f"check that the runs log {x_axis!r}, or set sample_efficiency.x_axis=_step",
            )
        dropped += sum(len(ids) for ids in by_task.values()) - n * len(by_task)
        kept[m] = {t: ids[:n] for t, ids in with_curve.items()}
    notes = []
    if dropped:
        notes.append(
            f"{dropped} run curve(s) of the comparison were left out: {len(lacking)} run(s) have no value on "
            f"x axis {x_axis!r}, and each method keeps as many runs per task as its smallest task has"
        )
    return kept, notes


def _on_grid(curves: Curves, kept: dict[str, dict[str, list[str]]], grid: np.ndarray, matrix: ScoreMatrix,
             tasks: list[str]) -> tuple[dict[str, np.ndarray], list[tuple[Any, ...]]]:
    """Normalised ``(runs, tasks, points)`` per method from the gridded curves, and the long rows."""
    center, span = _affine(matrix, tasks)
    score_dict: dict[str, np.ndarray] = {}
    rows: list[tuple[Any, ...]] = []
    for m, by_task in kept.items():
        n = len(next(iter(by_task.values())))
        arr = np.empty((n, len(tasks), len(grid)))
        for j, t in enumerate(tasks):
            for i, r in enumerate(by_task[t]):
                xs, ys = curves.get((r, t), (np.array([]), np.array([])))
                values = pd.Series(ys, index=xs).reindex(grid).to_numpy(dtype=float)
                if not np.isfinite(values).all():
                    raise InputError(
                        f"run {r!r} has non-finite values of task {t!r} inside the shared x range",
                        hint="the curve cannot be interpolated there; check the run's logged values",
                    )
                arr[i, j] = (values - center[j]) / span[j]
                rows += [(m, t, i, r, matrix.run_names.get(r, ""), float(x), float(v))
                         for x, v in zip(grid, arr[i, j], strict=True)]
        score_dict[m] = arr
    return score_dict, rows


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
    if aggregate == "iqm" and trim != 0.25:
        return stats.aggregate_func("trimmed_mean", trim=trim), f"Trimmed mean ({trim:g})"
    return aggregate, _LABEL[aggregate]
