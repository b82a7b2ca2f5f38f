"""The tensorboard set: CleanRL-style PPO on two CartPole variants x 3 seeds, logged to TensorBoard only.

Many RL codebases never touch W&B: CleanRL's ``ppo.py`` writes ``runs/{env_id}__{exp_name}__{seed}__{time}/``
with torch's ``SummaryWriter``: a ``hyperparameters`` text table, ``charts/episodic_return``,
``charts/episodic_length``, ``charts/learning_rate``, ``charts/SPS`` and ``losses/*`` on
``global_step``. This set is trained for real (the project's batched PPO with CleanRL's defaults,
on the batched CartPole; one process per seed trains both variants) and written exactly that way,
plus the evaluation suite as ``eval_cartpole/<task>`` scalars, so a report can compare it with the
W&B-logged benchmark set on the same tasks.

:func:`generate_tensorboard_set` stages the set, swaps it into ``out/tensorboard`` whole and
records it in ``out/MANIFEST.json`` through the manifest code every set uses.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from runlab.samples._manifest import (
    GENERATOR_VERSION,
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    file_table,
    library_versions,
    machine,
    read_manifest,
    write_manifest,
)
from runlab.samples._ppo import PPOHyper, PPOShape
from runlab.samples._tasks import EVAL_SUITE, EnvVariant

SET_NAME = "tensorboard"
EXP_NAME = "cleanrl_ppo"
#: CartPole variant (an ``EVAL_SUITE`` name) -> the env id the runs are named after.
ENV_IDS = {"standard": "CartPole-v1", "long_pole": "CartPoleLongPole-v1"}


@dataclass(frozen=True, kw_only=True)
class TensorBoardSetConfig:
    """Size of the tensorboard set (CleanRL's PPO defaults for the agent)."""

    variants: tuple[str, ...] = ("standard", "long_pole")
    """``EVAL_SUITE`` names of the variants trained on (see :data:`ENV_IDS`)."""
    seeds: tuple[int, ...] = (1, 2, 3)
    total_timesteps: int = 50_000
    shape: PPOShape = field(default_factory=lambda: PPOShape(num_envs=4, n_steps=128))
    hyper: PPOHyper = field(default_factory=PPOHyper)
    eval_every: int = 12
    """Updates between evaluations on the suite (the last update is always evaluated)."""
    eval_episodes: int = 5
    profile: str = "full"

    @classmethod
    def tiny(cls) -> TensorBoardSetConfig:
        """The smallest complete set, for tests."""
        return cls(seeds=(1,), total_timesteps=1_024, shape=PPOShape(num_envs=4, n_steps=64, num_minibatches=2,
                                                                      update_epochs=1),
                   eval_every=2, eval_episodes=1, profile="tiny")


def _variant(name: str) -> EnvVariant:
    return next(v for v in EVAL_SUITE if v.name == name)


def cleanrl_args(cfg: TensorBoardSetConfig, variant: str, seed: int) -> dict[str, Any]:
    """The run's arguments as CleanRL's ``ppo.py`` would print them into its hyperparameters table."""
    s, h = cfg.shape, cfg.hyper
    return {
        "exp_name": EXP_NAME, "seed": seed, "env_id": ENV_IDS[variant], "env_variant": variant,
        "total_timesteps": cfg.total_timesteps, "learning_rate": h.learning_rate, "num_envs": s.num_envs,
        "num_steps": s.n_steps, "anneal_lr": False, "gamma": h.gamma, "gae_lambda": h.gae_lambda,
        "num_minibatches": s.num_minibatches, "update_epochs": s.update_epochs, "norm_adv": True,
        "clip_coef": h.clip_coef, "clip_vloss": False, "ent_coef": h.ent_coef, "vf_coef": h.vf_coef,
        "max_grad_norm": h.max_grad_norm, "batch_size": s.batch_size, "minibatch_size": s.minibatch_size,
        "hidden_size": s.hidden_size, "num_layers": s.num_layers,
    }


def train_seed(cfg: TensorBoardSetConfig, seed: int, runs_dir: Path, start_time: int) -> list[str]:
    """Train one agent per variant with ``seed`` and write each as a CleanRL run folder; return the names."""
    import torch
    from torch.utils.tensorboard import SummaryWriter

    from runlab.samples._cartpole import BatchedCartPole
    from runlab.samples._evaluate import evaluate_suite
    from runlab.samples._ppo import BatchedPPO, train_ppo
    from runlab.samples._records import eval_metrics

    torch.set_num_threads(1)
    shape, n = cfg.shape, len(cfg.variants)
    agent = BatchedPPO(shape, [cfg.hyper] * n, seed=seed)
    env = BatchedCartPole([_variant(v).physics for v in cfg.variants for _ in range(shape.num_envs)], seed=seed)
    names = [f"{ENV_IDS[v]}__{EXP_NAME}__{seed}__{start_time}" for v in cfg.variants]
    writers = [SummaryWriter(str(runs_dir / name)) for name in names]
    for w, v in zip(writers, cfg.variants, strict=True):
        args = cleanrl_args(cfg, v, seed)
        w.add_text("hyperparameters", "|param|value|\n|-|-|\n" + "\n".join(f"|{k}|{a}|" for k, a in args.items()))
    updates = max(1, cfg.total_timesteps // shape.batch_size)
    for it in train_ppo(agent, env, total_timesteps=cfg.total_timesteps):
        step = it.agent_step  # CleanRL's global_step: steps over all of the agent's environments
        for a, w in enumerate(writers):
            mine = [(ret, length) for agent_i, _, ret, length in it.episodes if agent_i == a]
            if mine:
                w.add_scalar("charts/episodic_return", float(np.mean([r for r, _ in mine])), step)
                w.add_scalar("charts/episodic_length", float(np.mean([x for _, x in mine])), step)
            w.add_scalar("charts/learning_rate", cfg.hyper.learning_rate, step)
            w.add_scalar("charts/SPS", float(int(it.sps)), step)
            for key, values in sorted(it.losses.items()):
                w.add_scalar(f"losses/{key}", float(values[a]), step)
        if it.epoch == updates or (cfg.eval_every and it.epoch % cfg.eval_every == 0):
            scores = evaluate_suite(lambda o: agent.greedy(torch.from_numpy(o)).numpy(), num_agents=n,
                                    suite=EVAL_SUITE, episodes=cfg.eval_episodes, seed=seed * 1000 + it.epoch)
            for a, w in enumerate(writers):
                for key, value in eval_metrics(scores[a]).items():
                    w.add_scalar(key, value, step)
    for w in writers:
        w.close()
    return names


def generate_tensorboard_set(out: Path, config: TensorBoardSetConfig | None = None, *,
                             command: str = "") -> dict[str, Any]:
    """Train and write the set into ``out/tensorboard`` and record it in ``out/MANIFEST.json``; return the manifest.

    Other sets and their manifest entries are kept; a project without a manifest gets a new one.
    """
    cfg = config or TensorBoardSetConfig()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stage = out / f".staging-{SET_NAME}"
    shutil.rmtree(stage, ignore_errors=True)
    t0 = time.perf_counter()
    start_time = int(datetime.now(UTC).timestamp())
    names = [name for seed in cfg.seeds for name in train_seed(cfg, seed, stage / "runs", start_time)]
    final = out / SET_NAME
    if final.exists():
        shutil.rmtree(final)
    stage.rename(final)
    info = {"tensorboard_runs": len(names), "offline_runs": 0, "wall_time_s": round(time.perf_counter() - t0, 1),
            "config": json.loads(json.dumps(asdict(cfg))), "profile": cfg.profile,
            "command": command or f"python -m runlab.samples._set_tensorboard --out {out}"}
    return record_set(out, SET_NAME, info, seeds={"seeds": list(cfg.seeds)})


def record_set(out: Path, name: str, info: dict[str, Any], *, seeds: dict[str, Any]) -> dict[str, Any]:
    """Add or replace one set's entry in ``out/MANIFEST.json`` and re-hash every file."""
    try:
        manifest = read_manifest(out)
    except Exception:  # no manifest yet (or an unreadable one): start a new project's
        manifest = {"format": MANIFEST_FORMAT, "generator": "runlab.samples", "generator_version": GENERATOR_VERSION,
                    "command": info.get("command", ""), "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "workers": 1, "sets": {}, "seeds": {}}
    manifest["machine"], manifest["libraries"] = manifest.get("machine") or machine(), library_versions()
    manifest.setdefault("sets", {})[name] = info
    manifest.setdefault("seeds", {})[name] = seeds
    manifest["files"] = file_table(out)
    manifest["total_bytes"] = sum(f["size"] for f in manifest["files"].values())
    write_manifest(out, manifest)
    return manifest


def main() -> None:
    """``python -m runlab.samples._set_tensorboard --out samples``: (re)generate the set in place."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help=f"sample project folder (holds {MANIFEST_NAME})")
    ap.add_argument("--tiny", action="store_true", help="the smallest complete set (seconds)")
    args = ap.parse_args()
    cfg = TensorBoardSetConfig.tiny() if args.tiny else TensorBoardSetConfig()
    manifest = generate_tensorboard_set(args.out, cfg, command=" ".join(
        ["python -m runlab.samples._set_tensorboard", "--out", str(args.out)] + (["--tiny"] if args.tiny else [])))
    print(f"{manifest['sets'][SET_NAME]['tensorboard_runs']} runs in {args.out / SET_NAME}")


if __name__ == "__main__":
    main()
