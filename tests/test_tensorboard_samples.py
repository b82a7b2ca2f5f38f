"""The sample project's tensorboard set: generated for real, recorded in the manifest, read by the source.

Scalars read by runlab are checked against TensorBoard's own EventAccumulator on the same files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from runlab.samples import read_manifest, shipped_samples_dir, verify_samples
from runlab.samples._set_tensorboard import ENV_IDS, EXP_NAME, TensorBoardSetConfig, generate_tensorboard_set
from runlab.samples._tasks import EVAL_SUITE
from runlab.sources import RunRecord
from runlab.sources.tensorboard import TensorBoardReader

pytest.importorskip("torch.utils.tensorboard")


def _accumulated(run_dir: Path) -> dict[str, tuple[list[int], list[float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    acc.Reload()
    return {tag: ([e.step for e in acc.Scalars(tag)], [e.value for e in acc.Scalars(tag)])
            for tag in acc.Tags()["scalars"]}


def _check_runs(root: Path, seeds: tuple[int, ...]) -> list[RunRecord]:
    records = [r for r in TensorBoardReader([root]).records() if isinstance(r, RunRecord)]
    assert len(records) == len(ENV_IDS) * len(seeds)
    assert sorted((r.config["env_id"], r.config["seed"]) for r in records) == sorted(
        (e, s) for e in ENV_IDS.values() for s in seeds)
    for rec in records:
        assert rec.config["exp_name"] == EXP_NAME and rec.name.startswith(f"{rec.config['env_id']}__{EXP_NAME}__")
        h = rec.history.to_pandas()
        reference = _accumulated(Path(rec.origin_path))
        assert set(reference) == set(h["metric"]) - {"_timestamp", "_runtime"}
        for tag, (steps, values) in reference.items():
            mine = h[h["metric"] == tag]
            assert mine["step"].tolist() == steps
            np.testing.assert_array_equal(mine["value"].to_numpy(), np.asarray(values, np.float64))
        final = h[h["step"] == h["step"].max()]
        assert {f"eval_cartpole/{v.name}" for v in EVAL_SUITE} <= set(final["metric"])
        assert {"charts/episodic_return", "losses/value_loss", "losses/policy_loss"} <= set(h["metric"])
    return records


def test_a_tiny_set_generates_verifies_and_reads_back(tmp_path: Path) -> None:
    cfg = TensorBoardSetConfig.tiny()
    manifest = generate_tensorboard_set(tmp_path, cfg, command="test")
    assert verify_samples(tmp_path) == []
    assert manifest["sets"]["tensorboard"]["tensorboard_runs"] == 2 and manifest["seeds"]["tensorboard"]["seeds"] == [1]
    _check_runs(tmp_path / "tensorboard", cfg.seeds)
    (next((tmp_path / "tensorboard" / "runs").iterdir()) / "extra.txt").write_text("tampered")
    assert any("not in manifest" in p for p in verify_samples(tmp_path))


def test_the_shipped_set_is_small_complete_and_recorded() -> None:
    root = shipped_samples_dir()
    manifest = read_manifest(root)
    info = manifest["sets"]["tensorboard"]
    assert info["profile"] == "full" and info["tensorboard_runs"] == 6
    files = {k: v for k, v in manifest["files"].items() if k.startswith("tensorboard/")}
    assert len(files) == 6 and sum(f["size"] for f in files.values()) < 2 * 1024 * 1024
    records = _check_runs(root / "tensorboard", tuple(info["config"]["seeds"]))
    assert all(r.history["step"].to_numpy().max() >= info["config"]["total_timesteps"] * 0.9 for r in records)


@pytest.mark.slow
def test_tensorboard_runs_compare_with_wandb_runs_in_one_report(tmp_path: Path) -> None:
    """The demo step: the TensorBoard set next to the W&B benchmark set, one comparison over the suite."""
    import pandas as pd

    from runlab.demo import EXAMPLES_DIR
    from runlab.labels import RunLabeler
    from runlab.reports import build_report, load_config
    from runlab.sources.local import LocalRuns
    from runlab.warehouse import Warehouse

    root = shipped_samples_dir()
    with Warehouse.open(tmp_path / "wh") as wh:
        report = wh.ingest(LocalRuns([root / "benchmark", root / "tensorboard"]).records(known=wh.sync_state))
        assert report.ok and len(report.added) == 15 + 6
        labeler = RunLabeler()
        labeler.add_config_rule("trainer.algorithm", label_column="method")
        labeler.add_config_rule("exp_name", label_column="method")
        labeler.apply(wh)
        cfg = load_config(EXAMPLES_DIR / "compare_benchmark.yaml", [
            "title=W&B-logged SB3 vs TensorBoard-logged CleanRL-style PPO", "analysis.bootstrap_samples=300",
            "runs=['runlab.benchmark.*', '*__cleanrl_ppo__*']", "normalize=optimal"])
        files = build_report(wh, cfg, tmp_path / "report", notebook=False)
    est = pd.read_parquet(files.data_dir / "estimates.parquet")
    assert set(est["method"]) == {"ppo", "a2c", "dqn", EXP_NAME}
    row = est[(est["method"] == EXP_NAME) & (est["aggregate"] == "IQM")].iloc[0]
    assert row["n_runs"] == 6 and row["n_tasks"] == len(EVAL_SUITE) and 0 < row["estimate"] <= 1
    assert row["lower"] <= row["estimate"] <= row["upper"]
