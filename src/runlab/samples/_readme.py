"""The ``README.md`` written next to a generated sample project's manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runlab.samples._tasks import CURRICULUM_TASKS, EVAL_SUITE


def write_readme(out: Path, sets: dict[str, dict[str, Any]]) -> Path:
    """Describe the project's layout, sets and metric names in ``out/README.md``."""
    lines = [
        "# runlab sample project",
        "",
        "Real RL runs, trained by `runlab samples generate` and logged through the real `wandb` client in",
        "offline mode (W&B project `runlab/runlab-samples`). `MANIFEST.json` records how they were made and",
        "the sha256 and size of every file; `runlab samples verify` checks them.",
        "",
        "Ingest everything: `runlab ingest samples/` (run folders are found under each set's `wandb/`).",
        "",
        "## Sets",
    ]
    if "benchmark" in sets:
        lines += ["", f"- `benchmark/wandb/` — {sets['benchmark'].get('offline_runs', 0)} runs: stable-baselines3 "
                  "PPO, A2C, DQN x seeds on CartPole-v1 (groups `benchmark.<algo>`), evaluated periodically on "
                  "the suite."]
    if "curriculum" in sets:
        lines += ["", f"- `curriculum/wandb/` — {sets['curriculum'].get('offline_runs', 0)} runs: multi-task PPO "
                  "where a uniform or learning-progress curriculum draws each episode's task. One history row per "
                  "completed episode: `env_task_reward/<task>` and `env_task_reward/<task>/sample_index`; per "
                  "epoch `curriculum/task_prob/<task>` and `env/*`; an `environment_configs` artifact with the "
                  "differential env-config history (also in each run's `files/artifacts/`)."]
    if "curves" in sets:
        c = sets["curves"]
        lines += ["", f"- `curves/` — {c.get('curve_runs', 0)} PPO training curves across CartPole physics and "
                  "agent hyperparameters: `curves.parquet` (run_id, agent_step, epoch, reward) and "
                  "`runs.parquet` (run_id, name, group, tags, seed, config as nested JSON, final_reward, "
                  f"final_eval); {c.get('offline_runs', 0)} of them also as W&B offline runs in `curves/wandb/`."]
    lines += [
        "",
        "## Metrics",
        "",
        "x-axes `metric/agent_step`, `metric/epoch`, `metric/total_time`; `overview/reward`, `overview/sps`, "
        "`overview/eval_reward`; `losses/*`; `env_agent/episode_return`, `env_agent/episode_length` (+ "
        "`.std_dev`); evaluation suite `eval_cartpole/<task>` for tasks "
        + ", ".join(f"`{v.name}`" for v in EVAL_SUITE) + ".",
        "",
        "Curriculum task names (data, sanitise before using them in paths): "
        + "; ".join(f"`{v.name}`" for v in CURRICULUM_TASKS) + ".",
        "",
    ]
    path = out / "README.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
