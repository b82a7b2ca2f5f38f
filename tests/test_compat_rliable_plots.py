"""runlab.compat.rliable.plot_utils: rliable's plotting calls, drawn by runlab.plots."""

from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from runlab.compat.rliable import library as rly
from runlab.compat.rliable import metrics, plot_utils

METHODS = ("DQN", "C51", "Rainbow")


@pytest.fixture(scope="module")
def results() -> dict[str, object]:
    rng = np.random.default_rng(0)
    data = {m: rng.lognormal(-0.3 + 0.2 * i, 0.5, size=(6, 5)) for i, m in enumerate(METHODS)}
    taus = np.linspace(0.0, 2.0, 41)

    def agg(x: np.ndarray) -> np.ndarray:
        return np.array([metrics.aggregate_median(x), metrics.aggregate_iqm(x), metrics.aggregate_mean(x)])

    points, cis = rly.get_interval_estimates(data, agg, reps=300, seed=0)
    profiles, profile_cis = rly.create_performance_profile(data, taus, reps=300, seed=0)
    pairs = {"Rainbow,DQN": [data["Rainbow"], data["DQN"]], "Rainbow,C51": [data["Rainbow"], data["C51"]]}
    pi, pi_cis = rly.get_interval_estimates(pairs, metrics.probability_of_improvement, reps=300, seed=0)
    return {
        "points": points,
        "cis": cis,
        "taus": taus,
        "profiles": profiles,
        "profile_cis": profile_cis,
        "pi": pi,
        "pi_cis": pi_cis,
    }


def _renders(fig: Figure) -> None:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    assert buf.getvalue().startswith(b"\x89PNG")


def test_interval_estimates_one_panel_per_metric(results) -> None:
    fig, axes = plot_utils.plot_interval_estimates(
        results["points"],
        results["cis"],
        metric_names=["Median", "IQM", "Mean"],
        algorithms=list(METHODS),
        xlabel="Human Normalized Score",
    )
    assert isinstance(fig, Figure) and len(axes) == 3
    assert [a.get_title() for a in axes] == ["Median", "IQM", "Mean"]
    # each panel: one CI bar per algorithm spanning exactly its interval
    for i, ax in enumerate(axes):
        spans = sorted((p.get_x(), p.get_x() + p.get_width()) for p in ax.patches)
        want = sorted((results["cis"][m][0, i], results["cis"][m][1, i]) for m in METHODS)
        np.testing.assert_allclose(spans, want, rtol=1e-9)
    _renders(fig)
    _, single = plot_utils.plot_interval_estimates(
        {m: v[:1] for m, v in results["points"].items()},
        {m: v[:, :1] for m, v in results["cis"].items()},
        metric_names=["Median"],
    )
    assert isinstance(single, Axes)


@pytest.mark.parametrize("non_linear", [False, True])
def test_performance_profiles_lines_and_bands(results, non_linear: bool) -> None:
    ax = plot_utils.plot_performance_profiles(
        results["profiles"],
        results["taus"],
        performance_profile_cis=results["profile_cis"],
        use_non_linear_scaling=non_linear,
        linestyles={"DQN": "dashed"},
        xlabel=r"$\tau$",
    )
    assert isinstance(ax, Axes)
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == set(METHODS) and lines["DQN"].get_linestyle() == "--"
    np.testing.assert_allclose(lines["C51"].get_ydata(), results["profiles"]["C51"])
    assert sum(isinstance(c, PolyCollection) for c in ax.collections) == len(METHODS)
    assert [t for t in ax.get_yticks()] == [0.0, 0.25, 0.5, 0.75, 1.0]
    _renders(ax.figure)


def test_sample_efficiency_and_probability_of_improvement_on_given_axes(results) -> None:
    fig = Figure(figsize=(9, 3))
    left, right = fig.subplots(1, 2)
    frames = np.array([1, 2, 5, 10])
    curves = {m: np.linspace(0.1, 1.0, 4) * (i + 1) for i, m in enumerate(METHODS)}
    bands = {m: np.stack([c - 0.1, c + 0.1]) for m, c in curves.items()}
    out = plot_utils.plot_sample_efficiency_curve(
        frames, curves, bands, ax=left, xlabel="frames", ylabel="IQM"
    )
    assert out is left and len(left.get_lines()) == len(METHODS)
    np.testing.assert_allclose(left.get_lines()[0].get_xdata(), frames)
    out = plot_utils.plot_probability_of_improvement(results["pi"], results["pi_cis"], ax=right)
    assert out is right
    assert [t.get_text() for t in right.get_yticklabels()] == ["Rainbow", "Rainbow"]
    spans = sorted((p.get_x(), p.get_x() + p.get_width()) for p in right.patches)
    want = sorted((float(v[0, 0]), float(v[1, 0])) for v in results["pi_cis"].values())
    np.testing.assert_allclose(spans, want, rtol=1e-9)
    _renders(fig)


def test_probability_of_improvement_without_axes_is_runlabs_plot(results) -> None:
    ax = plot_utils.plot_probability_of_improvement(results["pi"], results["pi_cis"])
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["P(Rainbow > DQN)", "P(Rainbow > C51)"]
    _renders(ax.figure)
