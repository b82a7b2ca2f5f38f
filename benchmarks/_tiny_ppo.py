"""A small PPO (CleanRL-style) on gymnasium's vectorised CartPole, for the sweep benchmark.

Small enough that one training run takes well under a second on one CPU thread, real enough
that learning rate, gamma and entropy coefficient matter. The score is the mean return of a
greedy evaluation on 8 fresh episodes (max 500).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, kw_only=True)
class PPOConfig:
    learning_rate: float = 2.5e-3
    """Adam step size."""
    gamma: float = 0.99
    """Discount factor."""
    ent_coef: float = 0.01
    """Entropy bonus weight."""
    total_steps: int = 16384
    """Environment steps (the trial's cost)."""
    num_envs: int = 8
    """Parallel CartPole copies."""
    num_steps: int = 128
    """Rollout length per environment per update."""
    gae_lambda: float = 0.95
    """GAE smoothing."""
    epochs: int = 4
    """Passes over each rollout."""
    minibatches: int = 4
    """Minibatches per pass."""
    clip: float = 0.2
    """PPO ratio clip."""


def train_cartpole(cfg: PPOConfig, seed: int) -> float:
    """Train, then return the greedy evaluation return (0..500)."""
    import gymnasium as gym
    import torch
    from torch import nn

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    envs = gym.make_vec("CartPole-v1", num_envs=cfg.num_envs, vectorization_mode="vector_entry_point")
    n_obs, n_act = 4, 2

    def mlp(out: int, std: float) -> nn.Sequential:
        net = nn.Sequential(nn.Linear(n_obs, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, out))
        nn.init.orthogonal_(net[-1].weight, std)
        return net

    actor, critic = mlp(n_act, 0.01), mlp(1, 1.0)
    opt = torch.optim.Adam([*actor.parameters(), *critic.parameters()], lr=cfg.learning_rate, eps=1e-5)
    obs, _ = envs.reset(seed=seed)
    prev_done = np.zeros(cfg.num_envs, dtype=bool)
    t_, e_ = cfg.num_steps, cfg.num_envs
    for _ in range(cfg.total_steps // (t_ * e_)):
        b_obs = np.zeros((t_, e_, n_obs), np.float32)
        b_act = np.zeros((t_, e_), np.int64)
        b_logp, b_val, b_rew = (np.zeros((t_, e_), np.float32) for _ in range(3))
        b_done, b_valid = np.zeros((t_, e_), bool), np.zeros((t_, e_), bool)
        for t in range(t_):
            with torch.no_grad():
                x = torch.as_tensor(obs, dtype=torch.float32)
                dist = torch.distributions.Categorical(logits=actor(x))
                act = dist.sample()
                b_logp[t], b_val[t] = dist.log_prob(act).numpy(), critic(x).squeeze(-1).numpy()
            b_obs[t], b_act[t], b_valid[t] = obs, act.numpy(), ~prev_done  # next-step autoreset
            obs, rew, term, trunc, _ = envs.step(act.numpy())
            b_rew[t], b_done[t] = rew, term | trunc
            prev_done = b_done[t]
        with torch.no_grad():
            next_val = critic(torch.as_tensor(obs, dtype=torch.float32)).squeeze(-1).numpy()
        adv = np.zeros((t_, e_), np.float32)
        last = np.zeros(e_, np.float32)
        for t in reversed(range(t_)):
            nv = next_val if t == t_ - 1 else b_val[t + 1]
            nonterm = 1.0 - b_done[t]
            delta = b_rew[t] + cfg.gamma * nv * nonterm - b_val[t]
            last = delta + cfg.gamma * cfg.gae_lambda * nonterm * last
            adv[t] = last
        ret = adv + b_val
        keep = b_valid.reshape(-1)
        data = [torch.as_tensor(a.reshape(-1, *a.shape[2:])[keep]) for a in (b_obs, b_act, b_logp, adv, ret)]
        n = len(data[0])
        for _ in range(cfg.epochs):
            for idx in torch.randperm(n).chunk(cfg.minibatches):
                o, a, lp, ad, rt = (d[idx] for d in data)
                ad = (ad - ad.mean()) / (ad.std() + 1e-8)
                dist = torch.distributions.Categorical(logits=actor(o))
                ratio = (dist.log_prob(a) - lp).exp()
                pg = torch.max(-ad * ratio, -ad * ratio.clamp(1 - cfg.clip, 1 + cfg.clip)).mean()
                v_loss = 0.5 * ((critic(o).squeeze(-1) - rt) ** 2).mean()
                loss = pg + 0.5 * v_loss - cfg.ent_coef * dist.entropy().mean()
                opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_([*actor.parameters(), *critic.parameters()], 0.5)
                opt.step()
    return _evaluate(actor, seed + 10_000)


def _evaluate(actor: object, seed: int, episodes: int = 8) -> float:
    import gymnasium as gym
    import torch

    envs = gym.make_vec("CartPole-v1", num_envs=episodes, vectorization_mode="vector_entry_point")
    obs, _ = envs.reset(seed=seed)
    total = np.zeros(episodes)
    alive = np.ones(episodes, dtype=bool)
    while alive.any():
        with torch.no_grad():
            act = actor(torch.as_tensor(obs, dtype=torch.float32)).argmax(-1).numpy()  # type: ignore[operator]
        obs, rew, term, trunc, _ = envs.step(act)
        total += rew * alive
        alive &= ~(term | trunc)
    return float(total.mean())
