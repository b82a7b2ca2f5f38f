"""The tidy frame: ``run_id, run_name, task, step, <metrics>, <config params>, <labels>``.

All heavy work (metric selection, x-axis alignment, downsampling, interpolation, the pivot) runs
in DuckDB over the Parquet history; pandas only ever holds the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from runlab.configpath import config_value
from runlab.errors import InputError, NotFoundError, closest
from runlab.frames import _sql
from runlab.frames._lttb import lttb_indices
from runlab.frames._report import MissingReport
from runlab.frames._spec import Downsample, TaskSpec, check_interpolation
from runlab.warehouse.helpers import new_token, one

if TYPE_CHECKING:
    from runlab.warehouse import Warehouse

KEY_SEP = "\x1f"
#: W&B run metadata a frame can carry as ``run_<field>`` columns (``run_fields=``).
RUN_FIELDS: tuple[str, ...] = ("group", "job_type", "tags", "state", "project", "entity", "source")


def tidy_frame(
    wh: Warehouse,
    runs: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    *,
    config_params: Sequence[str] = (),
    labels: bool = True,
    run_fields: Sequence[str] = (),
    x_axis: str = "_step",
    task: TaskSpec | str | None = None,
    min_step: int | None = None,
    interpolation: str = "none",
    grid: int | Sequence[float] | None = None,
    downsample: Downsample | str | None = None,
) -> pd.DataFrame:
    """One row per (run, task, x point) with one column per metric, config param and label.

    ``runs``: ids, names or globs (``None`` = all). ``metrics``: names or globs (``None`` = all).
    ``x_axis``: ``_step`` or an x-axis metric (``metric/agent_step``); column ``step`` holds its
    value. ``min_step`` drops runs whose last step is below it (incomplete runs). ``grid`` (a
    point count, or explicit x values) aligns all runs on common x points; ``interpolation``
    (``none``/``linear``/``ffill``) fills gaps without extrapolating past a run's end;
    ``downsample`` (``every_nth:N``, ``log:N``, ``lttb:N``) keeps fewer points per run.
    ``run_fields`` adds W&B run metadata as ``run_<field>`` columns (``group``, ``job_type``,
    ``tags`` as one comma-joined text, ``state``, ``project``, ``entity``, ``source``).
    The :class:`MissingReport` is in ``frame.attrs["missing_report"]``.
    """
    check_interpolation(interpolation)
    unknown = [f for f in run_fields if f not in RUN_FIELDS]
    if unknown:  # checked before any SQL runs
        raise InputError(f"unknown run field(s) {unknown}", hint=f"choose from {', '.join(RUN_FIELDS)}")
    spec = TaskSpec.parse(task) if isinstance(task, str) else task
    ds = Downsample.parse(downsample)
    if ds is not None and grid is not None:
        raise InputError("use either grid or downsample, not both",
                         hint="a grid already fixes the points of every run")
    report = MissingReport(cells=pd.DataFrame())
    run_ids = _select_runs(wh, runs, min_step, report)
    names = _select_metrics(wh, run_ids, metrics, spec, x_axis)
    report.absent = _absent(wh, run_ids, names)
    builder = _Builder(wh, run_ids, names, spec, x_axis)
    try:
        wide, report.cells, report.rows_without_x = builder.run(interpolation, grid, ds)
    finally:
        builder.cleanup()
    frame = _decorate(wh, wide, run_ids, spec, config_params, labels, run_fields)
    if x_axis == "_step" and len(frame) and (frame["step"] == np.round(frame["step"])).all():
        frame["step"] = frame["step"].astype("int64")
    frame.attrs["missing_report"] = report
    frame.attrs["x_axis"] = x_axis
    return frame


def _select_runs(wh: Warehouse, runs: Sequence[str] | None, min_step: int | None, report: MissingReport) -> list[str]:
    ids = wh.resolve_runs(runs)
    if min_step is None:
        return ids
    info = wh.runs(ids) if ids else pd.DataFrame(columns=["run_id", "max_step"])
    keep = []
    for rid, ms in zip(info["run_id"], info["max_step"], strict=True):
        if pd.isna(ms) or int(ms) < min_step:
            report.dropped_runs[rid] = f"last step {'none' if pd.isna(ms) else int(ms)} < min_step {min_step}"
        else:
            keep.append(rid)
    return keep


def _select_metrics(wh: Warehouse, run_ids: list[str], metrics: Sequence[str] | None,
                    spec: TaskSpec | None, x_axis: str) -> list[str]:
    known = wh.metric_names(run_ids)["metric"].unique().tolist() if run_ids else []
    if metrics is None:
        names = sorted(m for m in known if m != x_axis)
        if spec is not None and spec.regex is not None:
            names = [m for m in names if spec.regex.fullmatch(m)] or names
        return names
    if isinstance(metrics, str):
        metrics = [metrics]
    names = wh.expand_metrics(metrics, run_ids) if run_ids else list(metrics)
    known_set = set(known)
    for m in names:
        if m not in known_set and run_ids:
            near = closest(m, known)
            raise NotFoundError(
                f"no selected run logged metric {m!r}",
                hint=f"did you mean: {', '.join(map(repr, near))}" if near else "list metrics with Warehouse.metric_names()",
            )
    return names


def _absent(wh: Warehouse, run_ids: list[str], names: list[str]) -> dict[str, list[str]]:
    if not run_ids or not names:
        return {}
    have = wh.metric_names(run_ids)
    have = have[have["metric"].isin(names)]
    pairs = set(zip(have["run_id"], have["metric"], strict=True))
    out = {m: [r for r in run_ids if (r, m) not in pairs] for m in names}
    return {m: ids for m, ids in out.items() if ids}


class _Builder:
    """Runs the SQL stages on the warehouse connection, with temp tables it cleans up."""

    def __init__(self, wh: Warehouse, run_ids: list[str], names: list[str], spec: TaskSpec | None, x_axis: str) -> None:
        self.wh, self.run_ids, self.names, self.spec, self.x_axis = wh, run_ids, names, spec, x_axis
        self.tag = new_token()
        self.temps: list[str] = []
        self.columns: list[str] = []

    def _temp(self, name: str, sql: str | None = None, data: Any = None) -> str:
        full = f"_runlab_{name}_{self.tag}"
        if sql is not None:
            self.wh.con.execute(f"CREATE TEMP TABLE {full} AS {sql}")
        else:
            view = f"{full}_src"
            self.wh.con.register(view, data)
            try:
                self.wh.con.execute(f"CREATE TEMP TABLE {full} AS SELECT * FROM {view}")
            finally:
                self.wh.con.unregister(view)
        self.temps.append(full)
        return full

    def cleanup(self) -> None:
        for t in self.temps:
            self.wh.con.execute(f"DROP TABLE IF EXISTS {t}")

    def run(self, interpolation: str, grid: int | Sequence[float] | None,
            ds: Downsample | None) -> tuple[pd.DataFrame, pd.DataFrame, int]:
        con = self.wh.con
        if not self.run_ids or not self.names:
            return pd.DataFrame(columns=["run_id", "task", "x"]), _empty_cells(), 0
        hist = self.wh.history_query(self.run_ids, self.names, x_axis=self.x_axis)
        mapping = self._mapping()
        base = self._temp("base", _sql.base_sql(hist, self.x_axis == "_step", mapping))
        no_x = "false" if self.x_axis == "_step" else "x IS NULL"
        (rows_without_x,) = one(con, f"SELECT count(*) FILTER (WHERE {no_x}) FROM {_sql.rel(hist)}") or (0,)
        grid_t = self._grid(base, grid)
        keep = self._lttb(base, ds) if ds is not None and ds.method == "lttb" else None
        pts = _sql.points_sql(base, None if ds is None else ds.method, 0 if ds is None else ds.n, grid_t, keep)
        if interpolation == "none" and grid_t is None:
            # Only logged values: no cross join of every metric with every point is needed.
            semi = "" if ds is None else f" SEMI JOIN {_sql.rel(pts)} p USING (run_id, x)"
            filled_q = f"SELECT run_id, task, col, x, value AS v, true AS obs FROM {base}{semi}"
        else:
            filled_q = _sql.filled_sql(base, pts, interpolation)
        filled = self._temp("filled", filled_q)
        cols = [r[0] for r in con.execute(f"SELECT DISTINCT col FROM {filled} ORDER BY col").fetchall()]
        order = {c: i for i, c in enumerate(self.columns or self.names)}
        cols.sort(key=lambda c: (order.get(c, len(order)), c))
        wide = con.execute(_sql.pivot_sql(filled, cols)).df()
        wide.columns = ["run_id", "task", "x", *cols]
        cells = con.execute(_sql.report_sql(filled)).df()
        return wide, cells, int(rows_without_x)

    def _mapping(self) -> str | None:
        if self.spec is None or self.spec.regex is None:
            return None
        rx = self.spec.regex
        rows = []
        for m in self.names:
            hit = rx.fullmatch(m)
            if hit:
                key = KEY_SEP.join(f"{g}={hit.group(g) or ''}" for g in rx.groupindex)
                rows.append((m, self.spec.column, key))
        self.columns = [self.spec.column] + [m for m in self.names if not rx.fullmatch(m)]
        data = pd.DataFrame(rows, columns=["metric", "col", "task"])
        return self._temp("map", data=data)

    def _grid(self, base: str, grid: int | Sequence[float] | None) -> str | None:
        if grid is None:
            return None
        if isinstance(grid, int) and not isinstance(grid, bool):
            if grid < 2:
                raise InputError(f"grid must be at least 2 points, got {grid}")
            lo, hi = one(self.wh.con, f"SELECT min(x), max(x) FROM {base}") or (None, None)
            xs = np.linspace(lo, hi, grid) if lo is not None else np.array([])
            if self.x_axis == "_step":
                xs = np.unique(np.round(xs))
        else:
            xs = np.unique(np.asarray(list(grid), dtype=float))
            if not np.isfinite(xs).all():
                raise InputError("grid values must be finite numbers")
        data = pd.DataFrame({"x": xs.astype(float)})
        return self._temp("grid", data=data)

    def _lttb(self, base: str, ds: Downsample) -> str:
        con = self.wh.con
        target = ds.metric or (self.columns[0] if self.columns else self.names[0])
        keep_rows: list[tuple[str, float]] = []
        for rid in self.run_ids:
            xy = con.execute(
                f"SELECT x, value FROM {base} WHERE run_id = ? AND col = ? ORDER BY x", [rid, target]
            ).fetchnumpy()
            if len(xy["x"]) == 0:
                xs = con.execute(f"SELECT DISTINCT x FROM {base} WHERE run_id = ? ORDER BY x", [rid]).fetchnumpy()["x"]
                idx = lttb_indices(xs, np.zeros(len(xs)), ds.n)
                keep_rows += [(rid, float(v)) for v in xs[idx]]
                continue
            idx = lttb_indices(np.asarray(xy["x"], float), np.asarray(xy["value"], float), ds.n)
            keep_rows += [(rid, float(v)) for v in np.asarray(xy["x"])[idx]]
        data = pd.DataFrame(keep_rows, columns=["run_id", "x"])
        return self._temp("keep", data=data)


def _empty_cells() -> pd.DataFrame:
    return pd.DataFrame(columns=["run_id", "task", "metric", "points", "observed", "filled", "missing", "nonfinite"])


def _decorate(wh: Warehouse, wide: pd.DataFrame, run_ids: list[str], spec: TaskSpec | None,
              config_params: Sequence[str], labels: bool, run_fields: Sequence[str] = ()) -> pd.DataFrame:
    """Add run names, run fields, tasks, config params and labels (one read of the runs table);
    order the columns."""
    metric_cols = [c for c in wide.columns if c not in ("run_id", "task", "x")]
    info = wh.runs(run_ids) if run_ids else pd.DataFrame(columns=["run_id", "name", "config", *RUN_FIELDS])
    names = dict(zip(info["run_id"], info["name"], strict=True))
    configs = dict(zip(info["run_id"], info["config"], strict=True))
    extra_groups: list[str] = []
    if spec is not None and spec.regex is not None:
        wide, extra_groups = _split_regex_tasks(wide, spec, metric_cols)
        metric_cols = [c for c in wide.columns if c not in ("run_id", "task", "x", *extra_groups)]
    elif spec is not None and spec.config_path is not None:
        tasks = {r: config_value(c, spec.config_path, spec.default) for r, c in configs.items()}
        wide["task"] = wide["run_id"].map(lambda r: str(tasks.get(r, spec.default)))
    else:
        wide["task"] = "all"
    out = wide.rename(columns={"x": "step"})
    out.insert(1, "run_name", out["run_id"].map(names))
    for k, field in enumerate(run_fields):  # tags as one ``a,b,c`` text, so a run's tags group it
        values = info[field].map(lambda v: ",".join(map(str, v)) if isinstance(v, list | tuple | np.ndarray) else v)
        out.insert(2 + k, f"run_{field}", out["run_id"].map(dict(zip(info["run_id"], values, strict=True))))
    taken = set(out.columns)
    for path in config_params:
        col = path if path not in taken else f"config.{path}"
        out[col] = out["run_id"].map({r: config_value(c, path) for r, c in configs.items()})
        taken.add(col)
    if labels and run_ids:
        lab = wh.labels(run_ids)
        for key, grp in lab.groupby("key", sort=True):
            col = key if key not in taken else f"label.{key}"
            out[col] = out["run_id"].map(dict(zip(grp["run_id"], grp["value"], strict=True)))
            taken.add(col)
    lead = ["run_id", "run_name", "task", *extra_groups, "step"]
    rest = [c for c in out.columns if c not in lead]
    out = out[lead + rest].reset_index(drop=True)
    return out


def _split_regex_tasks(wide: pd.DataFrame, spec: TaskSpec, metric_cols: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """Attach non-task metrics (task '') to each task row at the same (run, x); split the task key."""
    assert spec.regex is not None
    groups = list(spec.regex.groupindex)
    task_rows = wide[wide["task"] != ""]
    shared = wide[wide["task"] == ""]
    shared_cols = [c for c in metric_cols if c != spec.column and shared[c].notna().any()] if len(shared) else []
    task_part = task_rows[["run_id", "task", "x", spec.column]] if spec.column in task_rows else task_rows[["run_id", "task", "x"]]
    if shared_cols:
        task_part = task_part.merge(shared[["run_id", "x", *shared_cols]], on=["run_id", "x"], how="left")
    parts = task_part["task"].str.split(KEY_SEP)
    extra = [g for g in groups if g != "task"]
    for i, g in enumerate(groups):
        values = parts.map(lambda p, i=i: p[i].split("=", 1)[1] if len(p) > i else "")
        if g == "task":
            task_part = task_part.assign(task=values)
        else:
            task_part[g] = values
    return task_part.sort_values(["run_id", *extra, "task", "x"], kind="stable"), extra
