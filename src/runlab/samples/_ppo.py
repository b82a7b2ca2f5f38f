"""PPO for many independent agents at once: batched weights, per-agent hyperparameters.

Every agent has its own actor and critic MLPs; their weights are stacked along a leading agent
axis and applied with ``torch.baddbmm`` so one matrix multiply serves all agents. Losses are summed
over agents, which leaves each agent's gradient its own (no parameter is shared). Hyperparameters
that only scale numbers (learning rate, gamma, GAE lambda, clip/entropy/value coefficients,
gradient-norm limit) are per-agent tensors; those that change array shapes (hidden size, layers,
environments, rollout length, minibatches) are shared by the batch, described by :class:`PPOShape`.
The optimiser is Adam written out so that its learning rate can differ per agent.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from runlab.errors import InputError
from runlab.samples._cartpole import BatchedCartPole


@dataclass(frozen=True, kw_only=True)
class PPOShape:
    """Hyperparameters that fix array shapes, shared by every agent of a batch."""

    hidden_size: int = 64
    """Units per hidden layer (actor and critic)."""
    num_layers: int = 2
    """Hidden layers per network."""
    num_envs: int = 8
    """Environments per agent."""
    n_steps: int = 128
    """Rollout length per environment between updates."""
    num_minibatches: int = 4
    """Minibatches per update epoch."""
    update_epochs: int = 4
    """Passes over each rollout."""

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not isinstance(value, int) or value < 1:
                raise InputError(f"PPOShape.{name} must be a positive integer, got {value!r}")
        if self.batch_size % self.num_minibatches:
            raise InputError(
                f"num_envs * n_steps ({self.batch_size}) must be divisible by num_minibatches "
                f"({self.num_minibatches})"
            )

    @property
    def batch_size(self) -> int:
        """Transitions per agent per update."""
        return self.num_envs * self.n_steps

    @property
    def minibatch_size(self) -> int:
        """Transitions per agent per gradient step."""
        return self.batch_size // self.num_minibatches


@dataclass(frozen=True, kw_only=True)
class PPOHyper:
    """Per-agent PPO hyperparameters (CleanRL's defaults)."""

    learning_rate: float = 2.5e-4
    """Adam step size."""
    gamma: float = 0.99
    """Discount factor."""
    gae_lambda: float = 0.95
    """GAE lambda."""
    clip_coef: float = 0.2
    """Policy ratio clipping."""
    ent_coef: float = 0.01
    """Entropy bonus weight."""
    vf_coef: float = 0.5
    """Value loss weight."""
    max_grad_norm: float = 0.5
    """Global gradient-norm limit, per agent."""

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not (math.isfinite(value) and value >= 0):
                raise InputError(f"PPOHyper.{name} must be a finite non-negative number, got {value!r}")
        if not 0 < self.gamma <= 1 or not 0 <= self.gae_lambda <= 1:
            raise InputError(f"gamma must be in (0, 1] and gae_lambda in [0, 1], got {self.gamma}, {self.gae_lambda}")


class _BatchedMLP:
    """``num_agents`` MLPs with identical layout; weights ``(agents, fan_in, fan_out)``."""

    def __init__(self, num_agents: int, sizes: list[int], out_gain: float, gen: torch.Generator) -> None:
        self.weights: list[torch.Tensor] = []
        self.biases: list[torch.Tensor] = []
        for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
            gain = out_gain if i == len(sizes) - 2 else math.sqrt(2)
            w = torch.empty(num_agents, fan_in, fan_out)
            for a in range(num_agents):
                torch.nn.init.orthogonal_(w[a], gain=gain, generator=gen)
            self.weights.append(w.requires_grad_())
            self.biases.append(torch.zeros(num_agents, 1, fan_out, requires_grad=True))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        # x: (agents, batch, fan_in) -> (agents, batch, out)
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            x = torch.baddbmm(b, x, w)
            if i < last:
                x = torch.tanh(x)
        return x

    def parameters(self) -> list[torch.Tensor]:
        """Weights then biases, each with the agent axis first."""
        return [*self.weights, *self.biases]


class BatchedPPO:
    """Actor-critic PPO agents trained in lockstep; agent ``a`` uses ``hypers[a]``."""

    def __init__(
        self, shape: PPOShape, hypers: list[PPOHyper], *, seed: int, obs_dim: int = 4, num_actions: int = 2
    ) -> None:
        if not hypers:
            raise InputError("BatchedPPO needs at least one agent, got an empty hyperparameter list")
        self.shape, self.hypers, self.num_agents = shape, list(hypers), len(hypers)
        self.gen = torch.Generator().manual_seed(seed)
        hidden = [shape.hidden_size] * shape.num_layers
        self.actor = _BatchedMLP(self.num_agents, [obs_dim, *hidden, num_actions], 0.01, self.gen)
        self.critic = _BatchedMLP(self.num_agents, [obs_dim, *hidden, 1], 1.0, self.gen)
        self.params = self.actor.parameters() + self.critic.parameters()
        col = {k: torch.tensor([getattr(h, k) for h in hypers], dtype=torch.float32) for k in asdict(hypers[0])}
        self.h = col
        self._m = [torch.zeros_like(p) for p in self.params]
        self._v = [torch.zeros_like(p) for p in self.params]
        self._t = 0

    @torch.no_grad()
    def act(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Sample actions (Gumbel-max on the seeded generator); returns (action, logp, value)."""
        logits = torch.log_softmax(self.actor(obs), dim=-1)
        u = torch.rand(logits.shape, generator=self.gen).clamp_(1e-12, 1.0)
        action = torch.argmax(logits - torch.log(-torch.log(u)), dim=-1)
        logp = logits.gather(-1, action.unsqueeze(-1)).squeeze(-1)
        return action, logp, self.critic(obs).squeeze(-1)

    @torch.no_grad()
    def greedy(self, obs: torch.Tensor) -> torch.Tensor:
        """Most likely action per observation, ``(agents, batch)``."""
        return torch.argmax(self.actor(obs), dim=-1)

    @torch.no_grad()
    def value(self, obs: torch.Tensor) -> torch.Tensor:
        """Critic estimates ``(agents, batch)``."""
        return self.critic(obs).squeeze(-1)

    def update(self, roll: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
        """One PPO update on a rollout (tensors ``(agents, batch, ...)``); returns per-agent stats."""
        n, mb = self.shape.batch_size, self.shape.minibatch_size
        clip, ent_c, vf_c = (self.h[k].view(-1, 1) for k in ("clip_coef", "ent_coef", "vf_coef"))
        sums: dict[str, torch.Tensor] = {}
        count = 0
        for _ in range(self.shape.update_epochs):
            perm = torch.randperm(n, generator=self.gen)
            for start in range(0, n, mb):
                idx = perm[start : start + mb]
                stats = self._minibatch_step({k: v[:, idx] for k, v in roll.items()}, clip, ent_c, vf_c)
                for k, v in stats.items():
                    sums[k] = sums.get(k, 0) + v
                count += 1
        out = {k: (v / count).numpy() for k, v in sums.items()}
        var_y = roll["returns"].var(dim=1)
        ev = 1 - (roll["returns"] - roll["values"]).var(dim=1) / var_y
        out["explained_variance"] = torch.where(var_y > 0, ev, torch.nan).numpy()
        return out

    def _minibatch_step(
        self, b: dict[str, torch.Tensor], clip: torch.Tensor, ent_c: torch.Tensor, vf_c: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        logp_all = torch.log_softmax(self.actor(b["obs"]), dim=-1)
        newlogp = logp_all.gather(-1, b["actions"].unsqueeze(-1)).squeeze(-1)
        entropy = -(logp_all.exp() * logp_all).sum(-1).mean(1)
        logratio = newlogp - b["logp"]
        ratio = logratio.exp()
        adv = b["advantages"]
        adv = (adv - adv.mean(1, keepdim=True)) / (adv.std(1, keepdim=True) + 1e-8)
        pg_loss = torch.max(-adv * ratio, -adv * torch.clamp(ratio, 1 - clip, 1 + clip)).mean(1)
        v_loss = 0.5 * (self.critic(b["obs"]).squeeze(-1) - b["returns"]).square().mean(1)
        loss = pg_loss - ent_c.squeeze(1) * entropy + vf_c.squeeze(1) * v_loss
        for p in self.params:
            p.grad = None
        loss.sum().backward()
        self._adam_step()
        with torch.no_grad():
            return {
                "policy_loss": pg_loss.detach(),
                "value_loss": v_loss.detach(),
                "entropy": entropy.detach(),
                "approx_kl": ((ratio - 1) - logratio).mean(1).detach(),
                "clipfrac": ((ratio - 1).abs() > clip).float().mean(1),
            }

    @torch.no_grad()
    def _adam_step(self, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-5) -> None:
        self._t += 1
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in self.params]
        # per-agent global norm clipping: norm (agents,)
        norm = torch.sqrt(sum(g.flatten(1).square().sum(1) for g in grads))
        scale = torch.clamp(self.h["max_grad_norm"] / (norm + 1e-6), max=1.0)
        lr = self.h["learning_rate"]
        c1, c2 = 1 - beta1**self._t, 1 - beta2**self._t
        for p, g, m, v in zip(self.params, grads, self._m, self._v, strict=True):
            view = (-1,) + (1,) * (p.dim() - 1)
            g = g * scale.view(view)
            m.mul_(beta1).add_(g, alpha=1 - beta1)
            v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
            p.sub_(lr.view(view) * (m / c1) / ((v / c2).sqrt() + eps))


@dataclass
class Iteration:
    """What one rollout + update produced, for every agent of the batch."""

    epoch: int
    """1-based update count."""
    agent_step: int
    """Environment steps taken per agent so far."""
    wall_time: float
    """Seconds since training started."""
    sps: float
    """Environment steps per second per agent during this iteration."""
    losses: dict[str, np.ndarray]
    """Per-agent loss statistics, each ``(agents,)``."""
    episodes: list[tuple[int, int, float, int]] = field(default_factory=list)
    """Completed episodes in completion order: ``(agent, env_in_agent, return, length)``."""


#: Called after a step with the flat indices of environments that just finished an episode, the
#: episodes' returns and the per-agent step count; a curriculum uses it to give them new physics.
ResetHook = Callable[[np.ndarray, np.ndarray, int], None]


def train_ppo(
    agent: BatchedPPO, env: BatchedCartPole, *, total_timesteps: int, on_reset: ResetHook | None = None
) -> Iterator[Iteration]:
    """Train every agent for ``total_timesteps`` env steps; yields one :class:`Iteration` per update.

    ``env`` holds ``agents * num_envs`` environments, agent ``a`` owning ``a*num_envs ...``.
    """
    a_n, e_n, t_n = agent.num_agents, agent.shape.num_envs, agent.shape.n_steps
    if env.num_envs != a_n * e_n:
        raise InputError(f"env must hold agents * num_envs = {a_n * e_n} environments, got {env.num_envs}")
    obs = torch.from_numpy(env.reset()).view(a_n, e_n, -1)
    ep_ret = np.zeros(env.num_envs)
    start = time.perf_counter()
    iterations = max(1, total_timesteps // (e_n * t_n))
    for it in range(1, iterations + 1):
        t0 = time.perf_counter()
        buf: dict[str, list[torch.Tensor]] = {k: [] for k in ("obs", "actions", "logp", "values", "rewards", "dones")}
        episodes: list[tuple[int, int, float, int]] = []
        for t in range(t_n):
            action, logp, value = agent.act(obs)
            next_obs, reward, term, trunc, lengths = env.step(action.view(-1).numpy())
            ep_ret += reward
            done = term | trunc
            for k, v in (("obs", obs), ("actions", action), ("logp", logp), ("values", value)):
                buf[k].append(v)
            buf["rewards"].append(torch.from_numpy(reward.astype(np.float32)).view(a_n, e_n))
            buf["dones"].append(torch.from_numpy(done.astype(np.float32)).view(a_n, e_n))
            if done.any():
                idx = np.flatnonzero(done)
                episodes.extend((int(i) // e_n, int(i) % e_n, float(ep_ret[i]), int(lengths[i])) for i in idx)
                if on_reset is not None:
                    on_reset(idx, ep_ret[idx].copy(), ((it - 1) * t_n + t + 1) * e_n)
                ep_ret[idx] = 0.0
            obs = torch.from_numpy(next_obs).view(a_n, e_n, -1)
        roll = _gae(agent, {k: torch.stack(v) for k, v in buf.items()}, agent.value(obs))
        losses = agent.update(roll)
        now = time.perf_counter()
        yield Iteration(
            epoch=it,
            agent_step=it * e_n * t_n,
            wall_time=now - start,
            sps=e_n * t_n / max(now - t0, 1e-9),
            losses=losses,
            episodes=episodes,
        )


def _gae(agent: BatchedPPO, b: dict[str, torch.Tensor], last_value: torch.Tensor) -> dict[str, torch.Tensor]:
    """Generalised advantage estimates with per-agent gamma/lambda; episode ends are not bootstrapped.

    Input tensors are ``(steps, agents, envs, ...)``; output ``(agents, steps * envs, ...)``.
    """
    gamma, lam = agent.h["gamma"].view(-1, 1), agent.h["gae_lambda"].view(-1, 1)
    rewards, values, dones = b["rewards"], b["values"], b["dones"]
    adv = torch.zeros_like(rewards)
    last = torch.zeros_like(last_value)
    for t in reversed(range(rewards.shape[0])):
        next_value = last_value if t == rewards.shape[0] - 1 else values[t + 1]
        nonterminal = 1.0 - dones[t]
        delta = rewards[t] + gamma * next_value * nonterminal - values[t]
        last = delta + gamma * lam * nonterminal * last
        adv[t] = last

    def flat(x: torch.Tensor) -> torch.Tensor:
        return x.transpose(0, 1).reshape(x.shape[1], -1, *x.shape[3:])

    out: dict[str, Any] = {k: flat(b[k]) for k in ("obs", "actions", "logp", "values")}
    out["advantages"] = flat(adv)
    out["returns"] = flat(adv + values)
    return out
