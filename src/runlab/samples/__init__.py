"""The real sample project: RL runs trained here and logged through the real W&B client.

Three sets: ``benchmark`` (stable-baselines3 PPO/A2C/DQN x seeds on CartPole, evaluated on a
suite of physics variants), ``curriculum`` (multi-task PPO with uniform and learning-progress task
samplers, per-episode reward streams and env-config history) and ``curves`` (hundreds of batched
PPO training curves across env and agent parameters). :func:`generate_samples` builds them;
:func:`shipped_samples_dir` finds the copy shipped with the repository.
"""

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
