"""``runlab demo``: the whole flow on the shipped sample project, from raw runs to every output.

Steps: verify the sample data against its manifest, ingest the W&B offline runs into a fresh
warehouse, label them, compare the algorithms (report HTML, executed notebook, LaTeX, CSV),
export tidy frames, summarise the curriculum and curve sets, and run a short Protein sweep of a
real PPO trainer. Every step is seeded, so running the demo twice gives the same numbers.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runlab.errors import InputError

#: The comparison config of the sample benchmark (also a worked example for users).
EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"


@dataclass
class DemoResult:
    """What the demo wrote, and how long each step took."""

    out_dir: Path
    outputs: dict[str, Path] = field(default_factory=dict)
    """Human label -> path."""
    numbers: dict[str, Any] = field(default_factory=dict)
    """Headline numbers (also written to ``summary.json``); identical across runs."""
    timings: dict[str, float] = field(default_factory=dict)


Step = Callable[[], None]


def run_demo(
    out_dir: str | Path,
    *,
    samples: str | Path | None = None,
    sweep_trials: int = 10,
    bootstrap_samples: int = 10_000,
    on_step: Callable[[str], None] | None = None,
) -> DemoResult:
    """Run every analysis on the sample project and write the results under ``out_dir``.

    ``out_dir`` is recreated (a demo output folder holds nothing else; a folder that does not look
    like one is refused rather than deleted).
    """
    from runlab.samples import shipped_samples_dir, verify_samples

    out = Path(out_dir).expanduser().resolve()
    _fresh_dir(out)
    samples_dir = Path(samples).expanduser().resolve() if samples else shipped_samples_dir()
    res = DemoResult(out_dir=out)
    ctx: dict[str, Any] = {"samples": samples_dir, "out": out, "res": res, "reps": bootstrap_samples}

    steps: list[tuple[str, Callable[[dict[str, Any]], None]]] = [
        ("verify the sample data", lambda c: verify_samples(c["samples"])),
        ("ingest W&B offline runs", _ingest),
        ("label runs", _label),
        ("compare algorithms (report, notebook, LaTeX, CSV)", _report),
        ("export tidy frames", _export),
        ("curriculum reward streams", _curriculum),
        ("training curves", _curves),
        (f"Protein sweep ({sweep_trials} PPO trials)", lambda c: _sweep(c, sweep_trials)),
    ]
    for label, fn in steps:
        if on_step is not None:
            on_step(label)
        t0 = time.perf_counter()
        fn(ctx)
        res.timings[label] = round(time.perf_counter() - t0, 2)
    if "wh" in ctx:
        ctx["wh"].close()
    (out / "summary.json").write_text(json.dumps(res.numbers, indent=2, sort_keys=True, default=str) + "\n")
    res.outputs["headline numbers"] = out / "summary.json"
    return res


def _fresh_dir(out: Path) -> None:
    if out.exists():
        marker = out / ".runlab-demo"
        if any(out.iterdir()) and not marker.exists():
            raise InputError(
                f"{out} exists and is not a runlab demo output folder",
                hint="choose another --out folder, or empty this one first",
            )
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / ".runlab-demo").write_text("written by `runlab demo`; the demo recreates this folder\n")


def _ingest(c: dict[str, Any]) -> None:
    from runlab.warehouse import Warehouse, ingest_offline

    wh = Warehouse.open(c["out"] / "warehouse")
    c["wh"] = wh
    summary = ingest_offline(wh, [c["samples"]])
    if summary.failures:
        raise InputError(f"{len(summary.failures)} sample runs could not be read: {summary.failures[:3]}")
    runs = wh.runs()
    c["res"].numbers["runs_ingested"] = len(runs)
    c["res"].numbers["history_rows"] = int(runs["history_rows"].sum())
    c["res"].outputs["warehouse (runlab --home)"] = c["out"] / "warehouse"


def _label(c: dict[str, Any]) -> None:
    from runlab.labels import RunLabeler

    labeler = RunLabeler()
    labeler.add_config_rule("trainer.algorithm", label_column="method")
    labeler.add_config_rule("trainer.curriculum.algorithm", label_column="curriculum")
    labels = labeler.apply(c["wh"])
    c["res"].numbers["labels"] = len(labels)


def _report(c: dict[str, Any]) -> None:
    from runlab.reports import build_report, load_config

    cfg = load_config(
        EXAMPLES_DIR / "compare_benchmark.yaml",
        [f"analysis.bootstrap_samples={c['reps']}", "normalize=optimal"],
    )
    files = build_report(c["wh"], cfg, c["out"] / "report")
    import pandas as pd

    est = pd.read_parquet(files.data_dir / "estimates.parquet")
    c["res"].numbers["estimates"] = {
        f"{row.method}/{row.aggregate}": [round(row.estimate, 6), round(row.lower, 6), round(row.upper, 6)]
        for row in est.itertuples()
    }
    c["res"].outputs["report (open in a browser)"] = files.html
    if files.notebook is not None:
        c["res"].outputs["executed notebook"] = files.notebook
    c["res"].outputs["LaTeX tables"] = files.out_dir / "tables"
    c["res"].outputs["figures"] = files.out_dir / "figures"


def _export(c: dict[str, Any]) -> None:
    from runlab.frames import export_frame, export_history, export_runs, tidy_frame

    csv = c["out"] / "csv"
    csv.mkdir(exist_ok=True)
    rows = export_history(c["wh"], csv / "history_benchmark.parquet", runs=["runlab.benchmark.*"])
    export_runs(c["wh"], csv / "runs.csv")
    frame = tidy_frame(
        c["wh"],
        runs=["runlab.benchmark.*"],
        metrics=["overview/reward", "overview/eval_reward"],
        config_params=["trainer.algorithm", "seed"],
        x_axis="metric/agent_step",
        interpolation="linear",
        grid=41,
    )
    export_frame(frame, csv / "reward_curves.csv")
    c["res"].numbers["history_rows_exported"] = int(rows)
    c["res"].outputs["CSV / Parquet exports"] = csv


def _curriculum(c: dict[str, Any]) -> None:
    """Per-task reward streams of the curriculum runs, in completion order, plus a figure."""
    import numpy as np
    import pandas as pd

    from runlab.plots import new_figure, palette
    from runlab.plots._style import short

    wh = c["wh"]
    ids = wh.resolve_runs(["runlab.curriculum.*"])
    hist = wh.history(ids, ["env_task_reward/*"])
    if hist.empty:
        return
    names = wh.runs(ids).set_index("run_id")
    is_index = hist["metric"].str.endswith("/sample_index")
    rewards = hist[~is_index].copy()
    rewards["task"] = rewards["metric"].str.removeprefix("env_task_reward/")
    rewards["curriculum"] = rewards["run_id"].map(lambda r: names.loc[r, "config"]["trainer"]["curriculum"]["algorithm"])
    rewards["seed"] = rewards["run_id"].map(lambda r: names.loc[r, "config"]["seed"])
    rewards = rewards.sort_values(["run_id", "task", "step"])
    rewards["sample_index"] = rewards.groupby(["run_id", "task"]).cumcount()
    out = c["out"] / "curriculum"
    out.mkdir(exist_ok=True)
    rewards[["run_id", "curriculum", "seed", "task", "sample_index", "step", "value"]].rename(
        columns={"value": "reward"}
    ).to_csv(out / "reward_streams.csv", index=False)
    summary = (
        rewards.groupby(["curriculum", "task"])["value"]
        .agg(samples="count", mean_reward="mean")
        .reset_index()
    )
    summary.to_csv(out / "task_summary.csv", index=False)
    groups = list(rewards.groupby("curriculum"))
    fig, axes = new_figure(5.5 * len(groups), 4, ncols=len(groups))
    colors = palette(sorted(rewards["task"].unique()))
    for ax, (cur, part) in zip(np.atleast_1d(axes), groups, strict=True):
        for task, stream in part.groupby("task"):
            mean = stream.groupby("sample_index")["value"].mean().rolling(25, min_periods=1).mean()
            ax.plot(mean.index, mean.values, color=colors[task], label=short(task), lw=1.2)
        ax.set_title(f"{short(cur)} curriculum: reward per task sample (rolling mean 25)", fontsize=9)
        ax.set_xlabel("sample index (completion order within a task)")
        ax.set_ylabel("episode reward")
    np.atleast_1d(axes)[-1].legend(fontsize=7)
    fig.savefig(out / "reward_streams.png", dpi=110, bbox_inches="tight")
    c["res"].numbers["curriculum_samples"] = {
        str(k): int(v) for k, v in pd.Series(summary.groupby("curriculum")["samples"].sum()).items()
    }
    c["res"].outputs["curriculum reward streams"] = out


def _curves(c: dict[str, Any]) -> None:
    """The curve set (hundreds of runs across env and agent parameters): a figure and a summary."""
    import json as _json

    import numpy as np
    import pandas as pd

    from runlab.plots import new_figure

    src = c["samples"] / "curves"
    curves = pd.read_parquet(src / "curves.parquet")
    runs = pd.read_parquet(src / "runs.parquet")
    gravity = runs.set_index("run_id")["config"].map(lambda s: _json.loads(s)["env"]["physics"]["gravity"])
    out = c["out"] / "curves"
    out.mkdir(exist_ok=True)
    fig, ax = new_figure(7, 4)
    norm = (gravity - gravity.min()) / max(gravity.max() - gravity.min(), 1e-9)
    import matplotlib

    cmap = matplotlib.colormaps["viridis"]
    for run_id, part in curves.groupby("run_id"):
        ax.plot(part["agent_step"], part["reward"], color=cmap(float(norm[run_id])), lw=0.5, alpha=0.5)
    ax.set_xlabel("metric/agent_step")
    ax.set_ylabel("episode reward")
    ax.set_title(f"{runs.shape[0]} PPO training curves (colour: gravity)")
    fig.savefig(out / "curves.png", dpi=110, bbox_inches="tight")
    final = runs[["run_id", "name", "group", "final_reward"]].assign(gravity=gravity.values)
    final.to_csv(out / "final_rewards.csv", index=False)
    c["res"].numbers["curves"] = {
        "runs": int(runs.shape[0]),
        "median_final_reward": float(np.median(runs["final_reward"])),
    }
    c["res"].outputs["training curves"] = out


def _sweep(c: dict[str, Any], trials: int) -> None:
    from runlab.sweep import (
        RunnerOptions,
        best_trials,
        init_sweep,
        load_sweep_config,
        open_store,
        run_sweep,
        save_sweep_plots,
        write_patch,
    )

    home = c["out"] / "warehouse"
    config = EXAMPLES_DIR / "cartpole_sweep.yaml"
    init_sweep(home, "cartpole_ppo", load_sweep_config(config).to_dict())
    command = [sys.executable, str(EXAMPLES_DIR / "cartpole_trainer.py")]
    run_sweep(home, "cartpole_ppo", command, options=RunnerOptions(max_trials=trials, parallel=1, seed=0))
    store = open_store(home, "cartpole_ppo")
    try:
        all_trials = store.trials("cartpole_ppo")
        cfg = load_sweep_config(config)
        best = best_trials(all_trials, cfg.goal, top_n=1, sweep="cartpole_ppo")
        out = c["out"] / "sweep"
        out.mkdir(exist_ok=True)
        patch = write_patch(best[0], "cartpole_ppo", out)
        save_sweep_plots(all_trials, cfg, out, name="cartpole_ppo")
        c["res"].numbers["sweep"] = {
            "trials": len(all_trials),
            "best_score": best[0].score,
            "best_params": best[0].params,
        }
        c["res"].outputs["sweep (best-params Hydra patch, plots)"] = patch.parent if hasattr(patch, "parent") else out
    finally:
        store.close()
