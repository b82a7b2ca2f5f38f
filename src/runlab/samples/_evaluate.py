"""Evaluation on the suite: one batched CartPole holds every agent x task x episode.

Evaluating episode by episode through gymnasium costs seconds per checkpoint; stepping all of them
as one array costs a few hundred policy calls (the longest horizon), whatever the number of agents.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from runlab.samples._cartpole import BatchedCartPole
from runlab.samples._tasks import EnvVariant

#: Maps observations ``(agents, batch, 4)`` float32 to actions ``(agents, batch)`` in {0, 1}.
Policy = Callable[[np.ndarray], np.ndarray]


def evaluate_suite(
    policy: Policy, *, num_agents: int, suite: Sequence[EnvVariant], episodes: int, seed: int
) -> np.ndarray:
    """Mean return of one episode-set per (agent, task): array ``(num_agents, len(suite))``.

    Each (agent, task) plays ``episodes`` episodes from seeded start states; an environment stops
    counting at its first episode end.
    """
    per_agent = [v.physics for v in suite for _ in range(episodes)]
    env = BatchedCartPole(per_agent * num_agents, seed=seed)
    obs = env.reset()
    returns = np.zeros(env.num_envs)
    running = np.ones(env.num_envs, dtype=bool)
    while running.any():
        action = np.asarray(policy(obs.reshape(num_agents, -1, 4))).reshape(-1)
        obs, reward, term, trunc, _ = env.step(action)
        returns += reward * running
        running &= ~(term | trunc)
    return returns.reshape(num_agents, len(suite), episodes).mean(axis=2)
