"""The sample project shipped in ``samples/`` is complete, unmodified and readable."""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from runlab.samples import EVAL_SUITE, read_manifest, shipped_samples_dir, verify_samples
from runlab.sources.wandb_offline import find_run_dirs, read_run

MAX_BYTES = 30 * 1024 * 1024


@pytest.fixture(scope="module")
def manifest() -> dict:
    return read_manifest(shipped_samples_dir())


def test_shipped_files_match_the_manifest(manifest: dict) -> None:
    assert verify_samples(shipped_samples_dir()) == []
    assert manifest["total_bytes"] <= MAX_BYTES
    assert manifest["command"].startswith("runlab samples generate")
    assert manifest["machine"]["description"] and manifest["libraries"]["wandb"] != "not installed"


def test_shipped_sets_have_the_promised_sizes(manifest: dict) -> None:
    sets = manifest["sets"]
    bench = sets["benchmark"]
    assert set(bench["config"]["algorithms"]) == {"ppo", "a2c", "dqn"} and len(bench["config"]["seeds"]) >= 5
    assert bench["offline_runs"] == 3 * len(bench["config"]["seeds"])
    cur = sets["curriculum"]
    assert cur["offline_runs"] == 2 * len(cur["config"]["seeds"]) and len(cur["config"]["seeds"]) >= 3
    assert sets["curves"]["curve_runs"] >= 300 and sets["curves"]["offline_runs"] >= 1
    assert all(s["profile"] == "full" for s in sets.values())
    assert len(manifest["seeds"]["benchmark"]["seeds"]) >= 5 and "seed" in manifest["seeds"]["curves"]


def test_shipped_runs_read_back() -> None:
    root = shipped_samples_dir()
    dirs = find_run_dirs([root / "benchmark"])
    assert len(dirs) >= 15
    rec = read_run(dirs[0])
    metrics = set(rec.history.column("metric").to_pylist())
    assert {f"eval_cartpole/{v.name}" for v in EVAL_SUITE} <= metrics
    assert rec.state == "finished" and rec.config["trainer"]["total_timesteps"] > 0


def test_shipped_curves_cover_varied_configs() -> None:
    root = shipped_samples_dir() / "curves"
    runs = pq.read_table(root / "runs.parquet").to_pandas()
    configs = [json.loads(c) for c in runs.config]
    for path in (("env", "physics", "gravity"), ("env", "physics", "length"), ("env", "game", "max_steps"),
                 ("trainer", "optimizer", "learning_rate"), ("trainer", "gamma"), ("trainer", "hidden_size")):
        values = set()
        for c in configs:
            for key in path:
                c = c[key]
            values.add(c)
        assert len(values) > 1, path
    curves = pq.read_table(root / "curves.parquet", columns=["run_id"]).num_rows
    assert curves >= 300 * 10


def test_finding_the_samples_needs_no_training_libraries() -> None:
    code = (
        "import sys\n"
        "import runlab.samples as s\n"
        "s.shipped_samples_dir(); s.verify_samples(s.shipped_samples_dir())\n"
        "assert not {'torch', 'gymnasium', 'stable_baselines3'} & set(sys.modules), sorted(sys.modules)\n"
        "assert all(hasattr(s, n) for n in s.__all__)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
