"""The stable-baselines3 source on logs written by stable-baselines3 itself.

The shared suite's runs are written with SB3's own logger (``configure(folder, ["csv"])``); one
real PPO training on CartPole (a few seconds) writes ``progress.csv``, ``monitor.csv`` files and
``evaluations.npz`` as users get them, in the RL Zoo's layout with its ``OrderedDict`` config.yml.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from runlab.sources import RunFailure, RunRecord, RunSource
from runlab.sources.sb3 import SB3Reader, find_sb3_runs
from runlab.testing.sources import SourceSuite, SuiteRun
from runlab.warehouse import Warehouse

sb3 = pytest.importorskip("stable_baselines3")


def write_suite_run(run: SuiteRun, root: Path) -> None:
    """One suite run through SB3's logger; config as the zoo dumps it; broken: a cut evaluations.npz."""
    from stable_baselines3.common.logger import configure

    folder = root / run.key
    folder.mkdir(parents=True)
    if run.broken:
        (folder / "evaluations.npz").write_bytes(b"PK\x03\x04 cut while saving")
        return
    (folder / "config.yml").write_text(yaml.dump(OrderedDict(run.config)), encoding="utf-8")
    (folder / "runlab.json").write_text(json.dumps({"name": run.name, "tags": list(run.tags)}), encoding="utf-8")
    logger = configure(str(folder), ["csv"])
    for row in run.rows():
        step = row.pop("_step")
        logger.record("time/total_timesteps", step)
        for metric, value in row.items():
            logger.record(metric, value)
        logger.dump(step)
    logger.close()


class TestSB3Reader(SourceSuite):
    finished_state = None  # SB3 logs record no run state
    extra_metrics = frozenset()

    @pytest.fixture
    def make_source(self, tmp_path_factory: pytest.TempPathFactory) -> Callable[[Sequence[SuiteRun]], RunSource]:
        written: dict[tuple[str, ...], Path] = {}

        def make(runs: Sequence[SuiteRun]) -> RunSource:
            keys = tuple(r.key for r in runs)
            if keys not in written:
                root = tmp_path_factory.mktemp("sb3-suite")
                for run in runs:
                    write_suite_run(run, root)
                written[keys] = root
            return SB3Reader([written[keys]])

        return make


@pytest.fixture(scope="module")
def zoo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real PPO training on CartPole-v1 laid out as the RL Zoo writes ``logs/ppo/CartPole-v1_1``."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import EvalCallback
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.logger import configure

    folder = tmp_path_factory.mktemp("logs") / "ppo" / "CartPole-v1_1"
    (folder / "CartPole-v1").mkdir(parents=True)
    hyperparams = OrderedDict(sorted({"n_envs": 2, "n_steps": 64, "batch_size": 64, "n_timesteps": 1024.0,
                                      "policy": "MlpPolicy", "gamma": 0.98}.items()))
    (folder / "CartPole-v1" / "config.yml").write_text(yaml.dump(hyperparams), encoding="utf-8")
    (folder / "CartPole-v1" / "args.yml").write_text(yaml.dump(OrderedDict(algo="ppo", env="CartPole-v1", seed=1)),
                                                     encoding="utf-8")
    env = make_vec_env("CartPole-v1", n_envs=2, seed=1, monitor_dir=str(folder))
    model = PPO("MlpPolicy", env, n_steps=64, batch_size=64, n_epochs=1, gamma=0.98, seed=1, device="cpu")
    model.set_logger(configure(str(folder), ["csv"]))
    evaluate = EvalCallback(make_vec_env("CartPole-v1", n_envs=1, seed=2), n_eval_episodes=3, eval_freq=128,
                            log_path=str(folder), verbose=0)
    model.learn(1024, callback=evaluate)
    return folder


def _metric(record: RunRecord, metric: str) -> tuple[np.ndarray, np.ndarray]:
    h = record.history.to_pandas()
    h = h[h["metric"] == metric]
    return h["step"].to_numpy(), h["value"].to_numpy()


def test_a_real_zoo_run_reads_progress_monitor_and_evaluations(zoo_run: Path) -> None:
    (rec,) = list(SB3Reader([zoo_run.parent.parent]).records())
    assert isinstance(rec, RunRecord), rec
    assert (rec.name, rec.project, rec.source) == ("CartPole-v1_1", "ppo", "sb3")
    assert rec.config["n_envs"] == 2 and rec.config["gamma"] == 0.98 and rec.config["policy"] == "MlpPolicy"
    assert rec.config["env"] == "CartPole-v1" and rec.config["seed"] == 1
    progress = pd.read_csv(zoo_run / "progress.csv")  # the independent reference: pandas on SB3's file
    rows = progress.dropna(subset=["rollout/ep_rew_mean"])
    steps, values = _metric(rec, "rollout/ep_rew_mean")
    assert steps.tolist() == rows["time/total_timesteps"].astype(int).tolist()
    np.testing.assert_allclose(values, rows["rollout/ep_rew_mean"].to_numpy())
    npz = np.load(zoo_run / "evaluations.npz")
    steps, values = _metric(rec, "eval/mean_reward")
    assert steps.tolist() == npz["timesteps"].tolist()
    np.testing.assert_allclose(values, npz["results"].mean(axis=1))
    monitors = pd.concat([pd.read_csv(p, skiprows=1) for p in sorted(zoo_run.glob("*.monitor.csv"))])
    steps, values = _metric(rec, "monitor/episode_reward")
    assert len(values) == len(monitors) and sorted(values.tolist()) == sorted(monitors["r"].tolist())
    assert np.all(np.diff(steps) > 0) and steps[-1] == monitors["l"].sum() <= 1024 + 2 * 64
    assert rec.created_at is not None


def test_the_zoo_config_is_read_without_an_unsafe_loader(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    pd.DataFrame({"time/total_timesteps": [1, 2], "train/loss": [0.5, 0.25]}).to_csv(folder / "progress.csv",
                                                                                     index=False)
    (folder / "config.yml").write_text("!!python/object/apply:os.system ['echo pwned > pwned.txt']\n")
    (rec,) = list(SB3Reader([folder]).records())
    assert isinstance(rec, RunRecord) and rec.config == {}
    assert any("config.yml could not be read" in p for p in rec.problems)
    assert not (folder / "pwned.txt").exists() and not Path("pwned.txt").exists()


def test_empty_cells_are_missing_and_nan_text_is_nan(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "progress.csv").write_text("time/total_timesteps,a,b,c\n10,1.5,,x\n20,nan,inf,2\n30,,-inf,3\n")
    (rec,) = list(SB3Reader([folder]).records())
    assert isinstance(rec, RunRecord)
    assert _metric(rec, "a")[0].tolist() == [10, 20] and np.isnan(_metric(rec, "a")[1][1])
    assert _metric(rec, "b")[1].tolist() == [np.inf, -np.inf]
    assert _metric(rec, "c")[0].tolist() == [20, 30]
    assert any("1 non-numeric" in p for p in rec.problems)


def test_a_folder_of_other_files_is_a_clear_error_and_a_bad_file_one_failure(tmp_path: Path) -> None:
    from runlab.errors import NotFoundError

    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(NotFoundError, match="no stable-baselines3 logs"):
        SB3Reader([tmp_path]).records()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "progress.csv").write_text("a,b\n1,2\n")
    (item,) = list(SB3Reader([tmp_path]).records())
    assert isinstance(item, RunFailure) and "time/total_timesteps" in item.error
    assert find_sb3_runs([bad / "progress.csv"]) == [bad.resolve()]


def test_reingesting_a_real_run_changes_nothing(zoo_run: Path, tmp_path: Path) -> None:
    with Warehouse.open(tmp_path / "wh") as wh:
        first = wh.ingest(SB3Reader([zoo_run]).records(known=wh.sync_state))
        assert first.ok and len(first.added) == 1
        again = wh.ingest(SB3Reader([zoo_run]).records(known=wh.sync_state))
        assert again.unchanged == first.added and not again.updated
