"""The TensorBoard source on event files written by ``torch.utils.tensorboard.SummaryWriter``.

The shared source suite runs on runs written by the real writer (scalars, a ``config.yaml`` next
to them, a ``runlab.json`` naming the run); the other tests cover the conventions users bring:
CleanRL's hyperparameters text and folder names, ``add_hparams``, resumed runs with two event
files, a file cut mid-record, and re-ingesting.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest
import yaml

from runlab.sources import RunFailure, RunRecord, RunSource
from runlab.sources.tensorboard import TensorBoardReader, find_tensorboard_runs
from runlab.testing.sources import SourceSuite, SuiteRun
from runlab.warehouse import Warehouse

SummaryWriter = pytest.importorskip("torch.utils.tensorboard").SummaryWriter


def write_suite_run(run: SuiteRun, root: Path) -> Path:
    """One suite run as a SummaryWriter log folder (a broken run: an event file of garbage)."""
    folder = root / run.key
    folder.mkdir(parents=True)
    if run.broken:
        (folder / "events.out.tfevents.1700000000.host.1.0").write_bytes(b"\x00garbage, not a record" * 40)
        return folder
    (folder / "config.yaml").write_text(yaml.safe_dump(dict(run.config)), encoding="utf-8")
    (folder / "runlab.json").write_text(json.dumps({"name": run.name, "tags": list(run.tags)}), encoding="utf-8")
    writer = SummaryWriter(str(folder))
    for row in run.rows():
        step = row.pop("_step")
        for metric, value in row.items():
            writer.add_scalar(metric, value, step, new_style=True, double_precision=True)  # float64 tensors
    writer.close()
    return folder


class TestTensorBoardReader(SourceSuite):
    finished_state = None  # event files record no run state

    @pytest.fixture
    def make_source(self, tmp_path_factory: pytest.TempPathFactory) -> Callable[[Sequence[SuiteRun]], RunSource]:
        written: dict[tuple[str, ...], Path] = {}

        def make(runs: Sequence[SuiteRun]) -> RunSource:
            keys = tuple(r.key for r in runs)
            if keys not in written:
                root = tmp_path_factory.mktemp("tb-suite")
                for run in runs:
                    write_suite_run(run, root)
                written[keys] = root
            return TensorBoardReader([written[keys]])

        return make


def _read(paths: Sequence[Path]) -> list[RunRecord | RunFailure]:
    return [i for i in TensorBoardReader(paths).records() if isinstance(i, RunRecord | RunFailure)]


def _metric(record: RunRecord, metric: str) -> tuple[list[int], list[float]]:
    h = record.history.to_pandas()
    h = h[h["metric"] == metric]
    return h["step"].tolist(), h["value"].tolist()


def write_cleanrl_run(root: Path, env_id: str, seed: int, *, steps: int = 40) -> Path:
    """A run laid out as CleanRL's ppo.py writes it: folder name, hyperparameters text, charts/* and losses/*."""
    folder = root / f"{env_id}__ppo__{seed}__1700000000"
    writer = SummaryWriter(str(folder))
    args = {"exp_name": "ppo", "env_id": env_id, "seed": seed, "learning_rate": 0.00025, "anneal_lr": True,
            "num_envs": 4, "gamma": 0.99}
    writer.add_text("hyperparameters", "|param|value|\n|-|-|\n" + "\n".join(f"|{k}|{v}|" for k, v in args.items()))
    for i in range(steps):
        global_step = (i + 1) * 512
        writer.add_scalar("charts/episodic_return", 10.0 + i + seed, global_step)
        writer.add_scalar("losses/value_loss", 1.0 / (i + 1), global_step)
    writer.close()
    return folder


def test_cleanrl_runs_read_with_folder_names_and_text_hyperparameters(tmp_path: Path) -> None:
    for seed in (1, 2):
        write_cleanrl_run(tmp_path / "runs", "CartPole-v1", seed)
    records = {r.name: r for r in _read([tmp_path / "runs"]) if isinstance(r, RunRecord)}
    assert set(records) == {"CartPole-v1__ppo__1__1700000000", "CartPole-v1__ppo__2__1700000000"}
    rec = records["CartPole-v1__ppo__2__1700000000"]
    assert rec.config == {"exp_name": "ppo", "env_id": "CartPole-v1", "seed": 2, "learning_rate": 0.00025,
                          "anneal_lr": True, "num_envs": 4, "gamma": 0.99}
    steps, values = _metric(rec, "charts/episodic_return")
    assert steps == [(i + 1) * 512 for i in range(40)]
    assert values == [12.0 + i for i in range(40)]
    assert rec.summary["losses/value_loss"] == pytest.approx(1 / 40)
    ts_steps, stamps = _metric(rec, "_timestamp")
    assert ts_steps == steps and np.all(np.diff(stamps) >= 0)
    assert rec.created_at is not None and rec.updated_at is not None and rec.created_at <= rec.updated_at
    assert rec.project == "runs" and rec.run_id == f"tensorboard:{(tmp_path / 'runs' / rec.name).resolve()}"


def test_add_hparams_child_folder_is_the_parents_config(tmp_path: Path) -> None:
    folder = tmp_path / "exp"
    writer = SummaryWriter(str(folder))
    for step in range(3):
        writer.add_scalar("reward", float(step), step)
    writer.add_hparams({"trainer.optimizer.lr": 0.01, "trainer.algo": "ppo", "use_gae": True},
                       {"hparam/final_reward": 2.0})
    writer.close()
    assert len([p for p in folder.iterdir() if p.is_dir()]) == 1  # torch wrote its time.time() child
    (rec,) = _read([tmp_path])
    assert isinstance(rec, RunRecord) and rec.name == "exp"
    assert rec.config == {"trainer": {"optimizer": {"lr": 0.01}, "algo": "ppo"}, "use_gae": True}
    assert _metric(rec, "reward") == ([0, 1, 2], [0.0, 1.0, 2.0])
    assert _metric(rec, "hparam/final_reward") == ([0], [2.0])


def test_a_resumed_run_with_two_event_files_is_one_run(tmp_path: Path) -> None:
    folder = tmp_path / "resumed"
    for part in range(2):
        writer = SummaryWriter(str(folder), filename_suffix=f".part{part}")
        for step in range(part * 10, part * 10 + 10):
            writer.add_scalar("reward", step * 2.0, step)
        writer.close()
    assert len(list(folder.glob("events.out.tfevents.*"))) == 2
    (rec,) = _read([tmp_path])
    assert isinstance(rec, RunRecord)
    assert _metric(rec, "reward") == (list(range(20)), [s * 2.0 for s in range(20)])


def test_a_file_cut_mid_record_keeps_every_complete_record(tmp_path: Path) -> None:
    folder = tmp_path / "crashed"
    writer = SummaryWriter(str(folder))
    for step in range(200):
        writer.add_scalar("reward", float(step), step)
    writer.close()
    (event_file,) = folder.glob("events.out.tfevents.*")
    full = event_file.read_bytes()
    (rec_full,) = _read([tmp_path])
    assert isinstance(rec_full, RunRecord)
    record_len = len(full) // 201  # header record + 200 scalar records of near-equal size
    event_file.write_bytes(full[: len(full) - record_len // 2])  # half of the last record is lost
    (rec,) = _read([tmp_path])
    assert isinstance(rec, RunRecord)
    steps, values = _metric(rec, "reward")
    assert steps == list(range(199)) and values == [float(s) for s in range(199)]


def test_a_folder_without_event_files_is_a_clear_error(tmp_path: Path) -> None:
    from runlab.errors import NotFoundError

    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(NotFoundError, match="no TensorBoard event files"):
        TensorBoardReader([tmp_path]).records()


def test_excluded_folders_are_left_to_another_source(tmp_path: Path) -> None:
    a, b = write_cleanrl_run(tmp_path, "A-v0", 1, steps=3), write_cleanrl_run(tmp_path, "B-v0", 1, steps=3)
    batch = TensorBoardReader([tmp_path], exclude=[a]).records()
    assert len(batch) == 1
    assert [r.name for r in batch] == [b.name]
    assert set(find_tensorboard_runs([tmp_path])[tmp_path.resolve()]) == {a.resolve(), b.resolve()}


def test_reingesting_changes_nothing_and_a_new_step_updates(tmp_path: Path) -> None:
    folder = write_cleanrl_run(tmp_path / "runs", "CartPole-v1", 1, steps=5)
    with Warehouse.open(tmp_path / "wh") as wh:
        first = wh.ingest(TensorBoardReader([tmp_path / "runs"]).records(known=wh.sync_state))
        assert first.ok and len(first.added) == 1
        again = wh.ingest(TensorBoardReader([tmp_path / "runs"]).records(known=wh.sync_state))
        assert again.unchanged == first.added and not again.updated
        writer = SummaryWriter(str(folder), filename_suffix=".more")
        writer.add_scalar("charts/episodic_return", 99.0, 10_000)
        writer.close()
        later = wh.ingest(TensorBoardReader([tmp_path / "runs"]).records(known=wh.sync_state))
        assert later.count("updated") == 1
        hist = wh.history(first.added, ["charts/episodic_return"])
        assert hist["step"].max() == 10_000 and len(hist) == 6
        assert math.isclose(float(hist.sort_values("step")["value"].iloc[-1]), 99.0)


def test_runlab_ingest_reads_wandb_tensorboard_and_sb3_folders_side_by_side(tmp_path: Path) -> None:
    """One ``runlab ingest DIR`` on a project root holding wandb/, runs/ and an SB3 folder with an event file."""
    import shutil

    from stable_baselines3.common.logger import configure
    from typer.testing import CliRunner

    from runlab.cli.app import app

    project = tmp_path / "project"
    wandb_run = sorted((Path(__file__).resolve().parents[1] / "samples" / "benchmark" / "wandb").iterdir())[0]
    shutil.copytree(wandb_run, project / "wandb" / wandb_run.name)
    write_cleanrl_run(project / "runs", "CartPole-v1", 1, steps=4)
    logger = configure(str(project / "sb3" / "PPO_1"), ["csv", "tensorboard"])  # both files in one folder
    for step in (64, 128):
        logger.record("time/total_timesteps", step)
        logger.record("rollout/ep_rew_mean", step / 8)
        logger.dump(step)
    logger.close()
    (project / "notes").mkdir()
    res = CliRunner().invoke(app, ["--home", str(tmp_path / "home"), "ingest", str(project)])
    assert res.exit_code == 0, res.output
    assert "ingested 3 run(s): 3 added" in res.output
    with Warehouse.open(tmp_path / "home", read_only=True) as wh:
        runs = wh.runs()
        assert sorted(runs["source"]) == ["sb3", "tensorboard", "wandb-offline"]
    again = CliRunner().invoke(app, ["--home", str(tmp_path / "home"), "ingest", str(project)])
    assert again.exit_code == 0 and "0 added, 0 updated, 0 appended, 3 unchanged" in again.output
    empty = CliRunner().invoke(app, ["--home", str(tmp_path / "home2"), "ingest", str(project / "notes")])
    assert empty.exit_code == 1 and "TensorBoard event files" in empty.output and "SB3 logs" in empty.output
    assert not (tmp_path / "home2").exists()


def test_event_files_wandb_synced_into_its_run_folder_are_not_a_second_run(tmp_path: Path) -> None:
    import shutil

    from runlab.sources.local import LocalRuns

    wandb_run = sorted((Path(__file__).resolve().parents[1] / "samples" / "benchmark" / "wandb").iterdir())[0]
    copy = tmp_path / "wandb" / wandb_run.name
    shutil.copytree(wandb_run, copy)
    write_cleanrl_run(copy / "files", "CartPole-v1", 1, steps=2)  # what wandb.init(sync_tensorboard=True) keeps
    items = list(LocalRuns([tmp_path]).records())
    assert [type(i).__name__ for i in items] == ["RunRecord"] and items[0].source == "wandb-offline"
