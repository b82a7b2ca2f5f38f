"""Sample-generator speed: batched CartPole and batched PPO against their one-at-a-time anchors.

Prints throughput and the ratio to an anchor measured in the same run:
- env: ``BatchedCartPole`` with N environments vs N gymnasium ``CartPoleEnv`` stepped in a loop;
- ppo: A agents trained as one ``BatchedPPO`` vs the same A agents trained one after another.
Usage: ``python benchmarks/bench_samples.py [--envs 256] [--agents 32] [--steps 8192]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from gymnasium.envs.classic_control.cartpole import CartPoleEnv

from runlab.samples import BatchedCartPole, BatchedPPO, CartPolePhysics, PPOHyper, PPOShape, train_ppo


def bench_env(n: int, steps: int) -> tuple[float, float]:
    rng = np.random.default_rng(0)
    actions = rng.integers(0, 2, size=(steps, n))
    envs = [CartPoleEnv() for _ in range(n)]
    for i, e in enumerate(envs):
        e.reset(seed=i)
    t = time.perf_counter()
    for a in actions:
        for e, ai in zip(envs, a, strict=True):
            _o, _r, term, _tr, _ = e.step(int(ai))
            if term:
                e.reset()
    anchor = steps * n / (time.perf_counter() - t)
    batched = BatchedCartPole([CartPolePhysics()] * n, seed=0)
    batched.reset()
    t = time.perf_counter()
    for a in actions:
        batched.step(a)
    return anchor, steps * n / (time.perf_counter() - t)


def bench_ppo(agents: int, steps: int) -> tuple[float, float]:
    shape = PPOShape(hidden_size=64, num_layers=2, num_envs=8, n_steps=128)
    hypers = [PPOHyper(learning_rate=float(lr)) for lr in np.geomspace(1e-4, 3e-3, agents)]

    def run(batch: list[PPOHyper], seed: int) -> None:
        agent = BatchedPPO(shape, batch, seed=seed)
        env = BatchedCartPole([CartPolePhysics()] * (len(batch) * shape.num_envs), seed=seed)
        for _ in train_ppo(agent, env, total_timesteps=steps):
            pass

    t = time.perf_counter()
    for i, h in enumerate(hypers):
        run([h], i)
    anchor = agents * steps / (time.perf_counter() - t)
    t = time.perf_counter()
    run(hypers, 0)
    return anchor, agents * steps / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--envs", type=int, default=256)
    ap.add_argument("--agents", type=int, default=32)
    ap.add_argument("--steps", type=int, default=8192)
    args = ap.parse_args()
    torch.set_num_threads(1)
    a, b = bench_env(args.envs, 200)
    print(f"env  gymnasium loop {a:12,.0f} steps/s | BatchedCartPole {b:12,.0f} steps/s | ratio {b / a:6.1f}x")
    a, b = bench_ppo(args.agents, args.steps)
    print(f"ppo  one agent at a time {a:9,.0f} agent-steps/s | {args.agents} batched {b:9,.0f} agent-steps/s"
          f" | ratio {b / a:6.1f}x")


if __name__ == "__main__":
    main()
