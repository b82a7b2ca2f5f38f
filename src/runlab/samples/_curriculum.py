"""Task samplers for multi-task training, and the differential env-config history.

A curriculum draws each episode's task. :class:`UniformSampler` is the baseline;
:class:`LearningProgressSampler` is a bidirectional learning-progress sampler: per task it keeps a
fast and a slow exponential moving average of the normalised episode score, and favours tasks where
the two disagree (the agent is currently getting better *or* worse there), mixed with a uniform
share so no task starves. :class:`ConfigHistory` is the writer of the first history format
(``runlab.env_config_history/1``, one item per epoch) that the shipped curriculum set was made with;
the generator now tracks env configs with :class:`runlab.envconfig.ConfigTracker`, which reads
this format too.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import Any, Protocol

import numpy as np

from runlab.errors import InputError


class TaskSampler(Protocol):
    """Draws task indices and learns from episode scores in [0, 1]."""

    name: str

    def probabilities(self) -> np.ndarray: ...

    def update(self, task: int, score: float) -> None: ...


def draw(sampler: TaskSampler, rng: np.random.Generator, size: int) -> np.ndarray:
    """``size`` task indices drawn from ``sampler``'s current probabilities."""
    p = sampler.probabilities()
    return rng.choice(len(p), size=size, p=p)


class UniformSampler:
    """Every task equally likely, always."""

    name = "uniform"

    def __init__(self, num_tasks: int) -> None:
        if num_tasks < 1:
            raise InputError(f"num_tasks must be >= 1, got {num_tasks}")
        self.num_tasks = num_tasks

    def probabilities(self) -> np.ndarray:
        """``1 / num_tasks`` each."""
        return np.full(self.num_tasks, 1.0 / self.num_tasks)

    def update(self, task: int, score: float) -> None:
        """Uniform sampling ignores scores."""


class LearningProgressSampler:
    """Bidirectional learning progress: ``|fast EMA - slow EMA|`` of each task's score."""

    name = "learning_progress"

    def __init__(
        self,
        num_tasks: int,
        *,
        ema_timescale: float = 0.1,
        slow_factor: float = 0.2,
        exploration: float = 0.1,
        temperature: float = 1.0,
    ) -> None:
        if num_tasks < 1:
            raise InputError(f"num_tasks must be >= 1, got {num_tasks}")
        if not (0 < ema_timescale <= 1 and 0 < slow_factor <= 1 and 0 <= exploration <= 1 and temperature > 0):
            raise InputError(
                "ema_timescale and slow_factor must be in (0, 1], exploration in [0, 1], temperature > 0; "
                f"got {ema_timescale}, {slow_factor}, {exploration}, {temperature}"
            )
        self.num_tasks = num_tasks
        self.alpha_fast, self.alpha_slow = ema_timescale, ema_timescale * slow_factor
        self.exploration, self.temperature = exploration, temperature
        self.fast = np.full(num_tasks, np.nan)
        self.slow = np.full(num_tasks, np.nan)

    def update(self, task: int, score: float) -> None:
        """Fold one episode's score into the task's EMAs (non-finite scores are ignored)."""
        if not np.isfinite(score):
            return
        if np.isnan(self.fast[task]):
            self.fast[task] = self.slow[task] = score
        self.fast[task] += self.alpha_fast * (score - self.fast[task])
        self.slow[task] += self.alpha_slow * (score - self.slow[task])

    def probabilities(self) -> np.ndarray:
        """Softmax of z-scored learning progress, mixed with ``exploration`` uniform share."""
        lp = np.abs(self.fast - self.slow)
        seen = ~np.isnan(lp)
        # unseen tasks get the largest progress seen so far: they are worth a look
        lp = np.where(seen, lp, lp[seen].max() if seen.any() else 1.0)
        spread = lp.std()
        z = (lp - lp.mean()) / spread if spread > 1e-12 else np.zeros_like(lp)
        w = np.exp(z / self.temperature)
        p = (1 - self.exploration) * w / w.sum() + self.exploration / self.num_tasks
        return p / p.sum()


def config_hash(config: dict[str, Any]) -> str:
    """Stable short hash of a JSON-able config."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


class ConfigHistory:
    """Env configurations in play over training, one item per epoch (format ``/1``).

    ``snapshots`` holds each distinct configuration once, keyed by its hash; each ``history`` entry
    names the epoch, the agent step, and per task in play its config hash, environment count and
    sampling probability.
    """

    def __init__(self) -> None:
        self.snapshots: dict[str, dict[str, Any]] = {}
        self.history: list[dict[str, Any]] = []

    def record(
        self,
        *,
        epoch: int,
        agent_step: int,
        in_play: list[str],
        configs: dict[str, dict[str, Any]],
        probabilities: dict[str, float],
    ) -> None:
        """Record one epoch: ``in_play`` lists the task of every environment."""
        counts = Counter(in_play)
        tasks = {}
        for task in sorted(counts):
            h = config_hash(configs[task])
            self.snapshots.setdefault(h, configs[task])
            tasks[task] = {"config": h, "num_envs": counts[task], "probability": probabilities.get(task)}
        self.history.append({"epoch": epoch, "agent_step": agent_step, "tasks": tasks})

    def to_json(self) -> dict[str, Any]:
        """The artifact content: format tag, snapshots by hash, per-epoch history."""
        return {"format": "runlab.env_config_history/1", "snapshots": self.snapshots, "history": self.history}
