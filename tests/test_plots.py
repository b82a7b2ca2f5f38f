"""Plots: content checks (labels, one artist per method, bands), not pixels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from runlab import plots
from runlab.compare import compare
from runlab.errors import InputError

HOSTILE = "<script>$x$</script>\nname"


@pytest.fixture(scope="module")
def result():
    rng = np.random.default_rng(0)
    data = {m: rng.normal(level, 0.2, (5, 3)) for m, level in (("ppo", 1.0), ("dqn", 0.5), (HOSTILE, 0.0))}
    return compare(data, reps=100, profile_points=21)


def _texts(fig: Figure) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.get_yticklabels() + ax.get_xticklabels()]


def test_interval_estimates_one_bar_per_method_and_panel(result):
    fig = plots.plot_interval_estimates(result.estimates, xlabel="normalised score")
    assert len(fig.axes) == 3
    assert [ax.get_title() for ax in fig.axes] == ["Median", "IQM", "Mean"]
    for ax in fig.axes:
        assert len(ax.patches) == 3
        assert ax.get_xlabel() == "normalised score"
        # the bar spans exactly the CI
    iqm = result.estimates[result.estimates["aggregate"] == "IQM"].iloc[0]
    bar = fig.axes[1].patches[0]
    assert bar.get_x() == pytest.approx(iqm["lower"]) and bar.get_width() == pytest.approx(iqm["upper"] - iqm["lower"])
    assert r"<script>\$x\$</script> name" in _texts(fig)  # one line, mathtext disabled


def test_bars_with_asymmetric_error_bars(result):
    fig = plots.plot_bars(result.estimates, "IQM")
    ax = fig.axes[0]
    assert len(ax.patches) == 3 and ax.get_ylabel() == "IQM"
    with pytest.raises(InputError, match="aggregate must be one of"):
        plots.plot_bars(result.estimates, "nope")


def test_performance_profile_line_and_band_per_method(result):
    p = result.profile
    fig = plots.plot_performance_profile(p.taus, p.points, p.intervals)
    ax = fig.axes[0]
    assert len(ax.get_lines()) == 3
    assert sum(isinstance(c, PolyCollection) for c in ax.collections) == 3
    assert [t.get_text() for t in ax.get_legend().get_texts()][:2] == ["ppo", "dqn"]
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), p.points["ppo"])
    with pytest.raises(InputError, match="one per tau"):
        plots.plot_performance_profile(p.taus[:-1], p.points)


def test_probability_of_improvement_rows(result):
    fig = plots.plot_probability_of_improvement(result.improvement)
    ax = fig.axes[0]
    assert len(ax.patches) == len(result.improvement) == 3
    assert ax.get_xlabel() == "probability of improvement"
    assert any(t.startswith("P(ppo > dqn") for t in _texts(fig))


def test_sample_efficiency_curves():
    steps = np.array([0, 10, 20])
    pts = {"a": np.array([0.0, 0.5, 1.0]), "b": np.array([0.0, 0.2, 0.4])}
    cis = {k: np.vstack([v - 0.1, v + 0.1]) for k, v in pts.items()}
    fig = plots.plot_sample_efficiency(steps, pts, cis, xlabel="agent step")
    ax = fig.axes[0]
    assert len(ax.get_lines()) == 2 and ax.get_xlabel() == "agent step"
    assert len(ax.collections) == 2


def test_heatmap_and_missing_map_annotate_every_cell():
    table = pd.DataFrame([[1.0, np.nan], [0.5, 0.25]], index=["a", "b"], columns=["t1", "t2"])
    fig = plots.plot_task_heatmap(table)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["1", "—", "0.5", "0.25"]
    counts = pd.DataFrame([[5, 0]], index=["a"], columns=["t1", "t2"])
    fig = plots.plot_missing_data(counts)
    assert [t.get_text() for t in fig.axes[0].texts] == ["5", "0"]
    assert fig.axes[0].get_title() == "runs per method and task"


def test_violins_and_ecdf(result):
    frame = result.matrix.to_frame()
    fig = plots.plot_violins(frame, by="method")
    ax = fig.axes[0]
    assert len([c for c in ax.collections if isinstance(c, PolyCollection)]) == 3  # one body per method
    fig = plots.plot_ecdf(result.score_dict)
    lines = fig.axes[0].get_lines()
    assert len(lines) == 3 and lines[0].get_ydata()[-1] == 1.0
    with pytest.raises(InputError, match="column"):
        plots.plot_violins(frame, by="nope")


def test_palette_default_is_colour_blind_safe_and_names_are_checked():
    assert list(plots.palette(["a", "b"]).values()) == list(plots.OKABE_ITO[:2])
    assert len(plots.palette(["a", "b", "c"], "Set2")) == 3
    with pytest.raises(InputError, match="palette"):
        plots.palette(["a"], "no-such-palette")


def test_heatmap_text_reads_on_every_cell_and_count_ticks_are_integers():
    import pandas as pd

    from runlab.plots import plot_missing_data, plot_task_heatmap
    from runlab.plots._tasks import text_colour

    assert text_colour((0.0, 0.0, 0.0, 1.0)) == "white" and text_colour((1.0, 1.0, 1.0, 1.0)) == "black"
    assert text_colour((0.267, 0.005, 0.329, 1.0)) == "white"  # viridis' darkest
    assert text_colour((0.993, 0.906, 0.144, 1.0)) == "black"  # viridis' brightest
    table = pd.DataFrame([[0.0, 1.0], [0.5, 0.25]], index=["a", "b"], columns=["t1", "t2"])
    fig = plot_task_heatmap(table)
    texts = {t.get_text(): t.get_color() for t in fig.axes[0].texts}
    assert texts["0"] == "white" and texts["1"] == "black"
    counts = pd.DataFrame([[5, 4], [5, 5]], index=["a", "b"], columns=["t1", "t2"])
    fig = plot_missing_data(counts)
    fig.canvas.draw()
    ticks = fig.axes[1].get_yticks()
    assert len(ticks) and all(float(t).is_integer() for t in ticks)
