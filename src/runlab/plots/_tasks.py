"""Per-task views: task x method heatmap and the missing-data map."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from runlab.errors import InputError
from runlab.plots._style import new_figure, short


def text_colour(rgba: tuple[float, ...]) -> str:
    """Black or white, whichever reads better on a cell of colour ``rgba`` (WCAG relative luminance)."""

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(float(c)) for c in rgba[:3])
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    # Contrast against white (1.05 / (L + 0.05)) beats contrast against black ((L + 0.05) / 0.05) below ~0.18.
    return "white" if luminance < 0.179 else "black"


def _grid(table: pd.DataFrame, *, cmap: str, title: str, fmt: str, cbar: str, integer: bool = False) -> Figure:
    """A method x task grid with each cell's value written in the colour that reads on it."""
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
                colour = text_colour(image.cmap(image.norm(v))) if np.isfinite(v) else "black"
                ax.text(j, i, "—" if not np.isfinite(v) else format(v, fmt), ha="center", va="center", fontsize=7,
                        color=colour)
    bar = fig.colorbar(image, ax=ax, label=cbar)
    if integer:  # counts: ticks on whole numbers only (no 4.50 .. 5.50 for a colour bar of runs)
        from matplotlib.ticker import MaxNLocator

        bar.locator = MaxNLocator(integer=True)
        bar.update_ticks()
    ax.set_title(title)
    return fig


def plot_task_heatmap(table: pd.DataFrame, *, title: str = "score by task", cbar: str = "score") -> Figure:
    """Heatmap of a method x task table (e.g. mean score per cell); NaN cells are blank with a dash."""
    return _grid(table, cmap="viridis", title=title, fmt=".3g", cbar=cbar)


def plot_missing_data(counts: pd.DataFrame) -> Figure:
    """Runs per method x task; empty cells (no run at all) stand out in the darkest colour."""
    return _grid(counts.astype(float), cmap="cividis", title="runs per method and task", fmt=".0f", cbar="runs",
                 integer=True)
