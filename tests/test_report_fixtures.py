"""Warehouses for the score-matrix, compare, plot and report tests, built from RunRecords.

Nothing here depends on the sample data: each helper writes a few small, fully known runs through
:meth:`Warehouse.upsert_run`, so tests can state exactly what the statistics must find.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa

from runlab.sources import HISTORY_SCHEMA, RunRecord

HOSTILE = "evil \"q'\n<script>document.title='pwned'</script> {\\input{x}} 🦄 $x$ & %"


def history(curves: dict[str, Sequence[float]]) -> pa.Table:
    """Long-form history: one row per (step, metric); steps are 0, 10, 20 ..."""
    steps, metrics, values = [], [], []
    for metric, ys in curves.items():
        for i, y in enumerate(ys):
            steps.append(10 * i)
            metrics.append(metric)
            values.append(float(y))
    return pa.table({"step": steps, "metric": metrics, "value": values}, schema=HISTORY_SCHEMA)


def run(run_id: str, name: str, config: dict, curves: dict[str, Sequence[float]]) -> RunRecord:
    return RunRecord(
        run_id=f"wandb:ent/proj/{run_id}",
        source="wandb-offline",
        entity="ent",
        project="proj",
        name=name,
        state="finished",
        config=config,
        history=history(curves),
    )


def config_task_runs(
    methods: dict[str, float] | None = None,
    tasks: Sequence[str] = ("maze", "key-door", "arena"),
    seeds: int = 5,
    *,
    seed: int = 0,
    steps: int = 6,
    hostile: bool = False,
) -> list[RunRecord]:
    """One run per (method, task, seed); the task is config ``sim.task``; final reward ~ level + task."""
    methods = methods or {"ppo": 1.0, "dqn": 0.5, "random": 0.0}
    rng = np.random.default_rng(seed)
    out = []
    for m, level in methods.items():
        for j, t in enumerate(tasks):
            for s in range(seeds):
                final = level + 0.1 * j + rng.normal(0, 0.1)
                curve = np.linspace(0, final, steps)
                name = HOSTILE if hostile and not out else f"{m}_{t}_{s}"
                cfg = {"algo": {"name": m}, "sim": {"task": t}, "seed": s}
                out.append(run(f"{m}-{t}-{s}", name, cfg, {"overview/reward": curve, "losses/loss": -curve}))
    return out


def write(home: Path, records: Sequence[RunRecord]) -> Path:
    from runlab.warehouse import Warehouse

    with Warehouse.open(home) as wh:
        for r in records:
            wh.upsert_run(r)
    return home
