"""Matplotlib figures for comparisons. Every function returns a :class:`~matplotlib.figure.Figure`.

Colours default to the colour-blind safe Okabe-Ito palette; figures are created without pyplot.
"""

from runlab.plots._aggregates import plot_bars, plot_interval_estimates
from runlab.plots._curves import plot_sample_efficiency
from runlab.plots._improvement import plot_probability_of_improvement
from runlab.plots._profiles import plot_ecdf, plot_performance_profile, plot_violins
from runlab.plots._style import OKABE_ITO, new_figure, palette
from runlab.plots._style import short as short_label
from runlab.plots._tasks import plot_missing_data, plot_task_heatmap

__all__ = [
    "OKABE_ITO",
    "new_figure",
    "palette",
    "plot_bars",
    "plot_ecdf",
    "plot_interval_estimates",
    "plot_missing_data",
    "plot_performance_profile",
    "plot_probability_of_improvement",
    "plot_sample_efficiency",
    "plot_task_heatmap",
    "plot_violins",
    "short_label",
]
