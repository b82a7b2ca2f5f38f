"""Batched PPO: per-agent hyperparameters really are per agent, training learns, seeds reproduce."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pytest
import torch

from runlab.errors import InputError
from runlab.samples import (
    EVAL_SUITE,
    BatchedCartPole,
    BatchedPPO,
    CartPolePhysics,
    PPOHyper,
    PPOShape,
    train_ppo,
)
from runlab.samples._evaluate import evaluate_suite
from runlab.samples._records import AgentRecorder

# One thread: the agents are batched already, and torch's thread pool only contends on small CPUs.
torch.set_num_threads(1)

SHAPE = PPOShape(hidden_size=32, num_layers=2, num_envs=4, n_steps=64, num_minibatches=2, update_epochs=2)

_CURVE_SCRIPT = """
import hashlib, numpy as np, torch
torch.set_num_threads(1)
from runlab.samples import BatchedCartPole, BatchedPPO, CartPolePhysics, PPOHyper, PPOShape, train_ppo
from runlab.samples._records import AgentRecorder
shape = PPOShape(hidden_size=32, num_layers=2, num_envs=4, n_steps=64, num_minibatches=2, update_epochs=2)
def curves(seed):
    hypers = [PPOHyper(learning_rate=1e-3), PPOHyper(learning_rate=3e-4, gamma=0.95)]
    agent = BatchedPPO(shape, hypers, seed=seed)
    env = BatchedCartPole([CartPolePhysics(), CartPolePhysics(gravity=5.0)] * 4, seed=seed)
    rec = AgentRecorder(2)
    return np.array([[r["overview/reward"] for r in rec.epoch_rows(it)]
                     for it in train_ppo(agent, env, total_timesteps=2048)])
"""


def _curves(seed: int) -> np.ndarray:
    scope: dict = {}
    exec(_CURVE_SCRIPT, scope)
    return scope["curves"](seed)


def test_same_seed_same_curves_different_seed_different_curves() -> None:
    a, b, c = _curves(3), _curves(3), _curves(4)
    assert a.shape == (8, 2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_same_seed_same_curves_in_another_process() -> None:
    here = _curves(5)
    code = _CURVE_SCRIPT + "print(hashlib.sha256(curves(5).tobytes()).hexdigest())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == hashlib.sha256(here.tobytes()).hexdigest()


def test_zero_learning_rate_freezes_only_that_agent() -> None:
    agent = BatchedPPO(SHAPE, [PPOHyper(learning_rate=0.0), PPOHyper(learning_rate=1e-3)], seed=0)
    before = [p.detach().clone() for p in agent.params]
    env = BatchedCartPole([CartPolePhysics()] * 8, seed=0)
    for _ in train_ppo(agent, env, total_timesteps=SHAPE.batch_size * 2):
        pass
    for p0, p1 in zip(before, agent.params, strict=True):
        assert torch.equal(p0[0], p1[0])
        assert not torch.equal(p0[1], p1[1])


def test_training_improves_reward() -> None:
    shape = PPOShape(hidden_size=64, num_layers=2, num_envs=8, n_steps=128)
    agent = BatchedPPO(shape, [PPOHyper(learning_rate=2e-3)] * 2, seed=1)
    env = BatchedCartPole([CartPolePhysics()] * 16, seed=1)
    greedy = lambda o: agent.greedy(torch.from_numpy(o)).numpy()  # noqa: E731
    before = evaluate_suite(greedy, num_agents=2, suite=EVAL_SUITE[:1], episodes=4, seed=0).mean()
    rec = AgentRecorder(2)
    rewards = [np.nanmean([r["overview/reward"] for r in rec.epoch_rows(it)])
               for it in train_ppo(agent, env, total_timesteps=20_000)]
    after = evaluate_suite(greedy, num_agents=2, suite=EVAL_SUITE[:1], episodes=4, seed=0).mean()
    assert rewards[-1] > 2 * rewards[0]
    assert after > before


def test_losses_are_reported_per_agent_and_finite() -> None:
    agent = BatchedPPO(SHAPE, [PPOHyper(), PPOHyper(ent_coef=0.0)], seed=0)
    env = BatchedCartPole([CartPolePhysics()] * 8, seed=0)
    it = next(train_ppo(agent, env, total_timesteps=SHAPE.batch_size))
    assert set(it.losses) >= {"policy_loss", "value_loss", "entropy", "approx_kl", "clipfrac", "explained_variance"}
    for v in it.losses.values():
        assert v.shape == (2,)
        assert np.isfinite(v).all()
    assert it.agent_step == SHAPE.batch_size and it.epoch == 1
    assert all(0 <= a < 2 and 0 <= e < 4 and ret == length for a, e, ret, length in it.episodes)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"learning_rate": float("nan")}, "learning_rate must be a finite"), ({"gamma": 0.0}, "gamma must be in")],
)
def test_bad_hyperparameters_are_named(kwargs: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        PPOHyper(**kwargs)


def test_bad_shape_is_named() -> None:
    with pytest.raises(InputError, match="divisible by num_minibatches"):
        PPOShape(num_envs=3, n_steps=5, num_minibatches=4)
    with pytest.raises(InputError, match="env must hold"):
        next(train_ppo(BatchedPPO(SHAPE, [PPOHyper()], seed=0),
                       BatchedCartPole([CartPolePhysics()] * 3, seed=0), total_timesteps=10))
