"""``runlab demo``: the whole flow on the shipped sample project, from raw runs to every output.

The demo is a list of typed steps (:func:`demo_steps`), each a few library calls on a shared
:class:`DemoContext`; a step returns a :class:`StepOutput` (headline numbers for ``summary.json``
and the paths it wrote) and holds no analysis of its own, so what the demo shows is what a user
gets from the same calls. Every step is seeded: running the demo twice gives the same numbers.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runlab.errors import InputError

if TYPE_CHECKING:
    from runlab.warehouse import Warehouse

#: The comparison config of the sample benchmark (also a worked example for users).
EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"


@dataclass
class DemoContext:
    """What the steps share: where the samples are, where outputs go, the settings, the warehouse."""

    samples_dir: Path
    out_dir: Path
    bootstrap_samples: int = 10_000
    sweep_trials: int = 10
    opened: Warehouse | None = None

    @property
    def warehouse(self) -> Warehouse:
        """The demo warehouse (opened by the ingest step)."""
        if self.opened is None:
            from runlab.warehouse import Warehouse

            self.opened = Warehouse.open(self.out_dir / "warehouse")
        return self.opened


@dataclass(frozen=True)
class StepOutput:
    """A step's headline numbers (merged into ``summary.json``) and the paths it wrote."""

    numbers: Mapping[str, Any] = field(default_factory=dict)
    outputs: Mapping[str, Path] = field(default_factory=dict)


@dataclass(frozen=True)
class DemoStep:
    """One labelled step of the demo."""

    label: str
    run: Callable[[DemoContext], StepOutput]


@dataclass
class DemoResult:
    """What the demo wrote, and how long each step took."""

    out_dir: Path
    outputs: dict[str, Path] = field(default_factory=dict)
    """Human label -> path."""
    numbers: dict[str, Any] = field(default_factory=dict)
    """Headline numbers (also written to ``summary.json``); identical across runs."""
    timings: dict[str, float] = field(default_factory=dict)


def demo_steps(sweep_trials: int = 10) -> list[DemoStep]:
    """The steps of the demo, in order."""
    return [
        DemoStep("verify the sample data", verify_step),
        DemoStep("ingest W&B offline runs", ingest_step),
        DemoStep("label runs", label_step),
        DemoStep("compare algorithms (report, notebook, LaTeX, CSV)", report_step),
        DemoStep("export tidy frames", export_step),
        DemoStep("curriculum reward streams", curriculum_step),
        DemoStep("environment configurations in play", envconfig_step),
        DemoStep("training curves", curves_step),
        DemoStep(f"Protein sweep ({sweep_trials} PPO trials)", sweep_step),
    ]


def run_demo(
    out_dir: str | Path,
    *,
    samples: str | Path | None = None,
    sweep_trials: int = 10,
    bootstrap_samples: int = 10_000,
    on_step: Callable[[str], None] | None = None,
) -> DemoResult:
    """Run every step on the sample project and write the results under ``out_dir``.

    ``out_dir`` is recreated (a demo output folder holds nothing else; a folder that does not look
    like one is refused rather than deleted).
    """
    from runlab.samples import shipped_samples_dir

    out = Path(out_dir).expanduser().resolve()
    _fresh_dir(out)
    samples_dir = Path(samples).expanduser().resolve() if samples else shipped_samples_dir()
    ctx = DemoContext(samples_dir=samples_dir, out_dir=out, bootstrap_samples=bootstrap_samples,
                      sweep_trials=sweep_trials)
    res = DemoResult(out_dir=out)
    try:
        for step in demo_steps(sweep_trials):
            if on_step is not None:
                on_step(step.label)
            t0 = time.perf_counter()
            output = step.run(ctx)
            res.timings[step.label] = round(time.perf_counter() - t0, 2)
            res.numbers.update(output.numbers)
            res.outputs.update(output.outputs)
    finally:
        if ctx.opened is not None:
            ctx.opened.close()
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


# -- steps ------------------------------------------------------------------------------------
def verify_step(ctx: DemoContext) -> StepOutput:
    """The shipped sample files match their manifest (sizes and hashes)."""
    from runlab.samples import verify_samples

    verify_samples(ctx.samples_dir)
    return StepOutput()


def ingest_step(ctx: DemoContext) -> StepOutput:
    """Every W&B offline run of the sample project into a fresh warehouse."""
    from runlab.sources.wandb_offline import WandBOfflineReader

    wh = ctx.warehouse
    report = wh.ingest(WandBOfflineReader([ctx.samples_dir]).records(known=wh.sync_state))
    if report.failures:
        raise InputError(f"{len(report.failures)} sample runs could not be read: "
                         f"{[str(f) for f in report.failures[:3]]}")
    runs = wh.runs()
    return StepOutput({"runs_ingested": len(runs), "history_rows": int(runs["history_rows"].sum())},
                      {"warehouse (runlab --home)": ctx.out_dir / "warehouse"})


def label_step(ctx: DemoContext) -> StepOutput:
    """Methods and curricula as labels, from config values."""
    from runlab.labels import RunLabeler

    labeler = RunLabeler()
    labeler.add_config_rule("trainer.algorithm", label_column="method")
    labeler.add_config_rule("trainer.curriculum.algorithm", label_column="curriculum")
    return StepOutput({"labels": len(labeler.apply(ctx.warehouse))})


def report_step(ctx: DemoContext) -> StepOutput:
    """PPO vs A2C vs DQN over the evaluation suite: HTML, executed notebook, LaTeX, CSV."""
    import pandas as pd

    from runlab.reports import build_report, load_config

    cfg = load_config(EXAMPLES_DIR / "compare_benchmark.yaml",
                      [f"analysis.bootstrap_samples={ctx.bootstrap_samples}", "normalize=optimal"])
    files = build_report(ctx.warehouse, cfg, ctx.out_dir / "report")
    est = pd.read_parquet(files.data_dir / "estimates.parquet")
    numbers = {"estimates": {f"{r.method}/{r.aggregate}": [round(r.estimate, 6), round(r.lower, 6), round(r.upper, 6)]
                             for r in est.itertuples()}}
    outputs = {"report (open in a browser)": files.html, "LaTeX tables": files.out_dir / "tables",
               "figures": files.out_dir / "figures"}
    if files.notebook is not None:
        outputs["executed notebook"] = files.notebook
    return StepOutput(numbers, outputs)


def export_step(ctx: DemoContext) -> StepOutput:
    """Long history, the run table, and reward curves aligned on agent steps, as CSV / Parquet."""
    from runlab.frames import export_frame, export_history, export_runs, tidy_frame

    csv = ctx.out_dir / "csv"
    csv.mkdir(exist_ok=True)
    rows = export_history(ctx.warehouse, csv / "history_benchmark.parquet", runs=["runlab.benchmark.*"])
    export_runs(ctx.warehouse, csv / "runs.csv")
    frame = tidy_frame(ctx.warehouse, runs=["runlab.benchmark.*"], metrics=["overview/reward", "overview/eval_reward"],
                       config_params=["trainer.algorithm", "seed"], x_axis="metric/agent_step",
                       interpolation="linear", grid=41)
    export_frame(frame, csv / "reward_curves.csv")
    return StepOutput({"history_rows_exported": int(rows)}, {"CSV / Parquet exports": csv})


def curriculum_step(ctx: DemoContext) -> StepOutput:
    """Per-task reward streams of the curriculum runs, in completion order, plus a figure."""
    import numpy as np
    import pandas as pd

    from runlab.plots import new_figure, palette, short_label

    wh = ctx.warehouse
    ids = wh.resolve_runs(["runlab.curriculum.*"])
    hist = wh.history(ids, ["env_task_reward/*"])
    if hist.empty:
        return StepOutput()
    names = wh.runs(ids).set_index("run_id")
    is_index = hist["metric"].str.endswith("/sample_index")
    rewards = hist[~is_index].copy()
    rewards["task"] = rewards["metric"].str.removeprefix("env_task_reward/")
    rewards["curriculum"] = rewards["run_id"].map(lambda r: names.loc[r, "config"]["trainer"]["curriculum"]["algorithm"])
    rewards["seed"] = rewards["run_id"].map(lambda r: names.loc[r, "config"]["seed"])
    rewards = rewards.sort_values(["run_id", "task", "step"])
    rewards["sample_index"] = rewards.groupby(["run_id", "task"]).cumcount()
    out = ctx.out_dir / "curriculum"
    out.mkdir(exist_ok=True)
    rewards[["run_id", "curriculum", "seed", "task", "sample_index", "step", "value"]].rename(
        columns={"value": "reward"}).to_csv(out / "reward_streams.csv", index=False)
    summary = rewards.groupby(["curriculum", "task"])["value"].agg(samples="count", mean_reward="mean").reset_index()
    summary.to_csv(out / "task_summary.csv", index=False)
    groups = list(rewards.groupby("curriculum"))
    fig, axes = new_figure(5.5 * len(groups), 4, ncols=len(groups))
    colors = palette(sorted(rewards["task"].unique()))
    for ax, (cur, part) in zip(np.atleast_1d(axes), groups, strict=True):
        for task, stream in part.groupby("task"):
            mean = stream.groupby("sample_index")["value"].mean().rolling(25, min_periods=1).mean()
            ax.plot(mean.index, mean.values, color=colors[task], label=short_label(task), lw=1.2)
        ax.set_title(f"{short_label(cur)} curriculum: reward per task sample (rolling mean 25)", fontsize=9)
    fig.savefig(out / "reward_streams.png", dpi=110, bbox_inches="tight")
    samples = {str(k): int(v) for k, v in pd.Series(summary.groupby("curriculum")["samples"].sum()).items()}
    return StepOutput({"curriculum_samples": samples}, {"curriculum reward streams": out})


def envconfig_step(ctx: DemoContext) -> StepOutput:
    """`runlab env-configs` on a curriculum run: the report, a mid-training view, exports, figures."""
    from runlab.envconfig import (
        export_csv,
        export_sequence,
        load_history,
        summary,
        summary_text,
        write_figures,
    )

    out = ctx.out_dir / "env_configs"
    out.mkdir(parents=True, exist_ok=True)
    hist = load_history("curr-lp-s0", warehouse=ctx.warehouse)
    s = summary(hist)
    (out / "report.txt").write_text(summary_text(s), encoding="utf-8")
    write_figures(hist, out)
    rows = export_csv(hist, out / "key_parameters.csv")
    states = export_sequence(hist, out / "sequence.jsonl")
    mid = hist.at_epoch(hist.spans[-1].last_epoch // 2)
    numbers = {"env_configs": {"changes": len(s["changes"]), "csv_rows": rows, "states": states,
                               "tasks_at_midpoint": [t.task for t in mid.tasks]}}
    return StepOutput(numbers, {"environment configurations": out})


def curves_step(ctx: DemoContext) -> StepOutput:
    """The curve set (hundreds of runs across env and agent parameters): a figure and a summary."""
    import json as _json

    import matplotlib
    import numpy as np
    import pandas as pd

    from runlab.plots import new_figure

    src = ctx.samples_dir / "curves"
    curves = pd.read_parquet(src / "curves.parquet")
    runs = pd.read_parquet(src / "runs.parquet")
    gravity = runs.set_index("run_id")["config"].map(lambda s: _json.loads(s)["env"]["physics"]["gravity"])
    out = ctx.out_dir / "curves"
    out.mkdir(exist_ok=True)
    fig, ax = new_figure(7, 4)
    norm = (gravity - gravity.min()) / max(gravity.max() - gravity.min(), 1e-9)
    cmap = matplotlib.colormaps["viridis"]
    for run_id, part in curves.groupby("run_id"):
        ax.plot(part["agent_step"], part["reward"], color=cmap(float(norm[run_id])), lw=0.5, alpha=0.5)
    ax.set_title(f"{runs.shape[0]} PPO training curves (colour: gravity)")
    fig.savefig(out / "curves.png", dpi=110, bbox_inches="tight")
    final = runs[["run_id", "name", "group", "final_reward"]].assign(gravity=gravity.values)
    final.to_csv(out / "final_rewards.csv", index=False)
    numbers = {"curves": {"runs": int(runs.shape[0]), "median_final_reward": float(np.median(runs["final_reward"]))}}
    return StepOutput(numbers, {"training curves": out})


def sweep_step(ctx: DemoContext) -> StepOutput:
    """A short Protein sweep of a real PPO trainer, down to a best-params Hydra patch and plots."""
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

    home = ctx.out_dir / "warehouse"
    config = EXAMPLES_DIR / "cartpole_sweep.yaml"
    init_sweep(home, "cartpole_ppo", load_sweep_config(config).to_dict())
    command = [sys.executable, str(EXAMPLES_DIR / "cartpole_trainer.py")]
    run_sweep(home, "cartpole_ppo", command, options=RunnerOptions(max_trials=ctx.sweep_trials, parallel=1, seed=0))
    store = open_store(home, "cartpole_ppo")
    try:
        trials = store.trials("cartpole_ppo")
        cfg = load_sweep_config(config)
        best = best_trials(trials, cfg.goal, top_n=1, sweep="cartpole_ppo")
        out = ctx.out_dir / "sweep"
        out.mkdir(exist_ok=True)
        patch = write_patch(best[0], "cartpole_ppo", out)
        save_sweep_plots(trials, cfg, out, name="cartpole_ppo")
    finally:
        store.close()
    numbers = {"sweep": {"trials": len(trials), "best_score": best[0].score, "best_params": best[0].params}}
    return StepOutput(numbers, {"sweep (best-params Hydra patch, plots)": Path(patch).parent})
