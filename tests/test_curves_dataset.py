"""CurveDataset: resampling against scipy, every left-out run reported, files and warehouse agree."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.interpolate import interp1d

from runlab.curves import CurveDataset, make_folds
from runlab.errors import InputError, NotFoundError

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "curves"


def _write(tmp: Path, runs: list[dict], rows: list[tuple[str, float, float]]) -> Path:
    pd.DataFrame([{"run_id": r["run_id"], "config": json.dumps(r["config"])} for r in runs]).to_parquet(
        tmp / "runs.parquet")
    pd.DataFrame(rows, columns=["run_id", "agent_step", "reward"]).to_parquet(tmp / "curves.parquet")
    return tmp


def _run(i: int) -> dict:
    return {"run_id": f"r{i}", "config": {"env": {"game": {"max_steps": 100 + i}}, "trainer": {"gamma": 0.9}}}


def test_resampled_curves_match_scipy_linear_interpolation(tmp_path):
    rng = np.random.default_rng(1)
    rows, truth = [], {}
    for i in range(4):
        x = np.sort(rng.choice(np.arange(10, 1000), 40, replace=False)).astype(float)
        x[0], x[-1] = 10.0 + i, 1000.0 + i  # different starts and ends per run
        y = rng.normal(size=40)
        truth[f"r{i}"] = (x, y)
        rows += [(f"r{i}", a, b) for a, b in zip(x, y, strict=True)]
    ds = CurveDataset.from_files(_write(tmp_path, [_run(i) for i in range(4)], rows), curve_length=25)
    assert ds.grid[0] == 13.0 and ds.grid[-1] == 1000.0  # latest start, earliest end: no extrapolation
    for rid, curve in zip(ds.run_ids, ds.curves, strict=True):
        ref = interp1d(*truth[rid], kind="linear")(ds.grid)
        np.testing.assert_allclose(curve, ref, rtol=1e-12, atol=1e-12)
    assert ds.report.kept == 4 and not ds.report.skipped


def test_short_sparse_nan_and_configless_runs_are_reported_not_dropped_silently(tmp_path):
    steps = np.arange(0, 1001, 50.0)
    rows = [(f"r{i}", s, float(s)) for i in range(3) for s in steps]
    rows += [("short", s, 1.0) for s in steps[steps <= 500]]          # ends at half the budget
    rows += [("sparse", 0.0, 1.0), ("sparse", 1000.0, 2.0)]          # two points
    rows += [("nan", s, float("nan") if s % 100 else 3.0) for s in steps]  # half NaN, still enough
    rows += [("late", s, 1.0) for s in steps[steps >= 600]]          # starts at 60%
    rows += [("orphan", s, 1.0) for s in steps]                       # no config
    runs = [_run(i) for i in range(3)] + [{"run_id": r, "config": {"env": {}}} for r in ("short", "sparse", "nan", "late")]
    ds = CurveDataset.from_files(_write(tmp_path, runs, rows), curve_length=10)
    rep = ds.report
    assert set(ds.run_ids) == {"r0", "r1", "r2", "nan"}
    assert set(rep.skipped) == {"short", "sparse", "late", "orphan"}
    assert "too short" in rep.skipped["short"] and "only 2" in rep.skipped["sparse"]
    assert "starts late" in rep.skipped["late"] and "no config" in rep.skipped["orphan"]
    assert rep.nonfinite_points["nan"] == 10 and rep.offered == len(ds) + len(rep.skipped)
    assert np.isfinite(ds.curves).all()
    assert "skipped short" in str(rep)


def test_no_usable_run_and_missing_files_are_clear_errors(tmp_path):
    with pytest.raises(NotFoundError, match=r"curves.parquet"):
        CurveDataset.from_files(tmp_path)
    _write(tmp_path, [_run(0)], [("r0", 0.0, float("nan"))])
    with pytest.raises(InputError, match="no run has a usable curve"):
        CurveDataset.from_files(tmp_path)
    pd.DataFrame({"run_id": ["r0"], "config": ["{not json"]}).to_parquet(tmp_path / "runs.parquet")
    with pytest.raises(InputError, match=r"r0.*not valid JSON"):
        CurveDataset.from_files(tmp_path)


def test_shipped_sample_curves_load_whole():
    ds = CurveDataset.from_files(SAMPLES)
    assert len(ds) == 320 and ds.curves.shape == (320, 100) and not ds.report.skipped
    raw = pd.read_parquet(SAMPLES / "curves.parquet")
    first = raw[raw.run_id == ds.run_ids[0]].sort_values("agent_step")
    assert ds.curves[0, -1] == pytest.approx(np.interp(ds.grid[-1], first.agent_step, first.reward))


def test_warehouse_curves_equal_the_parquet_curves(tmp_path):
    from typer.testing import CliRunner

    from runlab.cli.app import app
    from runlab.warehouse import Warehouse

    res = CliRunner().invoke(app, ["--home", str(tmp_path / "wh"), "ingest", str(SAMPLES / "wandb")])
    assert res.exit_code == 0, res.output
    with Warehouse.open(tmp_path / "wh", read_only=True) as wh:
        ds = CurveDataset.from_warehouse(wh, curve_length=50, max_step=99_000)
        with pytest.raises(NotFoundError, match=r"(?s)overview/rewrd.*did you mean"):
            CurveDataset.from_warehouse(wh, metric="overview/rewrd")
    files = CurveDataset.from_files(SAMPLES, curve_length=50, max_step=99_000)
    assert len(ds) == 6
    for rid, curve in zip(ds.run_ids, ds.curves, strict=True):
        short = rid.rsplit("/", 1)[-1]
        assert ds.configs[ds.run_ids.index(rid)]["trainer"]["algorithm"] == "ppo"
        # the two grids start where their own selections start: compare on the common points
        ref = files.curves[files.run_ids.index(short)]
        np.testing.assert_allclose(np.interp(files.grid, ds.grid, curve)[files.grid >= ds.grid[0]],
                                   ref[files.grid >= ds.grid[0]], rtol=1e-9)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(6, 40), folds=st.integers(2, 6), seed=st.integers(0, 10))
def test_random_folds_partition_the_runs(n, folds, seed):
    ds = CurveDataset((tuple(f"r{i}" for i in range(n))), tuple({} for _ in range(n)), np.arange(4.0),
                      np.zeros((n, 4)), None)  # type: ignore[arg-type]
    if n < folds:
        with pytest.raises(InputError, match="cannot be split"):
            make_folds(ds, "random", folds, seed)
        return
    fl = make_folds(ds, "random", folds, seed)
    tests = np.concatenate([f.test for f in fl])
    assert sorted(tests) == list(range(n))
    for f in fl:
        assert not set(f.train) & set(f.test) and len(f.train) + len(f.test) == n


def test_group_folds_hold_out_whole_groups_and_bin_numeric_values():
    ds = CurveDataset.from_files(SAMPLES)
    fl = make_folds(ds, "group:env.game.max_steps", 5)
    assert len(fl) == 3  # three horizons: leave-one-group-out
    values = np.asarray(ds.config_values("env.game.max_steps"))
    for f in fl:
        assert len(set(values[f.test])) == 1 and values[f.test][0] not in set(values[f.train])
    binned = make_folds(ds, "group:env.physics.gravity", 4)
    g = np.asarray(ds.config_values("env.physics.gravity"))
    spans = sorted((g[f.test].min(), g[f.test].max()) for f in binned)
    assert all(a[1] < b[0] for a, b in itertools.pairwise(spans))  # disjoint ranges
    with pytest.raises(InputError, match="one value"):
        make_folds(ds, "group:env.game.num_agents", 3)
    with pytest.raises(InputError, match="split must be"):
        make_folds(ds, "groups:x", 3)
