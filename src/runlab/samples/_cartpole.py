"""A batched CartPole whose every environment has its own physics.

Gymnasium's ``CartPoleEnv`` steps one pole at a time; training hundreds of agents on hundreds of
physics variants needs all of them in one array. The equations below are gymnasium's (Euler
integrator, same thresholds, reward 1.0 per step including the failing one), written over arrays
of shape ``(num_envs,)`` so one call steps every environment. ``tests/test_samples_cartpole.py``
checks it against ``gymnasium.envs.classic_control.CartPoleEnv`` step for step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from runlab.errors import InputError

#: Failure thresholds, as in gymnasium (12 degrees, 2.4 units).
THETA_THRESHOLD = 12 * 2 * math.pi / 360
X_THRESHOLD = 2.4


@dataclass(frozen=True, kw_only=True)
class CartPolePhysics:
    """Physical parameters of one CartPole variant (gymnasium's defaults)."""

    gravity: float = 9.8
    """Gravitational acceleration (m/s^2)."""
    masscart: float = 1.0
    """Cart mass (kg)."""
    masspole: float = 0.1
    """Pole mass (kg)."""
    length: float = 0.5
    """Half the pole's length (m), as gymnasium defines it."""
    force_mag: float = 10.0
    """Magnitude of the push applied each step (N)."""
    tau: float = 0.02
    """Seconds between state updates."""
    max_steps: int = 500
    """Episode length limit (gymnasium's ``TimeLimit``; 500 for CartPole-v1)."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise InputError(f"CartPole physics {f.name} must be a finite positive number, got {value!r}")

    def as_dict(self) -> dict[str, Any]:
        """Plain dict, e.g. for a run's ``env`` config."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


_PARAMS = tuple(f.name for f in fields(CartPolePhysics))


class BatchedCartPole:
    """``num_envs`` CartPoles stepped together, each with its own physics.

    Finished environments (pole fallen, cart out of bounds, or ``max_steps`` reached) are reset
    inside :meth:`step`, as vectorised environments do; the returned observation is then the first
    observation of the new episode, and the finished episode's return and length are reported.
    """

    def __init__(self, physics: list[CartPolePhysics], *, seed: int | np.random.Generator) -> None:
        if not physics:
            raise InputError("BatchedCartPole needs at least one environment, got an empty physics list")
        self.num_envs = len(physics)
        self._rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        self.params: dict[str, np.ndarray] = {
            name: np.array([getattr(p, name) for p in physics], dtype=np.float64) for name in _PARAMS
        }
        self.params["max_steps"] = self.params["max_steps"].astype(np.int64)
        self.state = np.zeros((self.num_envs, 4), dtype=np.float64)
        self.elapsed = np.zeros(self.num_envs, dtype=np.int64)

    def set_physics(self, index: np.ndarray, physics: list[CartPolePhysics]) -> None:
        """Give environments ``index`` new physics (takes effect from their next step)."""
        for name in _PARAMS:
            self.params[name][index] = [getattr(p, name) for p in physics]

    def reset(self, index: np.ndarray | None = None) -> np.ndarray:
        """Reset all (or ``index``) environments to a state drawn uniformly from [-0.05, 0.05]^4."""
        idx = np.arange(self.num_envs) if index is None else np.asarray(index)
        self.state[idx] = self._rng.uniform(-0.05, 0.05, size=(len(idx), 4))
        self.elapsed[idx] = 0
        return self.observation()

    def observation(self) -> np.ndarray:
        """Current observations, float32 ``(num_envs, 4)`` as gymnasium returns them."""
        return self.state.astype(np.float32)

    def dynamics(self, action: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Advance the physics one step without resets; returns (rewards, terminated)."""
        p = self.params
        x, x_dot, theta, theta_dot = self.state.T
        force = np.where(action == 1, p["force_mag"], -p["force_mag"])
        costheta, sintheta = np.cos(theta), np.sin(theta)
        total_mass = p["masspole"] + p["masscart"]
        polemass_length = p["masspole"] * p["length"]
        temp = (force + polemass_length * np.square(theta_dot) * sintheta) / total_mass
        thetaacc = (p["gravity"] * sintheta - costheta * temp) / (
            p["length"] * (4.0 / 3.0 - p["masspole"] * np.square(costheta) / total_mass)
        )
        xacc = temp - polemass_length * thetaacc * costheta / total_mass
        tau = p["tau"]
        self.state = np.stack(
            (x + tau * x_dot, x_dot + tau * xacc, theta + tau * theta_dot, theta_dot + tau * thetaacc), axis=1
        )
        x, theta = self.state[:, 0], self.state[:, 2]
        terminated = (x < -X_THRESHOLD) | (x > X_THRESHOLD) | (theta < -THETA_THRESHOLD) | (theta > THETA_THRESHOLD)
        return np.ones(self.num_envs, dtype=np.float64), terminated

    def step(self, action: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Step every environment with ``action`` (0 = push left, 1 = push right).

        Returns ``(obs, reward, terminated, truncated, episode_length)``; ``episode_length`` is the
        finished episode's length where ``terminated | truncated`` (its return, since every step
        pays 1.0) and 0 elsewhere.
        """
        action = np.asarray(action)
        if action.shape != (self.num_envs,):
            raise InputError(f"action must have shape ({self.num_envs},), got {action.shape}")
        reward, terminated = self.dynamics(action)
        self.elapsed += 1
        truncated = ~terminated & (self.elapsed >= self.params["max_steps"])
        done = terminated | truncated
        lengths = np.where(done, self.elapsed, 0)
        if done.any():
            self.reset(np.flatnonzero(done))
        return self.observation(), reward, terminated, truncated, lengths
