"""Performance profiles, probability-of-improvement intervals and sample-efficiency curves."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from rliable import library as rly
from rliable import metrics as rlm

from runlab import stats
from runlab.errors import InputError


def _scores(
    seed: int, runs: int = 8, tasks: int = 6, methods: int = 2, shift: float = 0.0
) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {f"m{i}": rng.normal(0.3 * i + shift, 1.0, size=(runs, tasks)) for i in range(methods)}


@pytest.mark.parametrize("kind", ["run", "average"])
def test_profile_equals_rliable(kind: str) -> None:
    data = _scores(0, tasks=30, shift=-0.2)  # negative scores included
    taus = np.linspace(-2, 2, 21)  # tau = 0 included
    prof, ci = stats.performance_profile(data, taus, reps=2000, kind=kind, seed=1)
    np.random.seed(0)
    rl_prof, rl_ci = rly.create_performance_profile(
        data, taus, use_score_distribution=kind == "run", reps=2000
    )
    for m in data:
        np.testing.assert_allclose(prof[m], rl_prof[m], atol=1e-12)
        np.testing.assert_allclose(ci[m], rl_ci[m], atol=0.07)  # ~2 steps of 1/30


def test_profile_at_zero_counts_strictly_positive_scores() -> None:
    x = np.array([[-1.0, 0.0, 2.0], [0.0, 1.0, -3.0]])
    prof, _ = stats.performance_profile({"x": x}, [0.0, -5.0, 5.0], reps=50, seed=0)
    np.testing.assert_allclose(prof["x"], [2 / 6, 1.0, 0.0])


def test_profile_with_task_bootstrap_stays_in_unit_interval() -> None:
    prof, ci = stats.performance_profile(
        _scores(2), np.linspace(-1, 1, 5), reps=300, task_bootstrap=True, seed=0
    )
    for m in prof:
        assert (ci[m] >= 0).all() and (ci[m] <= 1).all()
        assert (ci[m][0] <= ci[m][1]).all()


@pytest.mark.parametrize(
    ("taus", "kwargs", "match"),
    [
        ([], {}, "non-empty"),
        ([0.0, np.nan], {}, "finite"),
        ([[0.0, 1.0]], {}, "1-d"),
        ([0.0], {"kind": "task"}, "kind must be one of"),
    ],
)
def test_profile_refuses_bad_thresholds(taus, kwargs, match: str) -> None:
    with pytest.raises(InputError, match=match):
        stats.performance_profile(_scores(3), taus, reps=10, **kwargs)


def test_probability_of_improvement_intervals_agree_with_rliable() -> None:
    data = _scores(4, runs=6)
    data["m1"] = data["m1"][:5]  # unequal run counts are allowed
    pts, ci = stats.probability_of_improvement_intervals(data, [("m1", "m0")], reps=2000, seed=2)
    np.random.seed(1)
    rl_pts, rl_ci = rly.get_interval_estimates(
        {"m1,m0": (data["m1"], data["m0"])}, rlm.probability_of_improvement, reps=500
    )
    assert pts[("m1", "m0")] == pytest.approx(rl_pts["m1,m0"], abs=1e-12)
    np.testing.assert_allclose(ci[("m1", "m0")], rl_ci["m1,m0"][:, 0], atol=0.06)  # rliable: 500 reps


def test_probability_of_improvement_defaults_to_all_pairs_and_validates_names() -> None:
    data = _scores(5, methods=3)
    pts, ci = stats.probability_of_improvement_intervals(data, reps=100, seed=0)
    assert list(pts) == [("m0", "m1"), ("m0", "m2"), ("m1", "m2")]
    assert all(ci[p].shape == (2,) for p in pts)
    with pytest.raises(InputError, match="each pair must name two methods"):
        stats.probability_of_improvement_intervals(data, [("m0", "nope")], reps=100)


def test_probability_of_improvement_bca_needs_equal_runs() -> None:
    data = _scores(6)
    data["m0"] = data["m0"][:5]
    with pytest.raises(InputError, match="equal run counts"):
        stats.probability_of_improvement_intervals(data, reps=200, method="bca", seed=0)


def _curves(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    steps = np.linspace(0, 1, 7)
    return {
        f"m{i}": (1 + i) * steps[None, None, :] + rng.normal(0, 0.3, size=(6, 4, steps.size))
        for i in range(2)
    }


def test_sample_efficiency_equals_rliable_per_step() -> None:
    data = _curves(0)
    pts, ci = stats.sample_efficiency(data, "iqm", reps=2000, seed=0)

    def rl_curve(x: np.ndarray) -> np.ndarray:
        return np.array([rlm.aggregate_iqm(x[..., k]) for k in range(x.shape[-1])])

    np.random.seed(0)
    rl_pts, rl_ci = rly.get_interval_estimates(data, rl_curve, reps=800)
    for m in data:
        np.testing.assert_allclose(pts[m], rl_pts[m], rtol=1e-12)
        width = (rl_ci[m][1] - rl_ci[m][0]).max()
        np.testing.assert_allclose(ci[m], rl_ci[m], atol=0.2 * width)  # rliable: 800 reps


def test_sample_efficiency_resamples_whole_curves() -> None:
    # each run's curve is a constant offset: if steps were resampled independently the band of the
    # mean would differ across steps; resampling whole curves keeps it identical
    rng = np.random.default_rng(1)
    offsets = rng.normal(size=(8, 3, 1))
    data = {"a": offsets + np.zeros((8, 3, 5))}
    _, ci = stats.sample_efficiency(data, stats.mean, reps=300, seed=0)
    np.testing.assert_allclose(ci["a"], np.repeat(ci["a"][:, :1], 5, axis=1), atol=1e-12)


def test_sample_efficiency_accepts_callables_and_refuses_bundles() -> None:
    data = _curves(2)
    pts, ci = stats.sample_efficiency(data, lambda s: float(np.max(s)), reps=50, seed=0)
    assert pts["m0"].shape == (7,) and ci["m0"].shape == (2, 7)
    with pytest.raises(InputError, match="single aggregate"):
        stats.sample_efficiency(data, stats.aggregate_func("iqm", "mean"), reps=50)
    with pytest.raises(InputError, match="3-d array"), warnings.catch_warnings():
        stats.sample_efficiency({"a": np.ones((4, 3))}, "iqm", reps=50)
