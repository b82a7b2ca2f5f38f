"""Frames: tidy/wide shape, alignment, interpolation, downsampling, tasks, min_step, export."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runlab.errors import InputError, NotFoundError
from runlab.frames import (
    Downsample,
    TaskSpec,
    config_value,
    export_frame,
    export_history,
    export_runs,
    lttb_indices,
    tidy_frame,
    wide,
)
from runlab.sources import HISTORY_SCHEMA, RunRecord


@pytest.fixture
def two_runs(wh, make_record):
    a = {"overview/reward": [(s, float(s)) for s in range(0, 10)],
         "metric/agent_step": [(s, 100.0 * s) for s in range(0, 10)],
         "losses/pi": [(s, 1.0) for s in range(0, 10, 5)]}
    b = {"overview/reward": [(s, 2.0 * s) for s in range(0, 20, 4)]}
    wh.upsert_run(make_record("w:e/p/a", a, name="run A", config={"sim": {"task": "nav"}, "lr": 0.1}))
    wh.upsert_run(make_record("w:e/p/b", b, name="run B", config={"sim": {"task": "mem"}, "lr": 0.2}))
    wh.set_labels({"w:e/p/a": {"method": "ppo"}, "w:e/p/b": {"method": "sac"}})
    return wh


def test_tidy_columns_and_values(two_runs):
    f = tidy_frame(two_runs, metrics=["overview/reward", "losses/*"], config_params=["lr", "sim.task"])
    assert list(f.columns) == ["run_id", "run_name", "task", "step", "overview/reward", "losses/pi", "lr",
                               "sim.task", "method"]
    a = f[f.run_id == "w:e/p/a"]
    assert a["step"].tolist() == list(range(10)) and a["overview/reward"].tolist() == [float(s) for s in range(10)]
    assert a["losses/pi"].notna().sum() == 2 and set(a["method"]) == {"ppo"} and set(f["task"]) == {"all"}
    assert f[f.run_id == "w:e/p/b"]["lr"].unique().tolist() == [0.2]


def test_linear_interpolation_on_a_grid_never_extrapolates(two_runs):
    f = tidy_frame(two_runs, metrics=["overview/reward"], grid=[0, 2, 6, 9, 15], interpolation="linear")
    b = f[f.run_id == "w:e/p/b"].set_index("step")["overview/reward"]
    assert b.loc[2] == 4.0 and b.loc[6] == 12.0 and b.loc[9] == 18.0 and b.loc[15] == 30.0
    a = f[f.run_id == "w:e/p/a"].set_index("step")["overview/reward"]
    assert a.loc[9] == 9.0 and math.isnan(a.loc[15])  # run A ends at step 9
    rep = f.attrs["missing_report"]
    cells = rep.cells.set_index("run_id")
    assert cells.loc["w:e/p/a", "missing"] == 1 and cells.loc["w:e/p/b", "filled"] == 4


def test_ffill_stops_at_the_end_of_the_run_and_none_keeps_gaps(two_runs):
    f = tidy_frame(two_runs, runs=["run B"], metrics=["overview/reward"], grid=[0, 3, 5, 16, 17],
                   interpolation="ffill")
    got = f["overview/reward"].tolist()
    assert got[:4] == [0.0, 0.0, 8.0, 32.0] and math.isnan(got[4])
    f = tidy_frame(two_runs, runs=["run B"], metrics=["overview/reward"], grid=[0, 3, 4], interpolation="none")
    got = f["overview/reward"].tolist()
    assert got[0] == 0.0 and math.isnan(got[1]) and got[2] == 8.0
    assert f.attrs["missing_report"].total_missing == 1


def test_grid_by_count_spans_all_runs(two_runs):
    f = tidy_frame(two_runs, metrics=["overview/reward"], grid=5, interpolation="linear")
    assert sorted(f["step"].unique().tolist()) == [0, 4, 8, 12, 16]
    assert len(f) == 10


def test_align_on_agent_step(two_runs):
    f = tidy_frame(two_runs, runs=["run A"], metrics=["overview/reward"], x_axis="metric/agent_step")
    assert f["step"].tolist() == [100.0 * s for s in range(10)]
    assert f.attrs["x_axis"] == "metric/agent_step"


def test_downsampling_methods(wh, make_record):
    wh.upsert_run(make_record("w:e/p/a", {"r": [(s, math.sin(s / 50)) for s in range(1000)]}, name="a"))
    nth = tidy_frame(wh, metrics=["r"], downsample="every_nth:100")
    assert nth["step"].tolist() == [0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 999]
    log = tidy_frame(wh, metrics=["r"], downsample=Downsample("log", 20))
    steps = log["step"].to_numpy()
    assert steps[0] == 0 and steps[-1] == 999 and len(steps) <= 22
    assert np.diff(steps)[:5].max() < np.diff(steps)[-5:].min()  # dense early, sparse late
    lt = tidy_frame(wh, metrics=["r"], downsample="lttb:50")
    assert len(lt) == 50 and lt["step"].iloc[0] == 0 and lt["step"].iloc[-1] == 999
    with pytest.raises(InputError, match="either grid or downsample"):
        tidy_frame(wh, metrics=["r"], downsample="lttb:50", grid=10)
    with pytest.raises(InputError, match="lttb:500"):
        tidy_frame(wh, metrics=["r"], downsample="lttb")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=200), st.integers(3, 60))
def test_lttb_keeps_endpoints_and_size(ys, n):
    x = np.arange(len(ys), dtype=float)
    idx = lttb_indices(x, np.array(ys), n)
    assert idx[0] == 0 and idx[-1] == len(ys) - 1
    assert len(idx) == min(n, len(ys)) or len(ys) <= 2
    assert (np.diff(idx) > 0).all()


def test_min_step_drops_incomplete_runs(two_runs):
    f = tidy_frame(two_runs, metrics=["overview/reward"], min_step=12)
    assert f["run_id"].unique().tolist() == ["w:e/p/b"]
    assert "w:e/p/a" in f.attrs["missing_report"].dropped_runs


def test_task_from_config(two_runs):
    f = tidy_frame(two_runs, metrics=["overview/reward"], task=TaskSpec(config_path="sim.task"))
    assert f.groupby("run_id")["task"].first().to_dict() == {"w:e/p/a": "nav", "w:e/p/b": "mem"}
    assert tidy_frame(two_runs, metrics=["overview/reward"], task="config:nope.path")["task"].unique().tolist() == ["all"]


def test_task_from_metric_regex(wh, make_record):
    series = {"eval_nav/maze": [(0, 1.0), (10, 2.0)], "eval_nav/open": [(0, 3.0), (10, 4.0)],
              "eval_mem/maze": [(10, 5.0)], "overview/reward": [(0, 0.5), (10, 0.7)]}
    wh.upsert_run(make_record("w:e/p/a", series, name="a"))
    f = tidy_frame(wh, metrics=["eval_*", "overview/reward"], task="eval_(?P<suite>[^/]+)/(?P<task>.+)")
    assert list(f.columns[:7]) == ["run_id", "run_name", "task", "suite", "step", "score", "overview/reward"]
    got = {(r.suite, r.task, r.step): (r.score, r._7) for r in f.itertuples()}
    assert got == {("mem", "maze", 10): (5.0, 0.7), ("nav", "maze", 0): (1.0, 0.5), ("nav", "maze", 10): (2.0, 0.7),
                   ("nav", "open", 0): (3.0, 0.5), ("nav", "open", 10): (4.0, 0.7)}
    with pytest.raises(InputError, match="named group 'task'"):
        TaskSpec(metric_regex="eval_(.+)")


def test_unknown_metric_names_the_closest(two_runs):
    with pytest.raises(NotFoundError) as err:
        tidy_frame(two_runs, metrics=["overview/rewrd"])
    assert "overview/reward" in (err.value.hint or "")
    with pytest.raises(InputError, match="interpolation"):
        tidy_frame(two_runs, metrics=["overview/reward"], interpolation="cubic")


def test_missing_report_lists_absent_metrics_and_nonfinite(wh, make_record):
    wh.upsert_run(make_record("w:e/p/a", {"r": [(0, math.nan), (1, math.inf)], "q": [(0, 1.0)]}, name="a"))
    wh.upsert_run(make_record("w:e/p/b", {"r": [(0, 1.0)]}, name="b"))
    f = tidy_frame(wh, metrics=["r", "q"])
    rep = f.attrs["missing_report"]
    assert rep.absent == {"q": ["w:e/p/b"]} and rep.total_nonfinite == 2
    assert "never logged by 1 run" in str(rep)


def test_wide_pivot(two_runs):
    f = tidy_frame(two_runs, metrics=["overview/reward"])
    w = wide(f, "overview/reward", columns="run_name")
    assert list(w.columns) == ["run A", "run B"] and w.loc[8, "run B"] == 16.0 and math.isnan(w.loc[1, "run B"])
    with pytest.raises(InputError, match="needs columns"):
        wide(f, "nope")


HOSTILE = 'it\'s "q"\n<script>x</script>,🚀'


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_exports_round_trip_hostile_names(wh, make_record, tmp_path, suffix):
    wh.upsert_run(make_record("w:e/p/a", {"r": [(0, 1.0), (1, math.nan)]}, name=HOSTILE,
                              config={"trainer": {"lr": 0.1}, "tags": ["a"]}))
    wh.set_labels({"w:e/p/a": {"method": "ppo"}})
    read = pd.read_csv if suffix == ".csv" else pd.read_parquet
    n = export_history(wh, tmp_path / f"h{suffix}")
    h = read(tmp_path / f"h{suffix}")
    assert n == 2 and list(h.columns) == ["run_id", "run_name", "step", "metric", "value"]
    assert h["run_name"].tolist() == [HOSTILE, HOSTILE] and math.isnan(h["value"].iloc[1])
    export_runs(wh, tmp_path / f"r{suffix}")
    r = read(tmp_path / f"r{suffix}")
    assert r.loc[0, "name"] == HOSTILE and r.loc[0, "config.trainer.lr"] == 0.1 and r.loc[0, "label.method"] == "ppo"
    export_frame(tidy_frame(wh, metrics=["r"]), tmp_path / f"f{suffix}")
    assert read(tmp_path / f"f{suffix}")["run_name"].tolist() == [HOSTILE, HOSTILE]
    with pytest.raises(InputError, match=r"\.csv or \.parquet"):
        export_history(wh, tmp_path / "h.xlsx")


def test_config_value_paths():
    cfg = {"trainer": {"optimizer": {"lr": 1}}, "a.b": 2, "w": {"value": {"x": 3}}, "l": [{"k": 4}]}
    assert config_value(cfg, "trainer.optimizer.lr") == 1 and config_value(cfg, "a.b") == 2
    assert config_value(cfg, "w.x") == 3 and config_value(cfg, "l.0.k") == 4 and config_value(cfg, "no.pe") is None


def test_big_history_stays_out_of_pandas(tmp_path):
    """1M history rows, downsampled in DuckDB: Python-side allocations stay far below the data size."""
    from runlab.warehouse import Warehouse

    n_steps, n_metrics = 100_000, 10
    steps = np.repeat(np.arange(n_steps, dtype=np.int64), n_metrics)
    metrics = pa.DictionaryArray.from_arrays(
        pa.array(np.tile(np.arange(n_metrics, dtype=np.int32), n_steps)), pa.array([f"m/{i}" for i in range(n_metrics)])
    ).cast(pa.string())
    values = np.random.default_rng(0).normal(size=n_steps * n_metrics)
    hist = pa.table({"step": steps, "metric": metrics, "value": values}, schema=HISTORY_SCHEMA)
    with Warehouse.open(tmp_path / "h") as wh:
        wh.upsert_run(RunRecord(run_id="w:e/p/big", source="test", name="big", history=hist))
        del hist, steps, metrics, values
        tracemalloc.start()
        f = tidy_frame(wh, metrics=["m/*"], downsample="every_nth:1000")
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert len(f) == 101 and list(f.columns[4:]) == [f"m/{i}" for i in range(n_metrics)]
    # 1M rows as pandas long form would be > 50 MB; the result is ~100 rows.
    assert peak < 20 * 2**20, f"peak Python allocation {peak / 2**20:.1f} MiB"
