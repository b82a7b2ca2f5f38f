"""The benchmark set: stable-baselines3 PPO, A2C and DQN on CartPole, several seeds each.

Each run trains one SB3 model on gymnasium's CartPole-v1 and logs live through W&B from a custom
callback (:class:`WandbLogCallback`): Metta-style training metrics every ``log_every`` steps and
the evaluation suite every ``eval_every`` steps and at the end. Hyperparameters follow the RL
Zoo's CartPole settings, scaled to small budgets.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from runlab.samples._evaluate import evaluate_suite
from runlab.samples._records import REWARD_WINDOW, eval_metrics
from runlab.samples._tasks import EVAL_SUITE
from runlab.samples._wandb_io import RunSpec, offline_run

ALGORITHMS = ("ppo", "a2c", "dqn")

#: SB3 constructor arguments per algorithm (RL Zoo CartPole-v1 settings).
SB3_PARAMS: dict[str, dict[str, Any]] = {
    "ppo": {"n_steps": 32, "batch_size": 256, "gae_lambda": 0.8, "gamma": 0.98, "n_epochs": 20,
            "ent_coef": 0.0, "learning_rate": 1e-3, "clip_range": 0.2, "vf_coef": 0.5, "n_envs": 8,
            "net_arch": [64, 64]},
    "a2c": {"n_steps": 5, "gamma": 0.99, "gae_lambda": 1.0, "ent_coef": 0.0, "learning_rate": 7e-4,
            "vf_coef": 0.5, "n_envs": 8, "net_arch": [64, 64]},
    "dqn": {"learning_rate": 2.3e-3, "batch_size": 64, "buffer_size": 100_000, "learning_starts": 1000,
            "gamma": 0.99, "target_update_interval": 10, "train_freq": 256, "gradient_steps": 128,
            "exploration_fraction": 0.16, "exploration_final_eps": 0.04, "n_envs": 1, "net_arch": [256, 256]},
}

#: SB3 logger keys -> Metta-style names.
_LOSS_KEYS = {
    "train/policy_gradient_loss": "losses/policy_loss",
    "train/value_loss": "losses/value_loss",
    "train/approx_kl": "losses/approx_kl",
    "train/clip_fraction": "losses/clipfrac",
    "train/explained_variance": "losses/explained_variance",
    "train/loss": "losses/loss",
    "train/learning_rate": "losses/learning_rate",
    "rollout/exploration_rate": "experience/exploration_rate",
}


@dataclass(frozen=True, kw_only=True)
class BenchmarkJob:
    """One benchmark run."""

    algorithm: str
    seed: int
    total_timesteps: int
    log_every: int
    """Environment steps between training-metric rows."""
    eval_every: int
    """Environment steps between suite evaluations (a multiple of ``log_every``)."""
    eval_episodes: int
    """Episodes per suite task per evaluation."""


def benchmark_trainer_config(job: BenchmarkJob) -> dict[str, Any]:
    """The nested ``trainer`` config (runlab's common keys plus the SB3 arguments)."""
    p = dict(SB3_PARAMS[job.algorithm])
    n_envs, arch = p.pop("n_envs"), p.pop("net_arch")
    cfg: dict[str, Any] = {
        "algorithm": job.algorithm,
        "implementation": "stable_baselines3",
        "optimizer": {"name": "adam" if job.algorithm != "a2c" else "rmsprop", "learning_rate": p["learning_rate"]},
        "gamma": p["gamma"],
        "hidden_size": arch[0],
        "num_layers": len(arch),
        "num_envs": n_envs,
        "total_timesteps": job.total_timesteps,
        "sb3": p,
    }
    if job.algorithm == "dqn":
        cfg |= {"batch_size": p["batch_size"], "minibatch_size": p["batch_size"]}
    else:
        n_steps = p["n_steps"]
        cfg |= {"batch_size": n_envs * n_steps, "n_steps": n_steps, "gae_lambda": p["gae_lambda"],
                "ent_coef": p["ent_coef"], "vf_coef": p["vf_coef"],
                "minibatch_size": p.get("batch_size", n_envs * n_steps)}
        if job.algorithm == "ppo":
            cfg |= {"clip_coef": p["clip_range"], "update_epochs": p["n_epochs"]}
    return cfg


def benchmark_run_spec(job: BenchmarkJob) -> RunSpec:
    """The W&B identity and nested config of one benchmark run."""
    return RunSpec(
        run_id=f"bench-{job.algorithm}-s{job.seed}",
        name=f"runlab.benchmark.{job.algorithm}.s{job.seed}",
        group=f"benchmark.{job.algorithm}",
        job_type="train",
        tags=("benchmark", job.algorithm, "sb3", "cartpole"),
        config={
            "seed": job.seed,
            "trainer": benchmark_trainer_config(job),
            "env": {**EVAL_SUITE[0].env_config(), "id": "CartPole-v1", "eval_suite": [v.name for v in EVAL_SUITE]},
        },
    )


def _make_callback(run: Any, job: BenchmarkJob) -> Any:
    """The SB3 callback that logs one benchmark run. Long because it defines the callback class
    inside (its methods are short), so stable-baselines3 is imported only when a job runs."""
    from stable_baselines3.common.callbacks import BaseCallback

    class WandbLogCallback(BaseCallback):
        """Logs Metta-style metrics and periodic suite evaluations through a W&B run."""

        def _on_training_start(self) -> None:
            self.t0 = self.t_last = time.perf_counter()
            self.step_last = 0
            self.epoch = 0
            self.next_log, self.next_eval = job.log_every, job.eval_every
            self.returns: list[float] = []
            self.lengths: list[float] = []
            self.recent: list[float] = []

        def _on_rollout_end(self) -> None:
            self.epoch += 1

        def _on_step(self) -> bool:
            for info in self.locals.get("infos", []):
                ep = info.get("episode")
                if ep is not None:
                    self.returns.append(float(ep["r"]))
                    self.lengths.append(float(ep["l"]))
                    self.recent = [*self.recent[-(REWARD_WINDOW - 1) :], float(ep["r"])]
            if self.num_timesteps >= self.next_log:
                self.next_log += job.log_every
                evaluate = self.num_timesteps >= self.next_eval
                if evaluate:
                    self.next_eval += job.eval_every
                self._log(evaluate)
            return True

        def _on_training_end(self) -> None:
            self._log(evaluate=True)

        def _log(self, evaluate: bool) -> None:
            now = time.perf_counter()
            row: dict[str, float] = {
                "metric/agent_step": float(self.num_timesteps),
                "metric/epoch": float(self.epoch),
                "metric/total_time": now - self.t0,
                "overview/sps": (self.num_timesteps - self.step_last) / max(now - self.t_last, 1e-9),
                "env_agent/episodes": float(len(self.returns)),
            }
            if self.recent:
                row["overview/reward"] = float(np.mean(self.recent))
            for key, vals in (("episode_return", self.returns), ("episode_length", self.lengths)):
                if vals:
                    row[f"env_agent/{key}"] = float(np.mean(vals))
                    row[f"env_agent/{key}.std_dev"] = float(np.std(vals))
            values = self.model.logger.name_to_value
            for src, dst in _LOSS_KEYS.items():
                if src in values:
                    row[dst] = float(values[src])
            if "train/entropy_loss" in values:
                row["losses/entropy"] = -float(values["train/entropy_loss"])
            if evaluate:
                row.update(eval_metrics(self._evaluate()))
            run.log(row)
            self.t_last, self.step_last = now, self.num_timesteps
            self.returns, self.lengths = [], []

        def _evaluate(self) -> np.ndarray:
            def policy(obs: np.ndarray) -> np.ndarray:
                return self.model.predict(obs.reshape(-1, 4), deterministic=True)[0].reshape(1, -1)

            seed = job.seed * 100_003 + self.num_timesteps
            return evaluate_suite(policy, num_agents=1, suite=EVAL_SUITE, episodes=job.eval_episodes, seed=seed)[0]

    return WandbLogCallback()


def run_benchmark_job(job: BenchmarkJob, root: Path) -> str:
    """Train and log one benchmark run under ``root``; returns its run id."""
    import torch
    from stable_baselines3 import A2C, DQN, PPO
    from stable_baselines3.common.env_util import make_vec_env

    torch.set_num_threads(1)
    params = dict(SB3_PARAMS[job.algorithm])
    n_envs, arch = params.pop("n_envs"), params.pop("net_arch")
    spec = benchmark_run_spec(job)
    with offline_run(spec, root) as run:
        env = make_vec_env("CartPole-v1", n_envs=n_envs, seed=job.seed)
        cls = {"ppo": PPO, "a2c": A2C, "dqn": DQN}[job.algorithm]
        model = cls("MlpPolicy", env, seed=job.seed, device="cpu", verbose=0,
                    policy_kwargs={"net_arch": arch}, **params)
        model.learn(total_timesteps=job.total_timesteps, callback=_make_callback(run, job), log_interval=None)
        env.close()
    return spec.run_id
