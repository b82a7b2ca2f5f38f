"""The real sample project: RL runs trained here and logged through the real W&B client.

Three sets: ``benchmark`` (stable-baselines3 PPO/A2C/DQN x seeds on CartPole, evaluated on a
suite of physics variants), ``curriculum`` (multi-task PPO with uniform and learning-progress task
samplers, per-episode reward streams and env-config history) and ``curves`` (hundreds of batched
PPO training curves across env and agent parameters). :func:`generate_samples` builds them;
:func:`shipped_samples_dir` finds the copy shipped with the repository.

Imports are lazy: ``shipped_samples_dir`` and the manifest helpers load without torch,
gymnasium or stable-baselines3.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runlab.samples._cartpole import BatchedCartPole, CartPolePhysics
    from runlab.samples._curriculum import ConfigHistory, LearningProgressSampler, UniformSampler
    from runlab.samples._evaluate import evaluate_suite
    from runlab.samples._generate import (
        SETS,
        BenchmarkSetConfig,
        GenerateConfig,
        generate_samples,
    )
    from runlab.samples._manifest import GENERATOR_VERSION, read_manifest, verify_samples
    from runlab.samples._paths import shipped_samples_dir
    from runlab.samples._ppo import BatchedPPO, PPOHyper, PPOShape, train_ppo
    from runlab.samples._set_curriculum import CurriculumSetConfig
    from runlab.samples._set_curves import CurvesSetConfig
    from runlab.samples._tasks import CURRICULUM_TASKS, EVAL_SUITE, EVAL_SUITE_NAME, EnvVariant

_LAZY: dict[str, str] = {
    "BatchedCartPole": "runlab.samples._cartpole",
    "BatchedPPO": "runlab.samples._ppo",
    "BenchmarkSetConfig": "runlab.samples._generate",
    "CURRICULUM_TASKS": "runlab.samples._tasks",
    "CartPolePhysics": "runlab.samples._cartpole",
    "ConfigHistory": "runlab.samples._curriculum",
    "CurriculumSetConfig": "runlab.samples._set_curriculum",
    "CurvesSetConfig": "runlab.samples._set_curves",
    "EVAL_SUITE": "runlab.samples._tasks",
    "EVAL_SUITE_NAME": "runlab.samples._tasks",
    "EnvVariant": "runlab.samples._tasks",
    "GENERATOR_VERSION": "runlab.samples._manifest",
    "GenerateConfig": "runlab.samples._generate",
    "LearningProgressSampler": "runlab.samples._curriculum",
    "PPOHyper": "runlab.samples._ppo",
    "PPOShape": "runlab.samples._ppo",
    "SETS": "runlab.samples._generate",
    "UniformSampler": "runlab.samples._curriculum",
    "evaluate_suite": "runlab.samples._evaluate",
    "generate_samples": "runlab.samples._generate",
    "read_manifest": "runlab.samples._manifest",
    "shipped_samples_dir": "runlab.samples._paths",
    "train_ppo": "runlab.samples._ppo",
    "verify_samples": "runlab.samples._manifest",
}

__all__ = [
    "CURRICULUM_TASKS",
    "EVAL_SUITE",
    "EVAL_SUITE_NAME",
    "GENERATOR_VERSION",
    "SETS",
    "BatchedCartPole",
    "BatchedPPO",
    "BenchmarkSetConfig",
    "CartPolePhysics",
    "ConfigHistory",
    "CurriculumSetConfig",
    "CurvesSetConfig",
    "EnvVariant",
    "GenerateConfig",
    "LearningProgressSampler",
    "PPOHyper",
    "PPOShape",
    "UniformSampler",
    "evaluate_suite",
    "generate_samples",
    "read_manifest",
    "shipped_samples_dir",
    "train_ppo",
    "verify_samples",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
