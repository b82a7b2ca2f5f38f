"""The batched CartPole steps exactly like gymnasium's CartPoleEnv, per-env physics included."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.envs.classic_control.cartpole import CartPoleEnv
from hypothesis import given, settings
from hypothesis import strategies as st

from runlab.errors import InputError
from runlab.samples import CURRICULUM_TASKS, EVAL_SUITE, BatchedCartPole, CartPolePhysics
from runlab.samples._tasks import configure_gym_cartpole

VARIANTS = [v.physics for v in EVAL_SUITE] + [v.physics for v in CURRICULUM_TASKS]


def _gym_envs(physics: list[CartPolePhysics], seed: int) -> list[CartPoleEnv]:
    envs = []
    for i, p in enumerate(physics):
        env = CartPoleEnv()
        configure_gym_cartpole(env, p)
        env.reset(seed=seed + i)
        envs.append(env)
    return envs


def _compare(physics: list[CartPolePhysics], seed: int, steps: int) -> int:
    """Step both implementations with the same random actions; returns the terminations seen."""
    gym_envs = _gym_envs(physics, seed)
    batched = BatchedCartPole(physics, seed=seed)
    batched.state = np.stack([np.asarray(e.state, dtype=np.float64) for e in gym_envs])
    alive = np.ones(len(physics), dtype=bool)
    rng = np.random.default_rng(seed)
    terminations = 0
    for _ in range(steps):
        action = rng.integers(0, 2, size=len(physics))
        _r, terminated = batched.dynamics(action)
        obs = batched.observation()
        for i, env in enumerate(gym_envs):
            if not alive[i]:
                continue
            g_obs, g_rew, g_term, _g_trunc, _ = env.step(int(action[i]))
            np.testing.assert_allclose(obs[i], g_obs, rtol=1e-6, atol=1e-7)
            assert g_rew == 1.0
            assert bool(terminated[i]) == g_term
            if g_term:
                alive[i] = False
                terminations += 1
        if not alive.any():
            break
    return terminations


def test_matches_gymnasium_step_for_step_on_every_variant() -> None:
    terminations = _compare(VARIANTS * 3, seed=7, steps=300)
    assert terminations > len(VARIANTS)  # random play ends most episodes: the flags were compared


@settings(max_examples=25, deadline=None)
@given(
    gravity=st.floats(1.0, 30.0),
    length=st.floats(0.1, 2.0),
    masspole=st.floats(0.01, 1.0),
    force=st.floats(1.0, 20.0),
    seed=st.integers(0, 2**31 - 1),
)
def test_matches_gymnasium_for_any_physics(gravity: float, length: float, masspole: float, force: float,
                                           seed: int) -> None:
    p = CartPolePhysics(gravity=gravity, length=length, masspole=masspole, force_mag=force)
    _compare([p, CartPolePhysics()], seed=seed, steps=60)


def test_step_truncates_at_max_steps_like_timelimit_and_autoresets() -> None:
    short = CartPolePhysics(max_steps=5, gravity=1.0)  # low gravity: the pole cannot fall in 5 steps
    env = BatchedCartPole([short, CartPolePhysics()], seed=0)
    env.reset()
    for t in range(1, 6):
        obs, _reward, term, trunc, lengths = env.step(np.array([t % 2, t % 2]))
    assert trunc[0] and not term[0] and lengths[0] == 5
    assert env.elapsed[0] == 0 and np.all(np.abs(obs[0]) <= 0.05)  # a fresh episode
    assert not trunc[1] and env.elapsed[1] == 5


def test_set_physics_changes_only_the_given_envs() -> None:
    env = BatchedCartPole([CartPolePhysics()] * 3, seed=0)
    env.set_physics(np.array([1]), [CartPolePhysics(gravity=3.0, max_steps=50)])
    assert env.params["gravity"].tolist() == [9.8, 3.0, 9.8]
    assert env.params["max_steps"].tolist() == [500, 50, 500]


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_invalid_physics_is_rejected_with_the_field_name(bad: float) -> None:
    with pytest.raises(InputError, match="gravity must be a finite positive number"):
        CartPolePhysics(gravity=bad)


def test_wrong_action_shape_is_rejected() -> None:
    env = BatchedCartPole([CartPolePhysics()] * 2, seed=0)
    env.reset()
    with pytest.raises(InputError, match=r"action must have shape \(2,\)"):
        env.step(np.array([1, 0, 1]))
