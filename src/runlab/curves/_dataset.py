"""Training curves on one fixed grid, with each run's nested config.

Curves come from files in the ``samples/curves/`` layout or from the warehouse; either way each run's
points are cleaned (non-finite values dropped and counted), and the run is resampled by linear
interpolation onto a grid of ``curve_length`` points that every kept run covers, so nothing is
extrapolated. A run that is too short, starts too late or has too few points is named with its
reason in the :class:`DatasetReport`: no run disappears without a line saying why.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from runlab.configpath import config_value
from runlab.errors import InputError, NotFoundError

if TYPE_CHECKING:
    import pandas as pd

    from runlab.warehouse import Warehouse

#: How far below the reference end a run may stop and still count as complete.
END_TOLERANCE = 0.05
#: Runs whose first finite point lies beyond this share of the grid end are "starting late".
START_LIMIT = 0.1


@dataclass
class DatasetReport:
    """What happened to every run offered to a :class:`CurveDataset`."""

    offered: int = 0
    """Runs offered (with a config)."""
    skipped: dict[str, str] = field(default_factory=dict)
    """``run_id -> reason`` for every run left out."""
    nonfinite_points: dict[str, int] = field(default_factory=dict)
    """``run_id -> count`` of NaN/inf points dropped before resampling (kept runs and skipped)."""
    grid_start: float = float("nan")
    grid_end: float = float("nan")

    @property
    def kept(self) -> int:
        """Runs in the dataset."""
        return self.offered - len(self.skipped)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, for ``evaluation.json`` and model directories."""
        return {"offered": self.offered, "kept": self.kept, "skipped": dict(self.skipped),
                "nonfinite_points": dict(self.nonfinite_points),
                "grid_start": self.grid_start, "grid_end": self.grid_end}

    def __str__(self) -> str:
        lines = [f"{self.kept} of {self.offered} run(s) kept; grid {self.grid_start:g} .. {self.grid_end:g}"]
        if self.nonfinite_points:
            total = sum(self.nonfinite_points.values())
            lines.append(f"{total} non-finite point(s) dropped in {len(self.nonfinite_points)} run(s)")
        for rid, why in sorted(self.skipped.items()):
            lines.append(f"skipped {rid}: {why}")
        return "\n".join(lines)


@dataclass(frozen=True)
class CurveDataset:
    """``curves[i]`` is run ``run_ids[i]`` (config ``configs[i]``) resampled onto ``grid``.

    ``curves`` has shape ``(num_runs, curve_length)``; ``grid`` is the absolute x-axis (or the
    fraction of each run's own length when built with ``relative=True``).
    """

    run_ids: tuple[str, ...]
    configs: tuple[dict[str, Any], ...]
    grid: np.ndarray
    curves: np.ndarray
    report: DatasetReport
    x_axis: str = "agent_step"
    metric: str = "reward"

    def __len__(self) -> int:
        return len(self.run_ids)

    def subset(self, index: Sequence[int] | np.ndarray) -> CurveDataset:
        """The runs at ``index`` (same grid and report)."""
        idx = np.asarray(index, dtype=int)
        return CurveDataset(tuple(self.run_ids[i] for i in idx), tuple(self.configs[i] for i in idx),
                            self.grid, self.curves[idx], self.report, self.x_axis, self.metric)

    def config_values(self, path: str) -> list[Any]:
        """The value at dotted ``path`` in every run's config (``None`` where missing)."""
        return [config_value(c, path) for c in self.configs]

    @classmethod
    def from_files(cls, folder: Path | str, *, curve_length: int = 100, step_column: str = "agent_step",
                   value_column: str = "reward", **options: Any) -> CurveDataset:
        """Read ``curves.parquet`` (``run_id``, step, value) and ``runs.parquet`` (``run_id``, ``config``
        as JSON) from ``folder``. ``options`` go to :meth:`from_long` (``max_step``, ``min_points``,
        ``relative``)."""
        import pandas as pd

        root = Path(folder)
        paths = {name: root / f"{name}.parquet" for name in ("curves", "runs")}
        for name, p in paths.items():
            if not p.is_file():
                raise NotFoundError(f"no {name}.parquet in {root}",
                                    hint="--data expects a folder shaped like samples/curves/ "
                                    "(curves.parquet: run_id, agent_step, reward; runs.parquet: run_id, config)")
        curves = pd.read_parquet(paths["curves"])
        runs = pd.read_parquet(paths["runs"])
        for col, frame, name in ((step_column, curves, "curves"), (value_column, curves, "curves"),
                                 ("run_id", curves, "curves"), ("run_id", runs, "runs"), ("config", runs, "runs")):
            if col not in frame.columns:
                raise InputError(f"{paths[name]} has no column {col!r}",
                                 hint=f"its columns: {', '.join(map(str, frame.columns))}")
        configs = {str(r): parse_config(c, str(r)) for r, c in zip(runs["run_id"], runs["config"], strict=True)}
        long = curves.rename(columns={step_column: "x", value_column: "value"})[["run_id", "x", "value"]]
        return cls.from_long(configs, long, curve_length=curve_length, x_axis=step_column,
                             metric=value_column, **options)

    @classmethod
    def from_warehouse(cls, wh: Warehouse, runs: Sequence[str] | None = None, *, metric: str = "overview/reward",
                       x_axis: str = "metric/agent_step", curve_length: int = 100, **options: Any) -> CurveDataset:
        """The selected runs' ``metric`` against ``x_axis`` (``_step`` or an x-axis metric), through
        the warehouse's public history query."""
        ids = wh.resolve_runs(runs)
        if not ids:
            raise NotFoundError(f"no warehouse run matches {list(runs or [])!r}",
                                hint="list runs with `runlab runs`, or ingest some first")
        known = set(wh.metric_names(ids)["metric"])
        if metric not in known:
            import difflib

            near = difflib.get_close_matches(metric, sorted(known), n=3)
            raise NotFoundError(f"no selected run logged metric {metric!r}",
                                hint=f"did you mean: {', '.join(near)}" if near else "pass --metric")
        info = wh.runs(ids)
        configs = {str(r): dict(c or {}) for r, c in zip(info["run_id"], info["config"], strict=True)}
        hist = wh.history(ids, [metric], x_axis=x_axis)
        long = hist.assign(x=hist["step"] if x_axis == "_step" else hist["x"])[["run_id", "x", "value"]]
        return cls.from_long(configs, long, curve_length=curve_length, x_axis=x_axis, metric=metric, **options)

    @classmethod
    def from_long(cls, configs: Mapping[str, dict[str, Any]], long: pd.DataFrame, *, curve_length: int = 100,
                  max_step: float | None = None, min_points: int = 5, relative: bool = False,
                  x_axis: str = "agent_step", metric: str = "reward") -> CurveDataset:
        """Build from ``configs`` (``run_id -> nested config``) and long points ``run_id, x, value``.

        The grid ends at ``max_step`` (default: the median last x; runs more than 5% short of it are
        skipped as too short, and the grid ends where the shortest kept run ends) and starts at the
        latest first point among kept runs. ``relative`` rescales each run's x to ``[0, 1]`` of its
        own length first (for pooling runs of different budgets).
        """
        if curve_length < 4:
            raise InputError(f"curve_length must be at least 4, got {curve_length}")
        report = DatasetReport(offered=len(configs))
        points = _clean_points(configs, long, min_points, relative, report)
        grid = _choose_grid(points, curve_length, max_step, report)
        kept = [rid for rid in configs if rid in points and rid not in report.skipped]
        if not kept:
            raise InputError("no run has a usable curve", hint=str(report))
        curves = np.stack([np.interp(grid, *points[rid]) for rid in kept])
        return cls(tuple(kept), tuple(configs[r] for r in kept), grid, curves, report,
                   "fraction" if relative else x_axis, metric)


def parse_config(raw: Any, run_id: str) -> dict[str, Any]:
    """A run's config from a JSON string or a mapping; anything else names the run."""
    if isinstance(raw, Mapping):
        return dict(raw)
    if isinstance(raw, str | bytes):
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InputError(f"run {run_id!r}: config is not valid JSON ({exc.msg} at {exc.pos})") from None
        if isinstance(value, dict):
            return value
    raise InputError(f"run {run_id!r}: config must be a JSON object, got {type(raw).__name__}")


def _clean_points(configs: Mapping[str, Any], long: pd.DataFrame, min_points: int, relative: bool,
                  report: DatasetReport) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per run: sorted unique finite ``(x, value)``; skips runs without a curve or with too few points."""
    points: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    groups = {str(k): g for k, g in long.groupby(long["run_id"].astype(str), sort=False)}
    for rid in configs:
        g = groups.get(rid)
        if g is None:
            report.skipped[rid] = "no curve points"
            continue
        x = g["x"].to_numpy(dtype=float)
        y = g["value"].to_numpy(dtype=float)
        ok = np.isfinite(x) & np.isfinite(y)
        if (~ok).sum():
            report.nonfinite_points[rid] = int((~ok).sum())
        x, y = x[ok], y[ok]
        ux, inv = np.unique(x, return_inverse=True)
        uy = np.bincount(inv, weights=y) / np.bincount(inv) if len(x) else y
        if len(ux) < max(min_points, 2):
            report.skipped[rid] = f"only {len(ux)} finite point(s), need {max(min_points, 2)}"
            continue
        if relative:
            if ux[-1] <= 0:
                report.skipped[rid] = "last x is not positive, cannot rescale to a fraction"
                continue
            ux = ux / ux[-1]
        points[rid] = (ux, uy)
    unknown = sorted(set(groups) - set(configs))
    for rid in unknown:
        report.skipped[rid] = "curve has no config (not in the runs table)"
    report.offered += len(unknown)
    return points


def _choose_grid(points: dict[str, tuple[np.ndarray, np.ndarray]], length: int, max_step: float | None,
                 report: DatasetReport) -> np.ndarray:
    """A grid every kept run covers; marks runs that end too early or start too late as skipped."""
    if not points:
        return np.linspace(0.0, 1.0, length)
    last = {r: p[0][-1] for r, p in points.items()}
    ref = float(max_step) if max_step is not None else float(np.median(list(last.values())))
    floor = ref if max_step is not None else ref * (1 - END_TOLERANCE)
    for rid, end in last.items():
        if end < floor:
            report.skipped[rid] = f"too short: ends at x={end:g}, the grid needs x >= {floor:g}"
    alive = [r for r in points if r not in report.skipped]
    end = ref if max_step is not None else min((last[r] for r in alive), default=ref)
    for rid in alive:
        first = points[rid][0][0]
        if first > START_LIMIT * end:
            report.skipped[rid] = f"starts late: first finite point at x={first:g} > {START_LIMIT:g} x grid end"
    alive = [r for r in alive if r not in report.skipped]
    start = max((points[r][0][0] for r in alive), default=0.0)
    report.grid_start, report.grid_end = float(start), float(end)
    return np.linspace(start, end, length)
