"""A synthetic curve family with known structure and known noise, in the ``samples/curves/`` layout.

Each run's plateau depends on its environment (``env.game.max_steps``, ``env.physics.gravity``)
and its learning speed on the agent (``trainer.optimizer.learning_rate``, ``trainer.gamma``); the
observed curve is the noiseless one plus independent Gaussian noise of standard deviation
``noise``. Knowing the truth is what lets a test check interval calibration and a pruner's
decisions against the answer instead of against the model itself.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np


def synthetic_mean_curve(config: dict[str, Any], steps: np.ndarray) -> np.ndarray:
    """The noiseless curve of ``config`` at ``steps``."""
    env, trainer = config["env"], config["trainer"]
    plateau = env["game"]["max_steps"] * (1.2 - env["physics"]["gravity"] / 20.0)
    rate = 4.0 * (np.log10(trainer["optimizer"]["learning_rate"]) + 5.0) * (trainer["gamma"] - 0.85) * 10
    return plateau * (1.0 - np.exp(-rate * steps / float(steps[-1])))


def synthetic_runs(num_runs: int = 120, *, points: int = 51, noise: float = 10.0, seed: int = 0,
                   max_step: int = 10_000) -> tuple[Any, Any]:
    """``(runs, curves)`` DataFrames: ``runs`` has ``run_id, config`` (JSON); ``curves`` has
    ``run_id, agent_step, reward``."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    steps = np.linspace(max_step / points, max_step, points)
    runs, rows = [], []
    for i in range(num_runs):
        config = {
            "env": {"game": {"max_steps": int(rng.choice([200, 500])), "num_agents": 1},
                    "physics": {"gravity": round(float(rng.uniform(5.0, 15.0)), 3)}},
            "trainer": {"optimizer": {"learning_rate": float(np.exp(rng.uniform(np.log(1e-4), np.log(1e-2))))},
                        "gamma": float(rng.uniform(0.9, 0.999))},
        }
        rid = f"syn-{i:04d}"
        runs.append({"run_id": rid, "config": json.dumps(config, sort_keys=True)})
        y = synthetic_mean_curve(config, steps) + rng.normal(0.0, noise, points)
        rows.append(pd.DataFrame({"run_id": rid, "agent_step": steps.astype(np.int64), "reward": y}))
    return pd.DataFrame(runs), pd.concat(rows, ignore_index=True)
