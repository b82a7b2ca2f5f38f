"""A real PPO trainer for sweeps: CartPole with runlab's batched PPO, tuned by ``runlab sweep run``.

    runlab sweep init cartpole --config examples/cartpole_sweep.yaml
    runlab sweep run cartpole --max-trials 12 -- python examples/cartpole_trainer.py

The sweep appends Hydra-style overrides (``trainer.optimizer.learning_rate=7.31e-04``); this script
applies them to its default config, trains one PPO agent on CartPole-v1 dynamics for
``trainer.total_timesteps`` steps, evaluates the greedy policy on seeded episodes, and prints the
objective as a JSON line: ``{"score": <mean eval return>, "cost": <env steps>}``. Cost is the step
budget (not wall time), so a sweep over it is deterministic for a fixed seed.
"""

from __future__ import annotations

import json
import sys
from typing import Any

DEFAULTS: dict[str, Any] = {
    "seed": 0,
    "trainer": {
        "optimizer": {"learning_rate": 2.5e-4},
        "gamma": 0.99,
        "gae_lambda": 0.95,
        "ent_coef": 0.01,
        "clip_coef": 0.2,
        "total_timesteps": 8192,
        "num_envs": 4,
        "n_steps": 128,
        "hidden_size": 32,
    },
}


def parse_overrides(argv: list[str]) -> dict[str, Any]:
    """``a.b=1`` overrides (OmegaConf dotlist) merged onto :data:`DEFAULTS`."""
    from omegaconf import OmegaConf

    bad = [a for a in argv if "=" not in a]
    if bad:
        raise SystemExit(f"arguments must be key=value overrides, got {bad}")
    merged = OmegaConf.merge(OmegaConf.create(DEFAULTS), OmegaConf.from_dotlist(argv))
    return OmegaConf.to_container(merged, resolve=True)  # type: ignore[return-value]


def train_and_evaluate(cfg: dict[str, Any]) -> dict[str, float]:
    """Train one agent and return its mean greedy return over the evaluation episodes."""
    import torch

    from runlab.samples import BatchedCartPole, BatchedPPO, CartPolePhysics, PPOHyper, PPOShape, train_ppo

    torch.set_num_threads(1)
    t = cfg["trainer"]
    shape = PPOShape(hidden_size=int(t["hidden_size"]), num_envs=int(t["num_envs"]), n_steps=int(t["n_steps"]))
    hyper = PPOHyper(
        learning_rate=float(t["optimizer"]["learning_rate"]),
        gamma=float(t["gamma"]),
        gae_lambda=float(t["gae_lambda"]),
        ent_coef=float(t["ent_coef"]),
        clip_coef=float(t["clip_coef"]),
    )
    seed = int(cfg["seed"])
    agent = BatchedPPO(shape, [hyper], seed=seed)
    env = BatchedCartPole([CartPolePhysics()] * shape.num_envs, seed=seed)
    steps = 0
    for it in train_ppo(agent, env, total_timesteps=int(t["total_timesteps"])):
        steps = it.agent_step
    episodes = 8
    eval_env = BatchedCartPole([CartPolePhysics()] * episodes, seed=seed + 10_000)
    obs = eval_env.reset()
    returns = torch.zeros(episodes, dtype=torch.float64)
    running = torch.ones(episodes, dtype=torch.bool)
    while bool(running.any()):
        action = agent.greedy(torch.from_numpy(obs).float().view(1, episodes, -1)).view(-1).numpy()
        obs, reward, term, trunc, _ = eval_env.step(action)
        returns += torch.from_numpy(reward) * running
        running &= ~torch.from_numpy(term | trunc)
    return {"score": float(returns.mean()), "cost": float(steps)}


def main(argv: list[str]) -> int:
    result = train_and_evaluate(parse_overrides(argv))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
