"""The report's figures, built once from an :class:`Analysis` and rendered to PNG."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from runlab import plots
from runlab.compare import CompareResult
from runlab.errors import InputError
from runlab.reports._analysis import Analysis
from runlab.reports._efficiency import Efficiency
from runlab.reports._headline import title_of


@dataclass(frozen=True)
class NamedFigure:
    """A figure with a file-safe key (``<n>_<kind>``), a title and the comparison it belongs to."""

    key: str
    title: str
    comparison: str
    figure: Figure

    @property
    def kind(self) -> str:
        """What the figure shows (``intervals``, ``profile``, ``efficiency`` ...): the key after ``<n>_``."""
        return self.key.split("_", 1)[1]

    def png(self, dpi: int = 100) -> bytes:
        buf = io.BytesIO()
        self.figure.savefig(buf, format="png", dpi=dpi)
        return buf.getvalue()


@contextlib.contextmanager
def style(name: str) -> Iterator[None]:
    """Apply a matplotlib style by name (``seaborn`` = seaborn's whitegrid look)."""
    import matplotlib.style as mstyle

    resolved = {"seaborn": "seaborn-v0_8-whitegrid", "default": "default"}.get(name, name)
    if resolved not in mstyle.available and resolved != "default":
        raise InputError(
            f"visualization.style must be a matplotlib style, got {name!r}",
            hint=f"use 'default', 'seaborn' or one of {sorted(mstyle.available)[:8]}...",
        )
    with mstyle.context(resolved):
        yield


def comparison_figures(index: int, name: str, res: CompareResult, palette_name: str) -> list[NamedFigure]:
    """All figures of one comparison, in report order."""
    colors = plots.palette(res.matrix.methods, palette_name)
    label = "normalised score" if res.matrix.normalize else title_of(str(res.matrix.metric))
    scores = res.matrix.to_frame()
    out = [
        ("intervals", "Aggregate estimates with CIs", plots.plot_interval_estimates(res.estimates, colors=colors, xlabel=label)),
        ("bars", "IQM per method", plots.plot_bars(res.estimates, res.estimates["aggregate"].iloc[0] if "IQM" not in set(res.estimates["aggregate"]) else "IQM", colors=colors)),
    ]
    if not res.improvement.empty:
        out.append(("improvement", "Probability of improvement", plots.plot_probability_of_improvement(res.improvement)))
    if res.profile is not None:
        ylabel = "fraction of runs with score > τ" if res.matrix.higher_is_better else "fraction of runs with score < τ"
        fig = plots.plot_performance_profile(
            res.profile.taus, res.profile.points, res.profile.intervals, colors=colors, xlabel=label, ylabel=ylabel
        )
        out.append(("profile", "Performance profile", fig))
    out.append(("ecdf", "Score distribution (ECDF)", plots.plot_ecdf(res.matrix.scores, colors=colors, xlabel=label)))
    out.append(("violin_method", "Scores by method", plots.plot_violins(scores, by="method", colors=colors)))
    if len(res.matrix.tasks) > 1:
        out.append(("violin_task", "Scores by task", plots.plot_violins(scores, by="task")))
    cell = scores.pivot_table(index="method", columns="task", values="score", aggfunc="mean")
    out.append(("heatmap", "Mean score per method and task", plots.plot_task_heatmap(cell, cbar=label)))
    out.append(("missing", "Runs per method and task", plots.plot_missing_data(res.matrix.missing.counts)))
    return [NamedFigure(f"{index}_{k}", t, name, f) for k, t, f in out]


def report_figures(analysis: Analysis) -> list[NamedFigure]:
    """Every figure of the report under the configured style and palette."""
    vis = analysis.config.visualization
    figs: list[NamedFigure] = []
    with style(vis.style):
        for i, (name, res) in enumerate(analysis.results.items()):
            figs += comparison_figures(i, name, res, vis.color_palette)
            curve = analysis.efficiency.get(name)
            if curve is not None:
                figs.append(efficiency_figure(i, name, res, curve, vis.color_palette))
    return figs


def efficiency_figure(index: int, name: str, res: CompareResult, curve: Efficiency, palette_name: str) -> NamedFigure:
    """The aggregate along training per method with its CI band (key ``<n>_efficiency``)."""
    colors = plots.palette(res.matrix.methods, palette_name)
    what = "normalised score" if res.matrix.normalize else str(res.matrix.metric)
    conf = res.settings["confidence"]
    fig = plots.plot_sample_efficiency(
        curve.x, curve.points, curve.intervals, colors=colors, xlabel=curve.x_axis, ylabel=f"{curve.aggregate} of {what}"
    )
    fig.axes[0].set_title(f"{curve.aggregate} with {conf:.0%} CI bands", fontsize="medium")
    return NamedFigure(f"{index}_efficiency", "Sample efficiency", name, fig)


def worst_cases(res: CompareResult) -> list[tuple[str, str, float]]:
    """(method, task, mean score) of each method's worst task (oriented: lowest is worst)."""
    frame = res.matrix.to_frame()
    sign = 1.0 if res.matrix.higher_is_better else -1.0
    out = []
    for method, sub in frame.groupby("method", sort=True):
        cell = sub.groupby("task")["score"].mean()
        task = (sign * cell).idxmin()
        out.append((str(method), str(task), float(np.asarray(cell[task]))))
    return out
