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
        DemoStep("TensorBoard-logged runs next to the W&B runs (one report)", tensorboard_step),
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


def tensorboard_step(ctx: DemoContext) -> StepOutput:
    """CleanRL-style PPO logged to TensorBoard, ingested next to the W&B benchmark runs, in one report."""
    import pandas as pd

    from runlab.labels import RunLabeler
    from runlab.reports import build_report, load_config
    from runlab.sources.tensorboard import TensorBoardReader

    wh = ctx.warehouse
    report = wh.ingest(TensorBoardReader([ctx.samples_dir / "tensorboard"]).records(known=wh.sync_state))
    if report.failures:
        raise InputError(f"{len(report.failures)} TensorBoard sample runs could not be read: "
                         f"{[str(f) for f in report.failures[:3]]}")
    labeler = RunLabeler()
    labeler.add_config_rule("trainer.algorithm", label_column="method")
    labeler.add_config_rule("exp_name", label_column="method")
    labeler.apply(wh)
    cfg = load_config(EXAMPLES_DIR / "compare_benchmark.yaml", [
        "title=W&B-logged SB3 runs vs TensorBoard-logged CleanRL-style PPO",
        f"analysis.bootstrap_samples={ctx.bootstrap_samples}", "normalize=optimal",
        "runs=['runlab.benchmark.*', '*__cleanrl_ppo__*']"])
    files = build_report(wh, cfg, ctx.out_dir / "report_sources", notebook=False)
    est = pd.read_parquet(files.data_dir / "estimates.parquet")
    iqm = est[est["aggregate"] == "IQM"]
    numbers = {"tensorboard": {"runs": len(report.results) + len(report.skipped),
                               "iqm": {str(m): round(float(e), 6) for m, e in zip(iqm["method"], iqm["estimate"],
                                                                                   strict=True)}}}
    return StepOutput(numbers, {"report across W&B and TensorBoard runs": files.html})


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
    """Curriculum reward streams: pulled streams, the analysis report, LP replays (syllabus vs metta)."""
    from runlab.rewards import (
        LPScorer,
        analyze,
        load_streams,
        pull_streams,
        replay,
        write_analysis,
        write_replay,
    )

    out = ctx.out_dir / "curriculum"
    streams = load_streams(ctx.warehouse, runs=["runlab.curriculum.*"], group_by="trainer.curriculum.algorithm")
    pull_streams(streams, out / "streams")
    result = analyze(streams, keep_windows=True)
    report = write_analysis(streams, result, out / "analysis", title="Sample curriculum: LP reward streams")
    episodes = streams.episodes(group="learning_progress", seed="0")
    scorers = {"syllabus": LPScorer("syllabus", input="scaled"),
               "metta": LPScorer("metta", input="scaled", z_score_amplification=10.0)}
    replays = [replay(episodes, s) for s in scorers.values()]
    rep = write_replay(replays, out / "replay", titles=list(scorers))
    v = result.variance
    numbers = {
        "curriculum_samples": {str(g): int(n) for g, n in streams.data.groupby("group").size().items()},
        "curriculum_streams": len(streams),
        "curriculum_variance": {"ratio": round(v["ratio"], 6), "icc": round(v["icc"], 6)},
        "curriculum_recommendations": result.recommendations,
        "curriculum_replay": {name: {k: round(r.summary[k], 6) for k in ("gini_mean", "tracking_lag", "prob_noise")}
                              for name, r in zip(scorers, replays, strict=True)},
    }
    outputs = {"curriculum reward-stream report (open in a browser)": report.html,
               "curriculum LP replay": rep.figures["replay"], "pulled reward streams": out / "streams"}
    return StepOutput(numbers, outputs)


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
    """`runlab curves demo` on the 320 sample curves: a VAE ensemble trained, held-out curves predicted."""
    import numpy as np
    import pandas as pd

    from runlab.curves import CurveModelConfig, run_curves_demo

    out = ctx.out_dir / "curves"
    result = run_curves_demo(ctx.samples_dir, out, warehouse=ctx.warehouse,
                             config=CurveModelConfig(ensemble_size=3, num_epochs=30))
    runs = pd.read_parquet(ctx.samples_dir / "curves" / "runs.parquet")
    numbers = {
        "curves": {"runs": int(runs.shape[0]), "median_final_reward": float(np.median(runs["final_reward"]))},
        "curves_model": {"runs_used": result["runs"], "warehouse_runs": result.get("warehouse_runs"),
                         "held_out": result.get("held_out")},
    }
    return StepOutput(numbers, {"training-curve prediction (model, predictions, plots)": out})


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
