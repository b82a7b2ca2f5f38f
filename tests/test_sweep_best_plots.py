"""The numbers behind sweep figures (Pareto front, best so far, importance) and the figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runlab.errors import InputError
from runlab.sweep import Trial, parameter_importance, pareto_front, save_sweep_plots
from runlab.sweep._plots import best_so_far

CONFIG = {"metric": "score", "goal": "maximize", "method": "random",
          "parameters": {"x": {"distribution": "uniform", "min": 0.0, "max": 1.0},
                         "y": {"distribution": "log_normal", "min": 1e-4, "max": 1.0}}}

points = st.lists(st.tuples(st.floats(0.01, 100), st.floats(-10, 10)), min_size=1, max_size=30)


@settings(max_examples=100, deadline=None)
@given(points, st.sampled_from(["maximize", "minimize"]))
def test_pareto_front_is_exactly_the_non_dominated_points(pts: list, goal: str) -> None:
    cost = np.array([p[0] for p in pts])
    score = np.array([p[1] for p in pts]) * (1 if goal == "maximize" else -1)
    front = set(pareto_front(cost, np.array([p[1] for p in pts]), goal).tolist())
    for i in range(len(pts)):
        dominated = any((cost[j] <= cost[i] and score[j] > score[i]) or (cost[j] < cost[i] and score[j] >= score[i])
                        for j in range(len(pts)))
        assert (i in front) == (not dominated and not any(
            j in front and cost[j] == cost[i] and score[j] == score[i] for j in range(i)))


def test_best_so_far_skips_failures_and_respects_goal() -> None:
    scores = [np.nan, 2.0, 1.0, np.nan, 3.0]
    np.testing.assert_array_equal(best_so_far(scores, "maximize"), [np.nan, 2.0, 2.0, 2.0, 3.0])
    np.testing.assert_array_equal(best_so_far(scores, "minimize"), [np.nan, 2.0, 1.0, 1.0, 1.0])


def _trials(n: int, seed: int) -> list[Trial]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        x, y = float(rng.uniform()), float(10 ** rng.uniform(-4, 0))
        out.append(Trial(run_id=f"s.r.{i}", sweep="s", index=i, state="success", suggestion={"x": x, "y": y},
                         score=-(x - 0.7) ** 2 + 1e-4 * float(rng.standard_normal()), cost=1 + 10 * y))
    out.append(Trial(run_id=f"s.r.{n}", sweep="s", index=n, state="failure", suggestion={"x": 0.5, "y": 0.1},
                     error="boom"))
    return out


def test_importance_finds_the_parameter_that_matters() -> None:
    noise = []
    for seed in range(5):
        imp = parameter_importance(_trials(60, seed=seed), CONFIG)
        assert [i.path for i in imp] == ["x", "y"]
        assert imp[0].importance > 0.8 and imp[1].importance < 0.3
        noise.append(imp[1].importance)
    assert np.mean(noise) < 0.1  # bias-adjusted: an irrelevant parameter averages near 0
    assert np.all(np.diff(imp[0].bin_centres) > 0)
    with pytest.raises(InputError, match="at least 10 successful trials"):
        parameter_importance(_trials(5, seed=0), CONFIG)


def test_save_sweep_plots_writes_three_figures(tmp_path: Path) -> None:
    paths = save_sweep_plots(_trials(12, seed=1), CONFIG, tmp_path, name="s <b>\"q\"")
    assert sorted(p.name for p in paths) == ["importance.png", "objective.png", "pareto.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)


SHORT_CONFIG = {"metric": "score", "goal": "maximize", "method": "random",
                "parameters": {"lr": {"distribution": "log_normal", "min": 1e-4, "max": 1e-2},
                               "noise": {"distribution": "uniform", "min": 0.0, "max": 1.0},
                               "gamma": {"distribution": "logit_normal", "min": 0.9, "max": 0.999}}}


def _short_sweep(seed: int, n: int = 10, noise_sd: float = float(np.sqrt(1 / 3))) -> list[Trial]:
    """A ten-trial sweep like the demo's: log10(lr) drives half the score variance, the rest is
    noise of PPO-like size; 'noise' and 'gamma' do nothing."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        lr, noise, gamma = 10 ** rng.uniform(-4, -2), rng.uniform(), 1 - 10 ** rng.uniform(-3, -1)
        u = np.log10(lr) + 3.0  # uniform on [-1, 1], variance 1/3
        score = 300 + 100 * (u + noise_sd * rng.standard_normal())
        out.append(Trial(run_id=f"s.r.{i}", sweep="s", index=i, state="success", score=float(score), cost=1.0,
                         suggestion={"lr": float(lr), "noise": float(noise), "gamma": float(gamma)}))
    return out


def test_importance_of_a_ten_trial_sweep_is_not_wiped_out() -> None:
    """The demo's importance.png showed 0.0 for every parameter: five bins of two trials each, bias
    adjustment and clipping erased real effects. The driving parameter must never score 0 and must
    clearly beat the idle ones on average."""
    driving, idle = [], []
    for seed in range(20):
        imp = {i.path: i.importance for i in parameter_importance(_short_sweep(seed), SHORT_CONFIG)}
        assert imp["lr"] > 0.0, (seed, imp)
        driving.append(imp["lr"])
        idle.append(max(imp["noise"], imp["gamma"]))
    assert np.mean(driving) > np.mean(idle) + 0.15
    assert np.mean(driving) > 0.3


def test_importance_partial_dependence_follows_the_true_effect() -> None:
    imp = {i.path: i for i in parameter_importance(_short_sweep(0, n=30, noise_sd=0.1), SHORT_CONFIG)}
    lr = imp["lr"]
    assert lr.bin_centres.min() == pytest.approx(1e-4) and lr.bin_centres.max() == pytest.approx(1e-2)
    # The true main effect is linear in log10(lr), rising by 200 over the range.
    assert lr.bin_means[-1] - lr.bin_means[0] == pytest.approx(200, rel=0.15)
    assert lr.importance > 0.8 and imp["noise"].importance < 0.05 and imp["gamma"].importance < 0.05
    assert np.corrcoef(np.log10(lr.bin_centres), lr.bin_means)[0, 1] > 0.95
