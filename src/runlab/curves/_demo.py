"""The curve-prediction demo: collect curves, train the model, predict held-out configurations.

The three steps follow the seed's ``collect_data`` / ``train_model`` / ``demo_predictions``
switches. Collecting reads the sample project's 320 curves (and, given a warehouse, the runs in
it); training holds out a fifth of the runs and saves a model directory; predicting scores the
held-out runs against the mean-curve baseline and draws the curves and the latent spaces.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from runlab.curves._baselines import MeanCurveBaseline
from runlab.curves._config import CurveModelConfig
from runlab.curves._dataset import CurveDataset
from runlab.curves._prediction import curve_scores
from runlab.curves._predictor import CurvePredictor
from runlab.errors import NotFoundError

if TYPE_CHECKING:
    from runlab.warehouse import Warehouse


def predictions_frame(pred: Any, run_ids: list[str], x_name: str, interval: float) -> Any:
    """Long form ``run_id, <x_name>, mean, lower, upper`` of a :class:`CurvePrediction`."""
    import pandas as pd

    lo, hi = pred.interval(interval) if pred.has_distribution else (pred.mean, pred.mean)
    n, length = pred.mean.shape
    return pd.DataFrame({"run_id": np.repeat(np.asarray(run_ids, dtype=object), length),
                         x_name: np.tile(pred.grid, n), "mean": pred.mean.ravel(),
                         "lower": lo.ravel(), "upper": hi.ravel()})


def run_curves_demo(samples_dir: Path | str, out_dir: Path | str, *, collect_data: bool = True,
                    train_model: bool = True, demo_predictions: bool = True, warehouse: Warehouse | None = None,
                    config: CurveModelConfig | None = None, warehouse_runs: Sequence[str] = ("runlab.curves.*",),
                    on_progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Run the chosen steps; returns what each produced (numbers and file paths).

    With ``warehouse``, collecting also reads ``warehouse_runs`` (the sample curve runs by name)
    through the warehouse, to show the same curves arrive by both paths.
    """
    from runlab.curves._plots import plot_latent_space

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    config = config or CurveModelConfig()
    model_dir = out / "model"
    summary: dict[str, Any] = {"model_dir": str(model_dir)}
    dataset = CurveDataset.from_files(Path(samples_dir) / "curves", curve_length=config.curve_length)
    if collect_data:
        (out / "dataset_report.txt").write_text(str(dataset.report) + "\n", encoding="utf-8")
        summary["runs"] = len(dataset)
        if warehouse is not None:
            wh_set = CurveDataset.from_warehouse(warehouse, list(warehouse_runs), curve_length=config.curve_length)
            summary["warehouse_runs"] = len(wh_set)
            summary["warehouse_report"] = str(wh_set.report)
    perm = np.random.default_rng(config.seed).permutation(len(dataset))
    test_idx, train_idx = np.sort(perm[: len(dataset) // 5]), np.sort(perm[len(dataset) // 5:])
    train, test = dataset.subset(train_idx), dataset.subset(test_idx)
    if train_model:
        predictor = CurvePredictor(config).fit(train, on_progress=on_progress)
        predictor.save(model_dir)
    elif (model_dir / "model.json").is_file():
        predictor = CurvePredictor.load(model_dir)
    else:
        raise NotFoundError(f"no trained model in {model_dir}", hint="run the demo with train_model=true first")
    if demo_predictions:
        pred = predictor.predict(test.configs)
        baseline = MeanCurveBaseline().fit(train).predict(test.configs)
        summary["held_out"] = {"vae-ensemble": curve_scores(pred, test.curves, level=config.interval),
                               "mean-curve": curve_scores(baseline, test.curves, level=config.interval)}
        frame = predictions_frame(pred, list(test.run_ids), "agent_step", config.interval)
        frame.to_parquet(out / "predictions.parquet", index=False)
        summary["predictions"] = str(out / "predictions.parquet")
        summary["latent_plot"] = str(plot_latent_space(predictor, dataset.configs, out / "latent_space.png",
                                                       env_color="env.physics.gravity",
                                                       agent_color="trainer.optimizer.learning_rate"))
        summary["curves_plot"] = str(_plot_held_out(pred, test, out / "held_out_curves.png", config.interval))
    return summary


def _plot_held_out(pred: Any, test: CurveDataset, path: Path, interval: float) -> Path:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 5), dpi=100, layout="constrained")
    axes = fig.subplots(2, 3).ravel()
    lo, hi = pred.interval(interval)
    for ax, i in zip(axes, range(min(6, len(test))), strict=False):
        ax.plot(test.grid, test.curves[i], color="black", lw=1, label="actual")
        ax.plot(pred.grid, pred.mean[i], color="C0", label="predicted")
        ax.fill_between(pred.grid, lo[i], hi[i], color="C0", alpha=0.25, label=f"{interval:.0%} interval")
        ax.set_title(test.run_ids[i], fontsize=8)
    axes[0].legend(fontsize=7)
    fig.savefig(path)
    return path
