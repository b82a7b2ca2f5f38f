"""The environment variants the sample project trains and evaluates on.

``EVAL_SUITE`` is the evaluation suite (``eval_cartpole/<task>`` metrics): CartPole variants with
different gravity, pole length and mass, push force and horizon, so that every run has a score per
task and ``runs x tasks`` score matrices exist. ``CURRICULUM_TASKS`` are the tasks a curriculum
draws from; their names are data with spaces, slashes, quotes and symbols on purpose, because real
task names are like that and everything downstream must sanitise them before they become paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runlab.samples._cartpole import CartPolePhysics

#: Suite name used in ``eval_<suite>/<task>`` metric keys.
EVAL_SUITE_NAME = "cartpole"


@dataclass(frozen=True, kw_only=True)
class EnvVariant:
    """A named CartPole variant."""

    name: str
    """Task name (data: may contain any character)."""
    physics: CartPolePhysics
    """Its physics and horizon."""

    def env_config(self) -> dict[str, Any]:
        """The nested ``env`` config of a run on this variant (Metta-style ``env.game.*``)."""
        p = self.physics
        return {
            "name": self.name,
            "game": {"max_steps": p.max_steps, "num_agents": 1},
            "physics": {k: v for k, v in p.as_dict().items() if k != "max_steps"},
        }

    def make_gym_env(self) -> Any:
        """A gymnasium ``CartPoleEnv`` with this variant's physics, wrapped in a ``TimeLimit``."""
        from gymnasium.envs.classic_control.cartpole import CartPoleEnv
        from gymnasium.wrappers import TimeLimit

        env = CartPoleEnv()
        configure_gym_cartpole(env, self.physics)
        return TimeLimit(env, max_episode_steps=self.physics.max_steps)


def configure_gym_cartpole(env: Any, physics: CartPolePhysics) -> None:
    """Set an unwrapped gymnasium ``CartPoleEnv``'s physics (including its derived quantities)."""
    env.gravity = physics.gravity
    env.masscart = physics.masscart
    env.masspole = physics.masspole
    env.total_mass = physics.masspole + physics.masscart
    env.length = physics.length
    env.polemass_length = physics.masspole * physics.length
    env.force_mag = physics.force_mag
    env.tau = physics.tau


def _v(name: str, **physics: Any) -> EnvVariant:
    return EnvVariant(name=name, physics=CartPolePhysics(**physics))


#: Evaluation suite: eight CartPole variants (standard CartPole-v1 first).
EVAL_SUITE: tuple[EnvVariant, ...] = (
    _v("standard"),
    _v("low_gravity", gravity=4.9),
    _v("high_gravity", gravity=19.6),
    _v("long_pole", length=1.0),
    _v("short_pole", length=0.25),
    _v("heavy_pole", masspole=0.5),
    _v("weak_force", force_mag=5.0),
    _v("short_horizon", max_steps=200),
)

#: Curriculum tasks; names deliberately need sanitising before they are used in paths.
CURRICULUM_TASKS: tuple[EnvVariant, ...] = (
    _v("cartpole/standard"),
    _v("cartpole/low gravity (g=4.9)", gravity=4.9),
    _v("cartpole/heavy-pole: m=0.5 kg", masspole=0.5),
    _v("cartpole/long pole 'L=2m'", length=1.0),
    _v("cartpole/weak push & 200 steps", force_mag=5.0, max_steps=200),
    _v("cartpole/jupiter+strong*push", gravity=24.8, force_mag=15.0),
)
