"""Turning batched training output into Metta-style run configs and history rows.

Metric names follow Metta's conventions so that runlab's collectors, metric groups and the demo
treat sample runs like real ones: ``metric/*`` x-axes, ``overview/*``, ``losses/*``,
``env_agent/*`` with ``.std_dev`` variants, ``eval_<suite>/<task>``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict
from typing import Any

import numpy as np

from runlab.samples._ppo import Iteration, PPOHyper, PPOShape
from runlab.samples._tasks import EVAL_SUITE, EVAL_SUITE_NAME

#: Episodes averaged into ``overview/reward`` (like SB3's ``ep_info_buffer``, shorter).
REWARD_WINDOW = 20


def ppo_trainer_config(shape: PPOShape, hyper: PPOHyper, total_timesteps: int) -> dict[str, Any]:
    """The nested ``trainer`` config of a batched-PPO run."""
    h = asdict(hyper)
    return {
        "algorithm": "ppo",
        "implementation": "runlab.samples.BatchedPPO",
        "optimizer": {"name": "adam", "learning_rate": h.pop("learning_rate")},
        "batch_size": shape.batch_size,
        "minibatch_size": shape.minibatch_size,
        "hidden_size": shape.hidden_size,
        "num_layers": shape.num_layers,
        "num_envs": shape.num_envs,
        "n_steps": shape.n_steps,
        "update_epochs": shape.update_epochs,
        "total_timesteps": total_timesteps,
        **h,
    }


def eval_metrics(scores: np.ndarray) -> dict[str, float]:
    """``eval_cartpole/<task>`` entries from one agent's suite scores ``(tasks,)``."""
    out = {f"eval_{EVAL_SUITE_NAME}/{v.name}": float(s) for v, s in zip(EVAL_SUITE, scores, strict=True)}
    out["overview/eval_reward"] = float(np.mean(scores))
    return out


def _stats(prefix: str, values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {prefix: float(np.mean(values)), f"{prefix}.std_dev": float(np.std(values))}


class AgentRecorder:
    """Builds per-epoch rows for every agent of a batch; keeps each agent's recent returns."""

    def __init__(self, num_agents: int) -> None:
        self.recent = [deque(maxlen=REWARD_WINDOW) for _ in range(num_agents)]

    def reward(self, agent: int) -> float:
        """Mean of the agent's last episodes (NaN before its first episode ends)."""
        r = self.recent[agent]
        return float(np.mean(r)) if r else float("nan")

    def epoch_rows(self, it: Iteration) -> list[dict[str, float]]:
        """One row per agent for this iteration."""
        returns: list[list[float]] = [[] for _ in self.recent]
        lengths: list[list[float]] = [[] for _ in self.recent]
        for agent, _env, ret, length in it.episodes:
            returns[agent].append(ret)
            lengths[agent].append(float(length))
            self.recent[agent].append(ret)
        rows = []
        for a in range(len(self.recent)):
            row = {
                "metric/agent_step": float(it.agent_step),
                "metric/epoch": float(it.epoch),
                "metric/total_time": it.wall_time,
                "overview/reward": self.reward(a),
                "overview/sps": it.sps,
                "env_agent/episodes": float(len(returns[a])),
                **_stats("env_agent/episode_return", returns[a]),
                **_stats("env_agent/episode_length", lengths[a]),
            }
            row.update({f"losses/{k}": float(v[a]) for k, v in it.losses.items()})
            rows.append(row)
        return rows
