"""Every path through the tidy frame's SQL, run on the DuckDB the project installs.

A DuckDB parser change once broke a few of these paths only (``FROM (table)``), so each
combination of interpolation, grid, downsampling, task mapping and x-axis runs here, and the
values are checked against a plain numpy reference of the same definition.
"""

from __future__ import annotations

import itertools

import duckdb
import numpy as np
import pytest

from runlab.frames import Downsample, TaskSpec, tidy_frame
from runlab.frames._sql import rel

STEPS_A = list(range(0, 30))
STEPS_B = list(range(0, 41, 4))


@pytest.fixture
def runs(wh, make_record):
    a = {
        "eval_cartpole/light": [(s, float(np.sin(s / 3.0))) for s in STEPS_A],
        "eval_cartpole/heavy": [(s, float(s) / 7.0) for s in STEPS_A[::3]],
        "overview/reward": [(s, 0.5 * s) for s in STEPS_A],
        "metric/agent_step": [(s, 10.0 * s) for s in STEPS_A],
    }
    b = {
        "eval_cartpole/light": [(s, float(s % 5)) for s in STEPS_B],
        "eval_cartpole/heavy": [(s, -float(s)) for s in STEPS_B],
        "overview/reward": [(s, 2.0 * s) for s in STEPS_B],
        "metric/agent_step": [(s, 10.0 * s) for s in STEPS_B],
    }
    wh.upsert_run(make_record("w:e/p/a", a, name="a", config={"sim": {"task": "nav"}}))
    wh.upsert_run(make_record("w:e/p/b", b, name="b", config={"sim": {"task": "mem"}}))
    return wh, {"w:e/p/a": a, "w:e/p/b": b}


def test_rel_keeps_table_names_bare_and_wraps_queries() -> None:
    assert rel("_runlab_base_1a2b") == "_runlab_base_1a2b"
    assert rel(" SELECT 1 AS x ") == "(SELECT 1 AS x)"
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT 1 AS x")
    # The exact shapes the builders compose: a bare table and a subquery as FROM items.
    assert con.execute(f"SELECT count(*) FROM {rel('t')}").fetchall() == [(1,)]
    assert con.execute(f"SELECT count(*) FROM {rel('SELECT * FROM t')}").fetchall() == [(1,)]


def _reference(points: list[tuple[float, float]], xs: np.ndarray, how: str, run_end: float) -> np.ndarray:
    """Values of one logged curve at ``xs``: as logged, linear between its logged values, or
    carried forward up to the run's last x (``run_end``, over all its metrics); never before the
    curve's first value."""
    px = np.array([p[0] for p in points], dtype=float)
    py = np.array([p[1] for p in points], dtype=float)
    out = np.full(len(xs), np.nan)
    for i, x in enumerate(xs):
        hit = np.nonzero(px == x)[0]
        if len(hit):
            out[i] = py[hit[-1]]
        elif how == "linear" and px[0] < x < px[-1]:
            out[i] = np.interp(x, px, py)
        elif how == "ffill" and px[0] < x <= run_end:
            out[i] = py[px <= x][-1]
    return out


INTERPOLATIONS = ("none", "linear", "ffill")
GRIDS = (None, 7, (0.0, 5.0, 13.0, 29.0, 40.0))
SAMPLING = (None, "every_nth:3", "log:5", "lttb:6")
TASKS = (None, "sim.task", r"eval_(?P<suite>[^/]+)/(?P<task>.+)")
AXES = ("_step", "metric/agent_step")
CASES = [
    c for c in itertools.product(INTERPOLATIONS, GRIDS, SAMPLING, TASKS, AXES) if c[1] is None or c[2] is None
]


@pytest.mark.parametrize(("interpolation", "grid", "downsample", "task", "x_axis"), CASES)
def test_every_frames_path_matches_the_reference(runs, interpolation, grid, downsample, task, x_axis) -> None:
    wh, series = runs
    metrics = ["eval_cartpole/*"] if task and "(?P<task>" in task else ["overview/reward", "eval_cartpole/light"]
    frame = tidy_frame(wh, metrics=metrics, x_axis=x_axis, task=task, interpolation=interpolation,
                       grid=list(grid) if isinstance(grid, tuple) else grid, downsample=downsample)
    assert len(frame) > 0
    scale = 10.0 if x_axis == "metric/agent_step" else 1.0
    spec = TaskSpec.parse(task) if task else None
    for rid, curves in series.items():
        part = frame[frame["run_id"] == rid]
        assert len(part) > 0, rid
        if spec is not None and spec.config_path is not None:
            assert set(part["task"]) == {"nav" if rid.endswith("a") else "mem"}
        for metric, points in curves.items():
            if metric == "metric/agent_step":
                continue
            if spec is not None and spec.regex is not None:
                name = spec.task_name(metric)
                if name is None:
                    continue
                rows = part[(part["suite"] + "/" + part["task"]) == name]
                column = spec.column
            else:
                if metric not in frame.columns:
                    continue
                rows, column = part, metric
            xs = rows["step"].to_numpy(dtype=float)
            assert np.all(np.diff(xs) > 0), (rid, metric, "x must be increasing and unique per curve")
            run_end = scale * max(s for pts in curves.values() for s, _ in pts)
            expected = _reference([(s * scale, v) for s, v in points], xs, interpolation, run_end)
            got = rows[column].to_numpy(dtype=float)
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12, equal_nan=True,
                                       err_msg=f"{rid} {metric} {interpolation} {grid} {downsample} {x_axis}")
    if downsample is not None:
        ds = Downsample.parse(downsample)
        assert ds is not None
        for rid, curves in series.items():
            n_logged = len(curves["overview/reward"])
            kept = frame[frame["run_id"] == rid]["step"].nunique()
            assert kept < n_logged or n_logged <= ds.n + 1
    if grid is not None and interpolation != "none":
        assert frame["step"].nunique() <= (grid if isinstance(grid, int) else len(grid))
