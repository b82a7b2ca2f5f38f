"""Figures of the curve evaluation and the latent spaces (matplotlib, no pyplot state).

Each function draws one PNG and returns its path; matplotlib is imported inside, so importing
``runlab.curves`` stays light.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from runlab.configpath import config_value

if TYPE_CHECKING:
    from runlab.curves._evaluate import EvaluationResult
    from runlab.curves._predictor import CurvePredictor


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def plot_predicted_vs_actual(result: EvaluationResult, path: Path | str) -> Path:
    """Predicted vs actual final value per held-out run, one panel per config-task model."""
    rows = result.predictions["config"]
    fig = _figure(3.2 * len(rows), 3.2)
    axes = fig.subplots(1, len(rows), squeeze=False)[0]
    actual = result.actual[:, -1]
    lo, hi = float(np.nanmin(actual)), float(np.nanmax(actual))
    for ax, (name, o) in zip(axes, rows.items(), strict=True):
        ax.scatter(actual, o.mean[:, -1], s=8, alpha=0.6)
        ax.plot([lo, hi], [lo, hi], color="grey", lw=1, ls="--")
        rmse = result.scores["config"][name]["rmse"]
        ax.set_title(f"{name}\nRMSE {rmse:.3g}", fontsize=9)
        ax.set_xlabel("actual final")
    axes[0].set_ylabel("predicted final")
    out = Path(path)
    fig.savefig(out)
    return out


def plot_example_curves(result: EvaluationResult, path: Path | str, model: str = "vae-ensemble",
                        count: int = 6, seed: int = 0) -> Path:
    """A few held-out curves with the model's mean and interval band."""
    o = result.predictions["config"][model]
    idx = np.sort(np.random.default_rng(seed).choice(len(result.run_ids), min(count, len(result.run_ids)),
                                                     replace=False))
    cols = 3
    rows = int(np.ceil(len(idx) / cols))
    fig = _figure(3.2 * cols, 2.4 * rows)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for ax, i in zip(axes, idx, strict=False):
        ax.plot(result.grid, result.actual[i], color="black", lw=1, label="actual")
        ax.plot(result.grid, o.mean[i], color="C0", lw=1.5, label=model)
        if o.lower is not None and o.upper is not None:
            ax.fill_between(result.grid, o.lower[i], o.upper[i], color="C0", alpha=0.25,
                            label=f"{result.interval:.0%} interval")
        ax.set_title(str(result.run_ids[i]), fontsize=8)
    for ax in axes[len(idx):]:
        ax.set_visible(False)
    axes[0].legend(fontsize=7)
    out = Path(path)
    fig.savefig(out)
    return out


def _project(z: np.ndarray) -> np.ndarray:
    """First two principal components of ``z (N, D)``."""
    c = z - z.mean(axis=0)
    _, _, vt = np.linalg.svd(c, full_matrices=False)
    return c @ vt[:2].T if vt.shape[0] >= 2 else np.column_stack([c[:, 0], np.zeros(len(c))])


def plot_latent_space(predictor: CurvePredictor, configs: Sequence[Mapping[str, Any]], path: Path | str,
                      env_color: str | None = None, agent_color: str | None = None) -> Path:
    """2-D projections (PCA) of the environment and agent latents, coloured by a config value each."""
    env_z, agent_z = predictor.latents(configs)
    assert predictor.encoder_ is not None
    env_color = env_color or predictor.encoder_.env_columns[0].path
    agent_color = agent_color or predictor.encoder_.agent_columns[0].path
    fig = _figure(8.0, 3.6)
    axes = fig.subplots(1, 2)
    for ax, z, key, title in ((axes[0], env_z, env_color, "environment latent"),
                              (axes[1], agent_z, agent_color, "agent latent")):
        xy = _project(z)
        values = [config_value(c, key) for c in configs]
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        if numeric:
            sc = ax.scatter(xy[:, 0], xy[:, 1], c=np.asarray(values, float), s=10, cmap="viridis")
            fig.colorbar(sc, ax=ax, label=key)
        else:
            cats = sorted({str(v) for v in values})
            for j, cat in enumerate(cats[:10]):
                sel = np.asarray([str(v) == cat for v in values])
                ax.scatter(xy[sel, 0], xy[sel, 1], s=10, color=f"C{j}", label=cat[:30])
            ax.legend(fontsize=6, title=key, title_fontsize=7)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("PC 1")
        ax.set_ylabel("PC 2")
    out = Path(path)
    fig.savefig(out)
    return out
