"""Figures for ``--output-dir``: tasks in play over time, task probabilities, key parameters.

Matplotlib is imported here only (Agg backend). Task names are drawn as plain text: ``$`` is
escaped so a name never becomes mathtext, and names never become file names.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runlab.envconfig._history import ConfigHistory
from runlab.envconfig._keys import KeyParams
from runlab.envconfig._report import printable

MAX_TASK_ROWS = 40


def _label(text: str, limit: int = 48) -> str:
    text = printable(text).replace("$", r"\$")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def write_figures(hist: ConfigHistory, out_dir: Path,
                  key_params: Mapping[str, str] | KeyParams | None = None) -> list[Path]:
    """Write ``timeline.png``, ``probabilities.png`` and ``key_parameters.png``; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    frame = hist.to_frame(key_params)
    tasks = hist.tasks()[:MAX_TASK_ROWS]
    paths = []
    for name, draw in (("timeline.png", _timeline), ("probabilities.png", _probabilities),
                       ("key_parameters.png", _key_params)):
        fig = draw(plt, frame, tasks)
        path = out_dir / name
        fig.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(fig)
        paths.append(path)
    return paths


def _timeline(plt: Any, frame: Any, tasks: list[str]) -> Any:
    """Gantt-like: one row per task, a bar over each epoch range it was in play (darker = more envs)."""
    fig, ax = plt.subplots(figsize=(10, 1.2 + 0.35 * max(1, len(tasks))))
    most = max(1, int(frame["num_envs"].max())) if len(frame) else 1
    for row, task in enumerate(tasks):
        part = frame[frame["task"] == task]
        bars = [(s, max(e - s, 0) + 1) for s, e in zip(part["epoch_start"], part["epoch_end"], strict=True)]
        alphas = (0.25 + 0.75 * part["num_envs"] / most).tolist()
        for (start, width), alpha in zip(bars, alphas, strict=True):
            ax.broken_barh([(start, width)], (row - 0.4, 0.8), alpha=alpha, color="tab:blue")
    ax.set_yticks(range(len(tasks)), [_label(t) for t in tasks])
    ax.set_xlabel("epoch")
    ax.set_title("Tasks in play (shade: share of environments)")
    return fig


def _probabilities(plt: Any, frame: Any, tasks: list[str]) -> Any:
    fig, ax = plt.subplots(figsize=(10, 4))
    for task in tasks:
        part = frame[(frame["task"] == task) & frame["probability"].notna()]
        part = part.drop_duplicates("epoch_start")
        if len(part):
            ax.step(part["epoch_start"], part["probability"], where="post", label=_label(task, 32))
    ax.set_xlabel("epoch")
    ax.set_ylabel("sampling probability")
    ax.set_title("Task probabilities over time (while in play)")
    if tasks:
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def _key_params(plt: Any, frame: Any, tasks: list[str]) -> Any:
    """Env-weighted mean of each numeric key parameter over the envs in play, per span."""
    base = {"segment", "epoch_start", "epoch_end", "agent_step_start", "agent_step_end", "epochs_recorded",
            "task", "config_hash", "num_envs", "probability"}
    import pandas as pd

    params = [c for c in frame.columns if c not in base and pd.api.types.is_numeric_dtype(frame[c])]
    fig, axes = plt.subplots(max(1, len(params)), 1, figsize=(10, 1.8 * max(1, len(params))), squeeze=False)
    for ax, p in zip(axes[:, 0], params, strict=False):
        part = frame[frame[p].notna()]
        w = part["num_envs"] * part[p]
        mean = (w.groupby(part["epoch_start"]).sum() / part["num_envs"].groupby(part["epoch_start"]).sum())
        ax.step(mean.index, mean.to_numpy(), where="post")
        ax.set_ylabel(_label(str(p), 24), fontsize="small")
    axes[-1, 0].set_xlabel("epoch")
    axes[0, 0].set_title("Key parameters over time (mean over environments in play)")
    return fig
