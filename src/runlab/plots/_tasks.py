"""Per-task views: task x method heatmap and the missing-data map."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from runlab.errors import InputError
from runlab.plots._style import new_figure, short


def _grid(table: pd.DataFrame, *, cmap: str, title: str, fmt: str, cbar: str) -> Figure:
    if table.empty:
        raise InputError("the table is empty: nothing to plot")
    values = table.to_numpy(dtype=float)
    rows, cols = values.shape
    fig, ax = new_figure(max(4.0, 0.7 * cols + 2.5), max(2.5, 0.45 * rows + 1.5))
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, aspect="auto")
    ax.set_xticks(range(cols), [short(c, 24) for c in table.columns], rotation=45, ha="right")
    ax.set_yticks(range(rows), [short(r, 24) for r in table.index])
    if rows * cols <= 400:
        for i in range(rows):
            for j in range(cols):
                v = values[i, j]
                ax.text(j, i, "—" if not np.isfinite(v) else format(v, fmt), ha="center", va="center", fontsize=7)
    fig.colorbar(image, ax=ax, label=cbar)
    ax.set_title(title)
    return fig


def plot_task_heatmap(table: pd.DataFrame, *, title: str = "score by task", cbar: str = "score") -> Figure:
    """Heatmap of a method x task table (e.g. mean score per cell); NaN cells are blank with a dash."""
    return _grid(table, cmap="viridis", title=title, fmt=".3g", cbar=cbar)


def plot_missing_data(counts: pd.DataFrame) -> Figure:
    """Runs per method x task; empty cells (no run at all) stand out in the darkest colour."""
    return _grid(counts.astype(float), cmap="cividis", title="runs per method and task", fmt=".0f", cbar="runs")
