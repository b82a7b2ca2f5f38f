"""Overhead of ``runlab.envconfig.ConfigTracker`` against the sample project's batched-PPO training loop.

Workload (issue 12): one PPO agent on 64 vectorised CartPole envs (``runlab.samples`` ``BatchedPPO`` +
``BatchedCartPole`` + ``train_ppo``, 128 steps per env per epoch); a learning-progress curriculum
redraws each finished episode's task from the six curriculum tasks, so the tasks in play change every
epoch. The anchor is the training step (one rollout + PPO update); the tracker's cost is its
``record()`` call per epoch (64 envs, 6 task probabilities, metrics handed to a logger) plus the
artifact JSON it writes, at most once per ``debounce_epochs`` (measured on the final history and
charged every ``debounce_epochs`` epochs). Both are measured in the same run, inside the same loop.
Also: ``record()`` alone, 64 envs, when envs share their task's config object (the usual case) and
when every env has its own config object.

    .venv/bin/python benchmarks/bench_envconfig.py [--epochs 30] [--envs 64]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import copy
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from runlab.envconfig import ConfigTracker
from runlab.samples import (
    CURRICULUM_TASKS,
    BatchedCartPole,
    BatchedPPO,
    LearningProgressSampler,
    PPOHyper,
    PPOShape,
    train_ppo,
)

KEY_PARAMS = {"max_steps": "game.max_steps", "num_agents": "game.num_agents", "gravity": "physics.gravity",
              "pole_length": "physics.length", "masspole": "physics.masspole", "force_mag": "physics.force_mag"}


class _Sink:
    """A metrics logger that keeps the last row (what a trainer's logger costs is not the tracker's)."""

    def __init__(self) -> None:
        self.last: dict[str, float] = {}

    def log(self, data: dict[str, float], step: int | None = None) -> None:
        self.last = data


def training_loop(epochs: int, num_envs: int, track: bool) -> dict[str, float]:
    """Train for ``epochs``; returns total step time and (when tracking) total tracker time."""
    torch.set_num_threads(1)
    shape = PPOShape(num_envs=num_envs, n_steps=128)
    agent = BatchedPPO(shape, [PPOHyper(learning_rate=1e-3)], seed=0)
    env = BatchedCartPole([CURRICULUM_TASKS[0].physics] * num_envs, seed=0)
    sampler = LearningProgressSampler(len(CURRICULUM_TASKS))
    rng = np.random.default_rng(0)
    current = rng.integers(0, len(CURRICULUM_TASKS), num_envs)
    configs = [v.env_config() for v in CURRICULUM_TASKS]

    def on_reset(idx: np.ndarray, returns: np.ndarray, step: int) -> None:
        for i, ret in zip(idx, returns, strict=True):
            sampler.update(int(current[i]), ret / CURRICULUM_TASKS[current[i]].physics.max_steps)
            current[i] = rng.choice(len(CURRICULUM_TASKS), p=sampler.probabilities())
        env.set_physics(idx, [CURRICULUM_TASKS[t].physics for t in current[idx]])

    env.set_physics(np.arange(num_envs), [CURRICULUM_TASKS[t].physics for t in current])
    tracker = ConfigTracker(logger=_Sink(), key_params=KEY_PARAMS, rank=0)
    record_s: list[float] = []
    last = time.perf_counter()
    steps: list[float] = []
    for it in train_ppo(agent, env, total_timesteps=epochs * shape.batch_size, on_reset=on_reset):
        if track:
            t0 = time.perf_counter()
            probs = dict(zip((v.name for v in CURRICULUM_TASKS), sampler.probabilities().tolist(), strict=True))
            tracker.record(epoch=it.epoch, agent_step=it.agent_step,
                           envs=[(CURRICULUM_TASKS[t].name, configs[t]) for t in current], task_probabilities=probs)
            record_s.append(time.perf_counter() - t0)
        now = time.perf_counter()
        steps.append(now - last)
        last = now
    save_s = 0.0
    if track:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            tracker.save(Path(tmp) / "h.json")
            save_s = time.perf_counter() - t0
    return {"step_s": float(np.median(steps[1:])), "total_s": float(sum(steps)),
            "record_s": float(np.median(record_s)) if record_s else 0.0, "record_max_s": max(record_s, default=0.0),
            "save_s": save_s, "spans": len(tracker.history.spans)}


def record_alone(num_envs: int, shared: bool, calls: int = 2000) -> float:
    """Median seconds per ``record()`` with ``num_envs`` envs over six tasks (the set changing every call)."""
    tracker = ConfigTracker(logger=_Sink(), key_params=KEY_PARAMS, rank=0)
    configs = [v.env_config() for v in CURRICULUM_TASKS]
    rng = np.random.default_rng(1)
    names = [v.name for v in CURRICULUM_TASKS]
    times = []
    for epoch in range(calls):
        tasks = rng.integers(0, len(configs), num_envs)
        envs = [(names[t], configs[t] if shared else copy.deepcopy(configs[t])) for t in tasks]
        probs = dict(zip(names, rng.dirichlet(np.ones(len(names))).tolist(), strict=True))
        t0 = time.perf_counter()
        tracker.record(epoch=epoch, agent_step=epoch * 8192, envs=envs, task_probabilities=probs)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30, help="training epochs per loop")
    parser.add_argument("--envs", type=int, default=64, help="vectorised environments")
    parser.add_argument("--debounce", type=int, default=100, help="epochs between artifact writes (worst case)")
    args = parser.parse_args()

    base = training_loop(args.epochs, args.envs, track=False)
    tracked = training_loop(args.epochs, args.envs, track=True)
    per_record = tracked["record_s"]
    per_epoch = tracked["step_s"] - per_record
    amortised_save = tracked["save_s"] / args.debounce
    print(f"training step (anchor), {args.envs} envs x 128 steps + PPO update: median {base['step_s'] * 1e3:.1f} ms "
          f"untracked, {tracked['step_s'] * 1e3:.1f} ms tracked")
    print(f"ConfigTracker.record() in the loop: median {per_record * 1e6:.0f} us/epoch, "
          f"max {tracked['record_max_s'] * 1e6:.0f} us "
          f"({tracked['spans']} spans over {args.epochs} epochs: the state changed every epoch)")
    print(f"artifact JSON write: {tracked['save_s'] * 1e3:.2f} ms, charged once per {args.debounce} epochs: "
          f"{amortised_save * 1e6:.0f} us/epoch")
    ratio = (per_record + amortised_save) / per_epoch
    print(f"overhead / training step: {ratio * 100:.3f}%  (ratio {ratio:.5f})")
    for shared in (True, False):
        t = record_alone(args.envs, shared)
        label = "shared config objects" if shared else "one config object per env"
        print(f"record() alone, {args.envs} envs, {label}: {t * 1e6:.0f} us")


if __name__ == "__main__":
    main()
