"""Loading reward streams: the real sample curriculum runs in a warehouse, CSV/Parquet, pulled folders,
hostile task names, and what the reader keeps from the logged metrics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from runlab.errors import InputError, NotFoundError
from runlab.rewards import load_streams, pull_streams, safe_part, safe_parts
from runlab.samples import shipped_samples_dir
from runlab.warehouse import Warehouse

HOSTILE = ["../../x", "<script>alert('t')</script>", "=cmd|' /C calc'!A0", "a/b\\c:d*e?\"f\"", "$x$ & y", ".", "..",
           "CON", "Task", "task"]


@pytest.fixture(scope="module")
def curriculum_wh(tmp_path_factory) -> Path:
    return ingest_curriculum(tmp_path_factory.mktemp("rewards_wh"))


def ingest_curriculum(home: Path) -> Path:
    """The shipped curriculum runs in a fresh warehouse, through `runlab ingest`."""
    from typer.testing import CliRunner

    from runlab.cli.app import app

    out = CliRunner().invoke(app, ["--home", str(home), "ingest", str(shipped_samples_dir() / "curriculum")])
    assert out.exit_code == 0, out.output
    return home


def test_warehouse_streams_follow_the_logged_sample_index(curriculum_wh):
    with Warehouse.open(curriculum_wh, read_only=True) as wh:
        s = load_streams(wh, group_by="trainer.curriculum.algorithm")
        hist = wh.history(wh.resolve_runs(["runlab.curriculum.lp.s1"]), ["env_task_reward/*"])
        names = wh.runs().set_index("name")
    assert set(s.data["group"]) == {"uniform", "learning_progress"}
    assert set(s.data["seed"]) == {"0", "1", "2"}
    tasks = set(s.data["task"])
    assert "cartpole/weak push & 200 steps" in tasks and "cartpole/long pole 'L=2m'" in tasks  # intact names
    run = names.loc["runlab.curriculum.lp.s1", "run_id"]
    task = "cartpole/jupiter+strong*push"
    mine = s.data[(s.data["run_id"] == run) & (s.data["task"] == task)]
    logged = hist[hist["metric"] == f"env_task_reward/{task}"].sort_values("step")["value"].to_numpy()
    idx = hist[hist["metric"] == f"env_task_reward/{task}/sample_index"].sort_values("step")["value"].to_numpy()
    assert np.array_equal(idx, np.arange(len(idx)))  # the trainer logs 0, 1, 2, ...
    assert np.array_equal(mine["reward"].to_numpy(), logged)
    assert list(mine["sample_index"]) == list(range(len(logged)))
    assert mine["episode"].is_monotonic_increasing and mine["agent_step"].notna().all()
    assert mine["sps"].iloc[-1] > 0  # SPS from overview/sps, as of the episode's step
    meta = s.metadata[("learning_progress", task, "1")]
    assert meta["run_id"] == run and meta["env_config"]["name"] == "cartpole/curriculum" and meta["created_at"]
    with Warehouse.open(curriculum_wh, read_only=True) as wh, pytest.raises(InputError, match="group_by"):
        load_streams(wh)  # uniform and lp runs share seeds


def test_missing_metric_and_seed_are_named(curriculum_wh):
    with Warehouse.open(curriculum_wh, read_only=True) as wh:
        with pytest.raises(NotFoundError, match="no_such"):
            load_streams(wh, metric="no_such/<task>")
        with pytest.raises(InputError, match=r"nope\.seed"):
            load_streams(wh, seed_path="nope.seed", group_by="trainer.curriculum.algorithm")
        with pytest.raises(InputError, match="<task>"):
            load_streams(wh, metric="env_task_reward/x")


def test_pull_round_trip_with_hostile_names(tmp_path):
    rows = pd.DataFrame({"task": np.repeat(HOSTILE, 5), "seed": np.tile(["0", "../s"], 25)[:50],
                         "sample_index": np.tile(np.arange(5), 10), "reward": np.arange(50.0)})
    s = load_streams(_csv(rows, tmp_path / "in.csv"))
    out = tmp_path / "pulled"
    meta = json.loads(pull_streams(s, out).read_text())
    files = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert all(out in p.parents or p == tmp_path / "in.csv" for p in files)
    assert all((out / "streams") in p.parents for p in files if p.suffix == ".parquet")
    assert sorted({e["task"] for e in meta["streams"]}) == sorted(HOSTILE)
    back = load_streams(out)
    pd.testing.assert_frame_equal(back.data, s.data)
    parts = safe_parts(HOSTILE)
    assert len({p.lower() for p in parts.values()}) == len(HOSTILE)  # unique, even case-insensitively
    assert all(p == safe_part(n) and "/" not in p and not p.startswith(".") for n, p in parts.items())


def test_metadata_pointing_outside_is_refused(tmp_path):
    rows = pd.DataFrame({"task": "a", "seed": 0, "sample_index": range(3), "reward": 1.0})
    out = tmp_path / "p"
    meta_file = pull_streams(load_streams(_csv(rows, tmp_path / "a.csv")), out)
    doc = json.loads(meta_file.read_text())
    doc["streams"][0]["path"] = "../a.csv"
    meta_file.write_text(json.dumps(doc))
    with pytest.raises(InputError, match="outside"):
        load_streams(out)


def test_csv_and_parquet_agree_and_order_comes_from_sample_index(tmp_path):
    rng = np.random.default_rng(0)
    rows = pd.DataFrame({"task": rng.choice(["a", "b"], 60), "seed": rng.choice([1, 2], 60),
                         "sample_index": rng.permutation(60) + 100, "reward": rng.normal(size=60),
                         "episode": np.arange(60)})
    a = load_streams(_csv(rows.sample(frac=1, random_state=2), tmp_path / "r.csv"))
    rows.to_parquet(tmp_path / "r.parquet")
    b = load_streams(tmp_path / "r.parquet")
    pd.testing.assert_frame_equal(a.data, b.data)
    for (task, seed), g in a.data.groupby(["task", "seed"]):
        src = rows[(rows["task"] == task) & (rows["seed"].astype(str) == seed)].sort_values("sample_index")
        assert list(g["reward"]) == list(src["reward"]) and list(g["sample_index"]) == list(range(len(src)))
    ep = a.episodes(seed="1")
    assert list(ep["episode"]) == list(range(len(ep))) and set(ep["task"]) <= {"a", "b"}
    with pytest.raises(InputError, match="seeds"):
        a.episodes()
    with pytest.raises(NotFoundError):
        load_streams(tmp_path / "missing.csv")


def _csv(rows: pd.DataFrame, path: Path) -> Path:
    rows.to_csv(path, index=False)
    return path


def test_without_logged_sample_index_history_order_is_used_and_nonfinite_is_reported(tmp_path):
    from conftest import record

    rewards = [(10, 1.0), (20, float("nan")), (30, 3.0), (40, 4.0)]
    other = [(15, 5.0), (25, 6.0)]
    sps = [(0, 100.0), (22, 200.0)]
    with Warehouse.open(tmp_path / "wh") as wh:
        wh.upsert_run(record("r1", {"env_task_reward/a b": rewards, "env_task_reward/<c>": other,
                                    "overview/sps": sps}, name="run one", config={"run": {"seed": 4}}))
        s = load_streams(wh, seed_path="run.seed")
    a = s.data[s.data["task"] == "a b"]
    assert list(a["reward"]) == [1.0, 3.0, 4.0] and list(a["sample_index"]) == [0, 1, 2]
    assert list(a["sps"]) == [100.0, 200.0, 200.0] and set(s.data["seed"]) == {"4"}
    assert list(s.data.sort_values("episode")["reward"]) == [1.0, 5.0, 6.0, 3.0, 4.0]  # completion order
    assert [(p.kind, p.task, p.count) for p in s.problems] == [("nonfinite", "a b", 1)]
