"""The generator end to end on the tiny profile: real wandb offline runs that runlab reads and ingests."""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from runlab.cli.app import app
from runlab.errors import InputError
from runlab.samples import (
    CURRICULUM_TASKS,
    EVAL_SUITE,
    GenerateConfig,
    generate_samples,
    read_manifest,
    verify_samples,
)
from runlab.sources.wandb_offline import find_run_dirs, read_run

CFG = GenerateConfig.tiny()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("samples") / "project"
    generate_samples(out, config=CFG, workers=1, command="pytest tiny")
    return out


@pytest.fixture(scope="module")
def records(project: Path) -> dict:
    return {r.run_id.rsplit("/", 1)[-1]: r for r in map(read_run, find_run_dirs([project]))}


def test_manifest_matches_and_counts_runs(project: Path) -> None:
    assert verify_samples(project) == []
    m = read_manifest(project)
    assert m["command"] == "pytest tiny" and m["generator_version"]
    assert {"wandb", "torch", "gymnasium", "stable-baselines3"} <= set(m["libraries"])
    assert m["machine"]["cpu_count"] >= 1
    assert m["seeds"]["curves"] == {"seed": CFG.curves.seed}
    assert m["seeds"]["benchmark"] == {"seeds": list(CFG.benchmark.seeds)}
    assert m["sets"]["benchmark"]["offline_runs"] == 3 * len(CFG.benchmark.seeds)
    assert m["sets"]["curriculum"]["offline_runs"] == 2 * len(CFG.curriculum.seeds)
    assert m["sets"]["curves"]["offline_runs"] == CFG.curves.num_offline_runs
    assert m["sets"]["curves"]["curve_runs"] == CFG.curves.num_runs
    assert "README.md" in m["files"] and "curriculum/wandb/" in (project / "README.md").read_text()
    assert m["total_bytes"] == sum(f["size"] for f in m["files"].values())
    assert not list(project.glob(".*")), "staging directories must not remain"


def test_every_run_reads_back_with_metta_metrics_and_nested_config(records: dict) -> None:
    assert len(records) == 3 + 2 + 1
    for run_id, rec in records.items():
        assert rec.state == "finished", run_id
        assert rec.config["trainer"]["optimizer"]["learning_rate"] > 0
        assert rec.config["env"]["game"]["max_steps"] > 0 and "seed" in rec.config
        metrics = set(rec.history.column("metric").to_pylist())
        assert {"metric/agent_step", "metric/epoch", "metric/total_time", "overview/reward", "overview/sps",
                "env_agent/episode_return", "env_agent/episode_return.std_dev"} <= metrics, run_id
        assert {f"eval_cartpole/{v.name}" for v in EVAL_SUITE} <= metrics, run_id
        assert any(m.startswith("losses/") for m in metrics), run_id
        assert [p for p in rec.problems if "staged" not in p] == [], run_id
    ppo = records["bench-ppo-s0"]
    assert ppo.group == "benchmark.ppo" and {"benchmark", "ppo"} <= set(ppo.tags)
    assert ppo.config["trainer"]["clip_coef"] == 0.2


def _series(rec, metric: str) -> np.ndarray:
    h = rec.history.to_pandas()
    return h.loc[h.metric == metric].sort_values("step")["value"].to_numpy()


def test_curriculum_runs_log_ordered_per_task_streams_and_probabilities(records: dict, project: Path) -> None:
    rec = records["curr-lp-s0"]
    total = 0
    for task in CURRICULUM_TASKS:
        idx = _series(rec, f"env_task_reward/{task.name}/sample_index")
        rewards = _series(rec, f"env_task_reward/{task.name}")
        assert idx.tolist() == list(range(len(idx)))
        assert len(rewards) == len(idx) and (rewards >= 1).all() and (rewards <= task.physics.max_steps).all()
        total += len(idx)
    assert total > 10
    probs = np.stack([_series(rec, f"curriculum/task_prob/{t.name}") for t in CURRICULUM_TASKS])
    np.testing.assert_allclose(probs.sum(axis=0), 1.0, rtol=1e-6)
    assert len(_series(rec, "env/gravity")) == probs.shape[1]
    art = rec.artifacts[0]
    assert art.type == "environment_configs" and art.metadata["curriculum"] == "learning_progress"
    assert sum(art.metadata["task_counts"].values()) == total
    (hist_file,) = project.glob("curriculum/wandb/*curr-lp-s0/files/artifacts/*/env_config_history.json")
    hist = json.loads(hist_file.read_text())
    used = {t["config"] for entry in hist["history"] for t in entry["tasks"].values()}
    # Run-length encoded: every recorded epoch is counted by exactly one span.
    assert used <= set(hist["snapshots"]) and sum(item["count"] for item in hist["history"]) == probs.shape[1]


def test_curves_parquet_holds_every_curve_with_its_config(project: Path) -> None:
    curves = pq.read_table(project / "curves" / "curves.parquet").to_pandas()
    runs = pq.read_table(project / "curves" / "runs.parquet").to_pandas()
    assert len(runs) == CFG.curves.num_runs and set(curves.run_id) == set(runs.run_id)
    for _, g in curves.groupby("run_id"):
        assert np.all(np.diff(g.agent_step.to_numpy()) > 0)
    cfg = json.loads(runs.config.iloc[0])
    assert {"learning_rate"} <= set(cfg["trainer"]["optimizer"]) and "gravity" in cfg["env"]["physics"]
    assert len({json.loads(c)["env"]["physics"]["gravity"] for c in runs.config}) == len(runs)


def test_regenerating_one_set_is_deterministic_and_keeps_the_others(project: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(project, copy)
    before = read_manifest(copy)
    generate_samples(copy, config=CFG, sets=("curves",), workers=2, command="again")
    after = read_manifest(copy)
    assert verify_samples(copy) == []
    assert after["sets"]["benchmark"] == before["sets"]["benchmark"]
    bench = {k: v for k, v in before["files"].items() if k.startswith("benchmark/")}
    assert bench == {k: v for k, v in after["files"].items() if k.startswith("benchmark/")}
    # same seeds, two worker processes instead of one: the same curves
    assert after["files"]["curves/curves.parquet"]["sha256"] == before["files"]["curves/curves.parquet"]["sha256"]


def test_verify_reports_tampering(project: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(project, copy)
    run_file = next(copy.glob("benchmark/wandb/*/run-*.wandb"))
    data = bytearray(run_file.read_bytes())
    data[100] ^= 0xFF
    run_file.write_bytes(bytes(data))
    (copy / "curves" / "runs.parquet").unlink()
    (copy / "stray.txt").write_text("x")
    problems = "\n".join(verify_samples(copy))
    assert "sha256 differs" in problems and "missing file curves/runs.parquet" in problems
    assert "file not in manifest: stray.txt" in problems


def test_ingest_through_the_cli(project: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--home", str(tmp_path / "home"), "ingest", str(project)])
    assert result.exit_code == 0, result.output
    sets = read_manifest(project)["sets"]
    expected = sum(int(info.get("offline_runs", 0)) + int(info.get("tensorboard_runs", 0)) for info in sets.values())
    assert expected == 8  # 6 W&B offline runs of the tiny project + 2 TensorBoard runs
    assert f"ingested {expected} run(s)" in result.output


def test_cli_verify_and_bad_inputs(project: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["samples", "verify", str(project)])
    assert ok.exit_code == 0 and "matches" in ok.output
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "thesis.tex").write_text("precious")
    res = runner.invoke(app, ["samples", "generate", "--quick", "--out", str(tmp_path / "busy")])
    assert res.exit_code == 1 and "refusing" in res.output
    assert (tmp_path / "busy" / "thesis.tex").read_text() == "precious"
    with pytest.raises(InputError, match="sets must be among"):
        generate_samples(tmp_path / "x", config=CFG, sets=("nope",))
    with pytest.raises(InputError, match="workers must be >= 1"):
        generate_samples(tmp_path / "x", config=CFG, workers=0)


def test_cli_generates_one_set_quick(tmp_path: Path) -> None:
    out = tmp_path / "odd name's dir"
    res = CliRunner().invoke(app, ["samples", "generate", "--quick", "--set", "curves", "--out", str(out)])
    assert res.exit_code == 0, res.output
    m = read_manifest(out)
    want = ["runlab", "samples", "generate", "--quick", "--out", str(out), "--workers", "1", "--set", "curves"]
    assert m["command"] == shlex.join(want)
    assert set(m["sets"]) == {"curves"} and m["sets"]["curves"]["profile"] == "quick"
    assert verify_samples(out) == []
