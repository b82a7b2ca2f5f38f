"""The curves set: hundreds of training curves of one learner across env and agent parameters.

Each curve is one PPO agent on one CartPole variant. Agents are drawn from a seeded generator
(physics: gravity, pole length and mass, push force, horizon; agent: learning rate, gamma, GAE
lambda, clip/entropy/value coefficients, hidden size, layers, rollout length) and trained in
batches that share array shapes, so one process trains dozens of agents with a single batched
network. The set ships as Parquet (curves long form + runs with nested config as JSON); a few of
its runs are also written as real W&B offline runs.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from runlab.samples._cartpole import BatchedCartPole, CartPolePhysics
from runlab.samples._evaluate import evaluate_suite
from runlab.samples._ppo import BatchedPPO, PPOHyper, PPOShape, train_ppo
from runlab.samples._records import AgentRecorder, eval_metrics, ppo_trainer_config
from runlab.samples._tasks import EVAL_SUITE, EnvVariant
from runlab.samples._wandb_io import RunLog, RunSpec

#: (hidden_size, num_layers, n_steps) combinations; each is one batch shape.
STRUCTURES: tuple[tuple[int, int, int], ...] = tuple(
    (h, layers, n) for h in (32, 64) for layers in (1, 2) for n in (64, 128)
)


@dataclass(frozen=True, kw_only=True)
class CurvesSetConfig:
    """Size of the curves set."""

    num_runs: int = 320
    """Number of curves (agents)."""
    total_timesteps: int = 100_000
    """Environment steps per agent."""
    num_envs: int = 8
    """Environments per agent."""
    num_offline_runs: int = 6
    """How many of the curves are also written as W&B offline runs."""
    eval_every: int = 10
    """Epochs between evaluations on the suite."""
    eval_episodes: int = 2
    """Episodes per suite task per evaluation."""
    seed: int = 2024
    """Seeds the draw of agents and every batch."""


@dataclass(frozen=True, kw_only=True)
class CurveSpec:
    """One agent of the curves set."""

    index: int
    shape: PPOShape
    hyper: PPOHyper
    physics: CartPolePhysics


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def sample_curve_specs(cfg: CurvesSetConfig) -> list[CurveSpec]:
    """Draw ``cfg.num_runs`` agents; structures are spread evenly, in a seeded random order."""
    rng = np.random.default_rng(cfg.seed)
    structures = [STRUCTURES[i % len(STRUCTURES)] for i in range(cfg.num_runs)]
    order = rng.permutation(cfg.num_runs)
    specs = []
    for i in range(cfg.num_runs):
        hidden, layers, n_steps = structures[order[i]]
        physics = CartPolePhysics(
            gravity=round(float(rng.uniform(4.0, 20.0)), 3),
            length=round(_log_uniform(rng, 0.25, 1.0), 4),
            masspole=round(float(rng.uniform(0.05, 0.5)), 4),
            force_mag=round(float(rng.uniform(5.0, 15.0)), 3),
            max_steps=int(rng.choice([200, 300, 500])),
        )
        hyper = PPOHyper(
            learning_rate=_log_uniform(rng, 1e-4, 3e-3),
            gamma=float(rng.uniform(0.9, 0.999)),
            gae_lambda=float(rng.uniform(0.8, 0.99)),
            clip_coef=float(rng.uniform(0.1, 0.3)),
            ent_coef=_log_uniform(rng, 1e-4, 3e-2),
            vf_coef=float(rng.uniform(0.25, 1.0)),
        )
        shape = PPOShape(hidden_size=hidden, num_layers=layers, n_steps=n_steps, num_envs=cfg.num_envs)
        specs.append(CurveSpec(index=i, shape=shape, hyper=hyper, physics=physics))
    return specs


def group_specs(specs: list[CurveSpec]) -> list[list[CurveSpec]]:
    """Specs grouped by batch shape, in a stable order."""
    groups: dict[PPOShape, list[CurveSpec]] = defaultdict(list)
    for s in specs:
        groups[s.shape].append(s)
    return [groups[k] for k in sorted(groups, key=lambda s: (s.hidden_size, s.num_layers, s.n_steps))]


def curve_spec_to_run(spec: CurveSpec, cfg: CurvesSetConfig) -> RunSpec:
    """The W&B identity and nested config of one curve."""
    s = spec.shape
    variant = EnvVariant(name="cartpole/sampled", physics=spec.physics)
    return RunSpec(
        run_id=f"curve-{spec.index:04d}",
        name=f"runlab.curves.{spec.index:04d}",
        group=f"curves.h{s.hidden_size}.l{s.num_layers}.n{s.n_steps}",
        job_type="train",
        tags=("curves", "cartpole", "ppo"),
        config={
            "seed": spec.index,
            "trainer": ppo_trainer_config(s, spec.hyper, cfg.total_timesteps),
            "env": variant.env_config(),
            "batch": {"seed": cfg.seed, "index": spec.index},
        },
    )


def train_curve_group(cfg: CurvesSetConfig, group_index: int, specs: list[CurveSpec]) -> dict[str, Any]:
    """Train one same-shape batch; returns curve columns, run rows and the offline runs' logs."""
    torch.set_num_threads(1)
    seed = cfg.seed * 1000 + group_index
    shape = specs[0].shape
    agent = BatchedPPO(shape, [s.hyper for s in specs], seed=seed)
    env = BatchedCartPole([s.physics for s in specs for _ in range(shape.num_envs)], seed=seed)
    recorder = AgentRecorder(len(specs))
    run_specs = [curve_spec_to_run(s, cfg) for s in specs]
    logs = {a: RunLog(spec=r) for a, (s, r) in enumerate(zip(specs, run_specs, strict=True))
            if s.index < cfg.num_offline_runs}
    cols: dict[str, list[Any]] = {"run_id": [], "agent_step": [], "epoch": [], "reward": []}
    last_scores = np.full((len(specs), len(EVAL_SUITE)), np.nan)
    for it in train_ppo(agent, env, total_timesteps=cfg.total_timesteps):
        rows = recorder.epoch_rows(it)
        final = it.agent_step + shape.batch_size > cfg.total_timesteps
        scores = None
        if final or (cfg.eval_every and it.epoch % cfg.eval_every == 0):
            scores = evaluate_suite(
                lambda o: agent.greedy(torch.from_numpy(o)).numpy(),
                num_agents=len(specs), suite=EVAL_SUITE, episodes=cfg.eval_episodes, seed=seed + it.epoch,
            )
            last_scores = scores
        for a, r in enumerate(run_specs):
            cols["run_id"].append(r.run_id)
            cols["agent_step"].append(it.agent_step)
            cols["epoch"].append(it.epoch)
            cols["reward"].append(rows[a]["overview/reward"])
            if a in logs:
                logs[a].rows.append({**rows[a], **(eval_metrics(scores[a]) if scores is not None else {})})
    runs = [
        {
            "run_id": r.run_id, "name": r.name, "group": r.group, "tags": json.dumps(list(r.tags)),
            "seed": s.index, "config": json.dumps(r.config, sort_keys=True),
            "final_reward": recorder.reward(a),
            "final_eval": json.dumps({v.name: float(x) for v, x in zip(EVAL_SUITE, last_scores[a], strict=True)}),
        }
        for a, (s, r) in enumerate(zip(specs, run_specs, strict=True))
    ]
    return {"curves": cols, "runs": runs, "logs": list(logs.values())}
