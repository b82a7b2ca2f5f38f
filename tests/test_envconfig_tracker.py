"""ConfigTracker on a vectorised loop with a known schedule: metrics, history, uploads, rank 0, bad input."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from runlab.envconfig import ConfigTracker, hash_config, load_history
from runlab.errors import InputError, NotFoundError
from wandb_server import WandbTestServer
from wandb_server.fixtures import wandb_server_fixture  # noqa: F401  (fixture: wandb_server)

TESTS = Path(__file__).parent
NUM_ENVS = 64
STEP = 4096
EPOCHS = 120


def cfg(max_steps: int, agents: int, freeze: int, heart: float) -> dict:
    return {"game": {"max_steps": max_steps, "num_agents": agents,
                     "agent": {"freeze_duration": freeze, "default_resource_limit": 50,
                               "rewards": {"heart": heart, "ore": heart / 10}}}}


TASKS = {"nav/easy": cfg(1000, 4, 10, 1.0), "nav/medium": cfg(2000, 8, 5, 0.5), "nav/hard <b>": cfg(3000, 12, 0, 0.25)}
#: From epoch 60 the hard task gets a longer horizon (a curriculum that edits a task's config).
HARD_LATE = cfg(4000, 12, 0, 0.25)
#: (first epoch, {task: env count}, {task: probability}); the set of configs changes at 30, 32 and 60.
PHASES = [
    (0, {"nav/easy": 48, "nav/medium": 16}, {"nav/easy": 0.75, "nav/medium": 0.25, "nav/hard <b>": 0.0}),
    (30, {"nav/easy": 16, "nav/medium": 32, "nav/hard <b>": 16}, {"nav/easy": 0.25, "nav/medium": 0.5,
                                                                    "nav/hard <b>": 0.25}),
    (32, {"nav/medium": 32, "nav/hard <b>": 32}, {"nav/easy": 0.0, "nav/medium": 0.5, "nav/hard <b>": 0.5}),
    (60, {"nav/medium": 16, "nav/hard <b>": 48}, {"nav/easy": 0.0, "nav/medium": 0.25, "nav/hard <b>": 0.75}),
]


def phase(epoch: int) -> tuple[list[tuple[str, dict]], dict[str, float]]:
    """The envs in play (one pair per env, interleaved like a vectorised env) and the probabilities."""
    _, counts, probs = [p for p in PHASES if p[0] <= epoch][-1]
    names = [t for t, n in counts.items() for _ in range(n)]
    order = np.random.default_rng(epoch).permutation(len(names))
    assert len(names) == NUM_ENVS
    configs = {**TASKS, "nav/hard <b>": HARD_LATE} if epoch >= 60 else TASKS
    return [(names[i], configs[names[i]]) for i in order], probs


@dataclass
class ListLogger:
    rows: list[tuple[int, dict]] = field(default_factory=list)

    def log(self, data: dict, step: int | None = None) -> None:
        self.rows.append((step, dict(data)))


def run_schedule(tracker: ConfigTracker, epochs: int = EPOCHS) -> None:
    for e in range(epochs):
        envs, probs = phase(e)
        tracker.record(epoch=e, agent_step=e * STEP, envs=envs, task_probabilities=probs)


def test_known_schedule_gives_the_metrics_and_answers_at_chosen_epochs() -> None:
    logger = ListLogger()
    tracker = ConfigTracker(logger=logger, rank=0)
    run_schedule(tracker)
    hist = tracker.history
    assert len(hist.spans) == len(PHASES) and hist.epochs_recorded == EPOCHS
    for epoch in (0, 29, 30, 31, 32, 59, 60, 119):
        envs, probs = phase(epoch)
        state = hist.at_epoch(epoch)
        counts = Counter(t for t, _ in envs)
        assert {t.task: t.num_envs for t in state.tasks} == dict(counts)
        assert {t.task: t.probability for t in state.tasks} == {t: probs[t] for t in counts}
        assert state.agent_step == epoch * STEP
        assert all(state.configs[t.config] == dict(envs)[t.task] for t in state.tasks)
        step, row = logger.rows[epoch]
        assert step == epoch * STEP
        # independent reference: the plain mean over the 64 envs' configs
        assert math.isclose(row["env/max_steps"], np.mean([c["game"]["max_steps"] for _, c in envs]))
        assert math.isclose(row["env/num_agents"], np.mean([c["game"]["num_agents"] for _, c in envs]))
        assert math.isclose(row["env/freeze_duration"], np.mean([c["game"]["agent"]["freeze_duration"] for _, c in envs]))
        assert math.isclose(row["env/reward_heart"], np.mean([c["game"]["agent"]["rewards"]["heart"] for _, c in envs]))
        assert row["env/default_resource_limit"] == 50.0
        assert row["curriculum/num_tasks_in_play"] == len(counts) == row["curriculum/num_unique_configs"]
        assert {k.removeprefix("curriculum/task_prob/"): v for k, v in row.items() if "task_prob" in k} == probs
    assert hist.at_epoch(-1) is None
    assert [c.epoch for c in hist.changes()] == [0, 30, 32, 60]
    assert [t.task for t in hist.changes()[2].removed] == ["nav/easy"]
    ref = Counter(t for e in range(EPOCHS) for t in {name for name, _ in phase(e)[0]})
    assert hist.task_frequencies() == dict(ref)
    assert set(hist.unique_configs()) == {hash_config(c)[0] for c in [*TASKS.values(), HARD_LATE]}


def test_history_size_grows_with_changes_not_epochs() -> None:
    sizes = {}
    for epochs in (1_000, 20_000):
        tracker = ConfigTracker(rank=0)
        envs = [("a", {"x": 1}), ("b", {"x": 2})] * 4
        for e in range(epochs):
            if e == epochs // 2:
                envs = [("a", {"x": 1}), ("c", {"x": 3})] * 4
            tracker.record(epoch=e, agent_step=e * 10, envs=envs, task_probabilities={"a": 0.5, "b": 0.5, "c": 0.5})
        data = json.dumps(tracker.to_json())
        assert len(tracker.history.spans) == 2 and len(tracker.history.snapshots) == 3
        sizes[epochs] = len(data)
    assert sizes[20_000] - sizes[1_000] < 100  # only the digits of the epoch numbers grow
    assert sizes[20_000] < 2_500


def test_config_types_hash_alike_and_numpy_scalars_are_plain() -> None:
    @dataclass
    class Game:
        max_steps: int
        gravity: float

    plain = {"game": {"max_steps": 500, "gravity": 9.8}}
    forms = [plain, OmegaConf.create(plain), {"game": Game(500, 9.8)},
             {"game": {"max_steps": np.int64(500), "gravity": np.float64(9.8)}}, {"game": {"gravity": 9.8, "max_steps": 500}}]
    assert len({hash_config(f)[0] for f in forms}) == 1
    tracker = ConfigTracker(rank=0, key_params={"max_steps": "max_steps"})
    m = tracker.record(epoch=0, agent_step=0, envs=[("t", f) for f in forms])
    assert m["env/max_steps"] == 500.0 and len(tracker.history.snapshots) == 1
    assert m["curriculum/num_unique_configs"] == 1.0


@pytest.mark.parametrize(("config", "key"), [
    ({"game": {"tags": {"a", "b"}}}, "game.tags"),
    ({"game": {"agent": {"policy": object()}}}, "game.agent.policy"),
    ({"maps": [{"size": 3}, {"fn": len}]}, "maps.1.fn"),
])
def test_configs_that_json_cannot_store_name_the_key_and_task(config: dict, key: str) -> None:
    tracker = ConfigTracker(rank=0)
    with pytest.raises(InputError, match=rf"task 'nav/x'.*{key.replace('.', '[.]')}"):
        tracker.record(epoch=0, agent_step=0, envs=[("nav/x", config)])
    assert tracker.history.spans == []  # nothing half-recorded


def test_nan_probabilities_are_stored_as_null_and_reported_once() -> None:
    logger = ListLogger()
    tracker = ConfigTracker(logger=logger, rank=0)
    for e in range(3):
        tracker.record(epoch=e, agent_step=e, envs=[("a", {"x": 1}), ("b", {"x": 2})],
                       task_probabilities={"a": float("nan"), "b": np.float32(0.5), "c": -1})
    state = tracker.history.at_epoch(1)
    assert {t.task: t.probability for t in state.tasks} == {"a": None, "b": 0.5}
    assert len(tracker.history.spans) == 1
    problems = tracker.history.meta["problems"]
    assert len(problems) == 2 and "'a'" in problems[0] and "'c'" in problems[1]
    assert "curriculum/task_prob/a" not in logger.rows[0][1] and logger.rows[0][1]["curriculum/task_prob/b"] == 0.5


def test_epochs_going_backwards_continue_the_history() -> None:
    tracker = ConfigTracker(rank=0)
    run_schedule(tracker, 80)
    before = [(s.epoch, s.last_epoch, s.tasks) for s in tracker.history.spans]
    # resumed from the epoch-50 checkpoint, with a different curriculum state from then on
    for e in range(50, 90):
        tracker.record(epoch=e, agent_step=e * STEP, envs=[("nav/easy", TASKS["nav/easy"])] * NUM_ENVS)
    hist = tracker.history
    assert [(s.epoch, s.last_epoch, s.tasks) for s in hist.spans[: len(before)]] == before
    assert hist.spans[-1].segment == 1 and hist.spans[-1].epoch == 50
    assert {t.task for t in hist.at_epoch(70).tasks} == {"nav/easy"}  # the resumed segment wins
    assert {t.task for t in hist.at_epoch(40).tasks} == {"nav/medium", "nav/hard <b>"}
    assert hist.at_epoch(85).agent_step == 85 * STEP
    again = load_history(json.loads(json.dumps(tracker.to_json())))
    assert [(s.epoch, s.last_epoch, s.segment, s.tasks) for s in again.spans] == [
        (s.epoch, s.last_epoch, s.segment, s.tasks) for s in hist.spans]


def test_other_ranks_are_no_ops(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RANK", "3")
    logger = ListLogger()
    tracker = ConfigTracker(logger=logger)
    assert tracker.rank == 3 and not tracker.active
    run_schedule(tracker, 5)
    assert tracker.save(tmp_path / "h.json") is None and not (tmp_path / "h.json").exists()
    assert logger.rows == [] and tracker.history.spans == []
    monkeypatch.setenv("RANK", "0")
    zero = ConfigTracker()
    run_schedule(zero, 5)
    assert zero.save(tmp_path / "h.json") == tmp_path / "h.json"
    assert load_history(tmp_path / "h.json").epochs_recorded == 5
    monkeypatch.setenv("RANK", "two")
    with pytest.raises(InputError, match="RANK must be an integer"):
        ConfigTracker()


DIST_SCRIPT = """
import os, sys, torch.distributed as dist
from runlab.envconfig import ConfigTracker
rank = int(sys.argv[1])
os.environ["RANK"] = "0"  # torch.distributed's rank must win over a stale RANK variable
dist.init_process_group("gloo", init_method="tcp://127.0.0.1:" + sys.argv[3], rank=rank, world_size=2)
t = ConfigTracker()
t.record(epoch=0, agent_step=0, envs=[("a", {"x": 1})])
t.save(os.path.join(sys.argv[2], f"rank{rank}.json"))
dist.barrier()
dist.destroy_process_group()
"""


@pytest.mark.slow
def test_only_rank_zero_writes_under_torch_distributed(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    env = {**os.environ, "GLOO_SOCKET_IFNAME": "lo"}
    procs = [subprocess.Popen([sys.executable, "-c", DIST_SCRIPT, str(r), str(tmp_path), port], env=env,
                              stderr=subprocess.PIPE, text=True) for r in (0, 1)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rank0.json"]


WANDB_SCRIPT = """
import json, os, sys
sys.path.insert(0, sys.argv[2])
import wandb
from test_envconfig_tracker import EPOCHS, STEP, phase
from runlab.envconfig import ConfigTracker

run = wandb.init(mode="offline", dir=sys.argv[1], project="envcfg", entity="runlab-test", id="trk1",
                 settings=wandb.Settings(console="off", x_disable_stats=True, silent=True, disable_git=True))
tracker = ConfigTracker(run, debounce_epochs=5, save_interval=40, curriculum="phased")
for e in range(EPOCHS):
    envs, probs = phase(e)
    tracker.record(epoch=e, agent_step=e * STEP, envs=envs, task_probabilities=probs)
    run.log({"metric/epoch": e, "metric/agent_step": e * STEP, "overview/reward": float(e % 7)}, step=e * STEP)
tracker.finish()
print(json.dumps({"dir": os.path.dirname(run.dir), "uploads": tracker.uploads}))
run.finish()
"""


@pytest.fixture(scope="module")
def wandb_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """A run the real wandb client wrote offline while the tracker recorded the schedule."""
    out = tmp_path_factory.mktemp("tracker_wandb")
    env = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_DIR": str(out),
           "WANDB_DATA_DIR": str(out / "data"), "WANDB_CACHE_DIR": str(out / "cache"),
           "WANDB_CONFIG_DIR": str(out / "config")}
    env.pop("WANDB_API_KEY", None)
    proc = subprocess.run([sys.executable, "-c", WANDB_SCRIPT, str(out), str(TESTS)], capture_output=True,
                          text=True, env=env, timeout=300, check=True)
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    return Path(info["dir"]), info["uploads"]


def test_real_wandb_offline_run_gets_metrics_and_debounced_artifacts(wandb_run: tuple[Path, int]) -> None:
    from runlab.sources.wandb_offline import read_run

    run_dir, uploads = wandb_run
    rec = read_run(run_dir)
    arts = [a for a in rec.artifacts if a.type == "environment_configs"]
    # epoch 0; the change at 30; the change at 32 waits out the 5-epoch debounce (35); 60; the
    # 40-epoch fallback (100); finish (119)
    assert [a.metadata["last_epoch"] for a in arts] == [0, 30, 35, 60, 100, 119] and uploads == 6
    assert all(a.name == "env_configs-trk1" and a.metadata["curriculum"] == "phased" for a in arts)
    assert arts[-1].metadata["task_counts"] == {"nav/medium": 120, "nav/hard <b>": 90, "nav/easy": 32}
    h = rec.history.to_pandas()
    got = h[h.metric == "env/max_steps"].set_index("step")["value"]
    want = {e * STEP: np.mean([c["game"]["max_steps"] for _, c in phase(e)[0]]) for e in range(EPOCHS)}
    assert len(got) == EPOCHS and all(math.isclose(got[s], v) for s, v in want.items())
    reward = h[h.metric == "overview/reward"].set_index("step")["value"]
    assert set(reward.index) == set(got.index)  # the tracker's metrics joined the trainer's rows
    hist = load_history(run_dir)
    assert hist.epochs_recorded == EPOCHS and [c.epoch for c in hist.changes()] == [0, 30, 32, 60]


def test_history_loads_through_the_wandb_api(wandb_run: tuple[Path, int], wandb_server: WandbTestServer) -> None:
    from runlab.sources.wandb_offline import read_run
    from wandb_server import stored_run_from_record

    run_dir, _ = wandb_run
    rec = read_run(run_dir)
    run = wandb_server.add_run("envcfg", stored_run_from_record(rec))
    hist = load_history(f"{wandb_server.entity}/envcfg/{run.id}")
    assert hist.epochs_recorded == EPOCHS and hist.meta["curriculum"] == "phased"
    assert [c.epoch for c in hist.changes()] == [0, 30, 32, 60]
    with pytest.raises(NotFoundError, match="cannot read W&B run"):
        load_history(f"{wandb_server.entity}/envcfg/nosuchrun")


def test_fallback_interval_comes_from_the_trainer_config(tmp_path: Path) -> None:
    assert ConfigTracker.from_trainer_config({"env_config_save_interval": 7}, rank=0).save_interval == 7
    assert ConfigTracker.from_trainer_config(OmegaConf.create({"trainer": {}}), rank=0).save_interval == 10_000
    with pytest.raises(InputError, match="save_interval must be >= 1"):
        ConfigTracker(save_interval=0)
