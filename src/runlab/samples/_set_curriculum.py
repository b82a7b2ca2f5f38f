"""The curriculum set: multi-task PPO where a curriculum draws each episode's task.

All runs (samplers x seeds) train as one batch; each agent has its own curriculum. Every completed
episode becomes a history row ``env_task_reward/<task>`` with its per-task ``sample_index`` (the
ordered reward stream a learning-progress scorer consumes); every epoch logs the task sampling
probabilities, the env configuration in play (``env/*``), training stats and, periodically, the
evaluation suite. Each agent's env configs are tracked by a :class:`runlab.envconfig.ConfigTracker`
(the ``env/*`` and ``curriculum/*`` metrics and the differential history), logged as a W&B artifact
of type ``environment_configs``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from runlab.envconfig import ConfigTracker
from runlab.samples._cartpole import BatchedCartPole
from runlab.samples._curriculum import (
    LearningProgressSampler,
    TaskSampler,
    UniformSampler,
    draw,
)
from runlab.samples._evaluate import evaluate_suite
from runlab.samples._ppo import BatchedPPO, PPOHyper, PPOShape, train_ppo
from runlab.samples._records import AgentRecorder, eval_metrics, ppo_trainer_config
from runlab.samples._tasks import CURRICULUM_TASKS, EVAL_SUITE
from runlab.samples._wandb_io import RunLog, RunSpec

SAMPLERS = ("uniform", "learning_progress")
_SHORT = {"uniform": "uniform", "learning_progress": "lp"}
#: ``env/<name>`` metrics the trackers log: dotted paths into each task's env config.
KEY_PARAMS = {
    "max_steps": "game.max_steps",
    "num_agents": "game.num_agents",
    "gravity": "physics.gravity",
    "pole_length": "physics.length",
    "masspole": "physics.masspole",
    "force_mag": "physics.force_mag",
}


@dataclass(frozen=True, kw_only=True)
class CurriculumSetConfig:
    """Size of the curriculum set."""

    seeds: tuple[int, ...] = (0, 1, 2)
    """One run per sampler per seed."""
    total_timesteps: int = 150_000
    """Environment steps per run."""
    shape: PPOShape = field(default_factory=lambda: PPOShape(num_envs=16, n_steps=128))
    """Network and rollout layout shared by the batch."""
    eval_every: int = 10
    """Epochs between evaluations on the suite."""
    eval_episodes: int = 3
    """Episodes per suite task per evaluation."""
    batch_seed: int = 1234
    """Seeds the shared torch generator and environment resets."""


def _task_config(i: int) -> dict[str, Any]:
    return CURRICULUM_TASKS[i].env_config()


class _Curricula:
    """Per-agent curricula driving the physics of each environment at every reset."""

    def __init__(self, samplers: list[TaskSampler], env: BatchedCartPole, num_envs: int, seed: int) -> None:
        self.samplers, self.env, self.e_n = samplers, env, num_envs
        self.rng = np.random.default_rng(seed)
        self.current = np.concatenate([draw(s, self.rng, num_envs) for s in samplers])
        self.sample_index = np.zeros((len(samplers), len(CURRICULUM_TASKS)), dtype=np.int64)
        self.rows: list[list[dict[str, float]]] = [[] for _ in samplers]
        self._apply(np.arange(env.num_envs))

    def _apply(self, idx: np.ndarray) -> None:
        self.env.set_physics(idx, [CURRICULUM_TASKS[t].physics for t in self.current[idx]])

    def on_reset(self, idx: np.ndarray, returns: np.ndarray, agent_step: int) -> None:
        for i, ret in zip(idx, returns, strict=True):
            agent, task = int(i) // self.e_n, int(self.current[i])
            name = CURRICULUM_TASKS[task].name
            self.samplers[agent].update(task, ret / CURRICULUM_TASKS[task].physics.max_steps)
            self.rows[agent].append(
                {
                    f"env_task_reward/{name}": float(ret),
                    f"env_task_reward/{name}/sample_index": float(self.sample_index[agent, task]),
                    "metric/agent_step": float(agent_step),
                }
            )
            self.sample_index[agent, task] += 1
            self.current[i] = draw(self.samplers[agent], self.rng, 1)[0]
        self._apply(idx)

    def in_play(self, agent: int) -> tuple[list[str], dict[str, float]]:
        """One agent's task of every env in play, and its sampler's probability per task."""
        tasks = self.current[agent * self.e_n : (agent + 1) * self.e_n]
        probs = self.samplers[agent].probabilities()
        names = [CURRICULUM_TASKS[t].name for t in tasks]
        return names, {v.name: float(p) for v, p in zip(CURRICULUM_TASKS, probs, strict=True)}


def curriculum_run_logs(cfg: CurriculumSetConfig) -> list[RunLog]:
    """Train the curriculum set and return one :class:`RunLog` per (sampler, seed)."""
    torch.set_num_threads(1)
    plan = [(sampler, seed) for sampler in SAMPLERS for seed in cfg.seeds]
    hyper = PPOHyper(learning_rate=1e-3)
    agent = BatchedPPO(cfg.shape, [hyper] * len(plan), seed=cfg.batch_seed)
    samplers: list[TaskSampler] = [
        UniformSampler(len(CURRICULUM_TASKS)) if s == "uniform" else LearningProgressSampler(len(CURRICULUM_TASKS))
        for s, _ in plan
    ]
    env = BatchedCartPole([CURRICULUM_TASKS[0].physics] * (len(plan) * cfg.shape.num_envs), seed=cfg.batch_seed)
    curricula = _Curricula(samplers, env, cfg.shape.num_envs, cfg.batch_seed + 1)
    recorder = AgentRecorder(len(plan))
    trackers = [ConfigTracker(key_params=KEY_PARAMS, curriculum=sampler, rank=0) for sampler, _ in plan]
    logs = [RunLog(spec=_spec(cfg, sampler, seed, i, len(plan))) for i, (sampler, seed) in enumerate(plan)]
    configs = {v.name: _task_config(i) for i, v in enumerate(CURRICULUM_TASKS)}
    for it in train_ppo(agent, env, total_timesteps=cfg.total_timesteps, on_reset=curricula.on_reset):
        rows = recorder.epoch_rows(it)
        scores = None
        if it.epoch % cfg.eval_every == 0 or it.agent_step + cfg.shape.batch_size > cfg.total_timesteps:
            scores = evaluate_suite(
                lambda o: agent.greedy(torch.from_numpy(o)).numpy(),
                num_agents=len(plan),
                suite=EVAL_SUITE,
                episodes=cfg.eval_episodes,
                seed=cfg.batch_seed + it.epoch,
            )
        for a, log in enumerate(logs):
            in_play, probs = curricula.in_play(a)
            metrics = trackers[a].record(epoch=it.epoch, agent_step=it.agent_step,
                                         envs=[(name, configs[name]) for name in in_play], task_probabilities=probs)
            log.rows.extend(curricula.rows[a])
            curricula.rows[a] = []
            row = {**rows[a], **metrics}
            if scores is not None:
                row.update(eval_metrics(scores[a]))
            log.rows.append(row)
    for a, log in enumerate(logs):
        counts = {v.name: int(n) for v, n in zip(CURRICULUM_TASKS, curricula.sample_index[a], strict=True)}
        trackers[a].finish(metadata={"run_id": log.spec.run_id, "task_counts": counts})
        hist = trackers[a].to_json()
        log.artifacts.append((f"env_configs-{log.spec.run_id}", "environment_configs",
                              trackers[a].artifact_metadata(), {"env_config_history.json": hist}))
    return logs


def _spec(cfg: CurriculumSetConfig, sampler: str, seed: int, index: int, size: int) -> RunSpec:
    short = _SHORT[sampler]
    return RunSpec(
        run_id=f"curr-{short}-s{seed}",
        name=f"runlab.curriculum.{short}.s{seed}",
        group=f"curriculum.{short}",
        job_type="train",
        tags=("curriculum", sampler, "cartpole", "multi-task"),
        config={
            "seed": seed,
            "trainer": {
                **ppo_trainer_config(cfg.shape, PPOHyper(learning_rate=1e-3), cfg.total_timesteps),
                "curriculum": {"algorithm": sampler, "tasks": [v.name for v in CURRICULUM_TASKS]},
            },
            "env": {
                "name": "cartpole/curriculum",
                "game": {"max_steps": max(v.physics.max_steps for v in CURRICULUM_TASKS), "num_agents": 1},
                "tasks": {v.name: v.env_config() for v in CURRICULUM_TASKS},
            },
            "batch": {"seed": cfg.batch_seed, "index": index, "size": size},
        },
    )
