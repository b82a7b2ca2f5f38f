"""Stream metrics against independent pandas/numpy references, variance parts, ICC, recommendations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runlab.errors import InputError
from runlab.rewards import analyze, min_timescale, normalize_streams


def _rows(tasks: int = 3, seeds: int = 3, n: int = 80, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    for t in range(tasks):
        for s in range(seeds):
            m = n + int(rng.integers(0, 30))
            trend = np.linspace(0, 1 + t, m) + 0.3 * s
            parts.append(pd.DataFrame({"task": f"task {t}", "seed": s, "sample_index": np.arange(m),
                                       "reward": trend + rng.normal(0, 0.2 * (t + 1), m),
                                       "sps": 1000 + rng.normal(0, 50, m)}))
    return pd.concat(parts, ignore_index=True)


def _pandas_reference(rows: pd.DataFrame, ws: int, wn: int) -> pd.DataFrame:
    """groupby-rolling: slope from rolling covariance / variance, noise from rolling std."""
    out = []
    for (task, seed), g in rows.sort_values("sample_index").groupby(["task", "seed"]):
        y = g["reward"].reset_index(drop=True)
        x = pd.Series(np.arange(len(y)), dtype=float)
        slope = (y.rolling(ws).cov(x) / x.rolling(ws).var()).dropna()
        noise = y.rolling(wn).std().dropna()
        trend = np.polyfit(np.arange(len(noise)) + wn - 1, noise.to_numpy(), 1)[0] if len(noise) > 1 else np.nan
        third = len(noise) // 3
        change = noise.iloc[len(noise) - third:].mean() / noise.iloc[:third].mean() - 1 if third else np.nan
        out.append({"task": task, "seed": str(seed), "samples": len(y), "mean_reward": y.mean(),
                    "mean_slope": slope.mean(), "slope_std": slope.std(), "noise": noise.mean(),
                    "noise_trend": trend, "noise_change": change, "sps_corr": np.corrcoef(g["reward"], g["sps"])[0, 1]})
    return pd.DataFrame(out)


@pytest.mark.parametrize(("ws", "wn"), [(25, 10), (5, 3), (2, 2)])
def test_per_stream_metrics_match_pandas_rolling(ws, wn):
    rows = _rows(seed=ws)
    a = analyze(normalize_streams(rows.sample(frac=1, random_state=1)), ws, wn)  # any row order
    got = a.per_stream.sort_values(["task", "seed"]).reset_index(drop=True)
    ref = _pandas_reference(rows, ws, wn).sort_values(["task", "seed"]).reset_index(drop=True)
    assert list(got["samples"]) == list(ref["samples"])
    for col in ("mean_reward", "mean_slope", "slope_std", "noise", "noise_trend", "noise_change", "sps_corr"):
        np.testing.assert_allclose(got[col], ref[col], rtol=1e-9, atol=1e-12, err_msg=col)


def test_ema_slope_matches_a_pandas_ewm():
    rows = _rows(tasks=2, seeds=2)
    a = analyze(normalize_streams(rows), 25, 10)
    for row in a.per_stream.itertuples():
        y = rows[(rows["task"] == row.task) & (rows["seed"].astype(str) == row.seed)]["reward"]
        ema = y.ewm(alpha=2 / 26, adjust=False).mean()
        assert row.ema_slope == pytest.approx(ema.diff().mean(), rel=1e-9)


def test_variance_ratio_matches_numpy_definition():
    rows = _rows(tasks=4, seeds=3)
    a = analyze(normalize_streams(rows))
    means = rows.groupby(["task", "seed"])["reward"].mean().unstack()
    seed_var = means.var(axis=1, ddof=1).mean()
    task_var = np.var(means.mean(axis=1).to_numpy(), ddof=1)
    assert a.variance["seed_var"] == pytest.approx(seed_var, rel=1e-12)
    assert a.variance["task_var"] == pytest.approx(task_var, rel=1e-12)
    assert a.variance["ratio"] == pytest.approx(seed_var / task_var, rel=1e-12)


def test_icc_matches_the_anova_estimator_on_balanced_data():
    rng = np.random.default_rng(3)
    k, n = 8, 5
    task_effect = rng.normal(0, 2.0, k)
    y = np.repeat(task_effect, n) + rng.normal(0, 1.0, k * n)
    rows = pd.DataFrame({"task": np.repeat([f"t{i}" for i in range(k)], n), "seed": np.tile(range(n), k),
                         "sample_index": 0, "reward": y})
    a = analyze(normalize_streams(rows), 2, 2)
    g = y.reshape(k, n)
    msb = n * np.var(g.mean(axis=1), ddof=1)
    msw = g.var(axis=1, ddof=1).mean()
    icc = (msb - msw) / (msb + (n - 1) * msw)
    assert a.variance["icc"] == pytest.approx(icc, abs=1e-4)
    from scipy import stats
    f = msb / msw
    fl, fu = f / stats.f.ppf(0.975, k - 1, k * (n - 1)), f * stats.f.ppf(0.975, k * (n - 1), k - 1)
    assert a.variance["icc_low"] == pytest.approx((fl - 1) / (fl + n - 1), abs=1e-9)
    assert a.variance["icc_high"] == pytest.approx(min((fu - 1) / (fu + n - 1), 1), abs=1e-9)
    assert a.variance["icc_low"] < a.variance["icc"] < a.variance["icc_high"]


def test_one_seed_short_streams_nonfinite_and_duplicates_are_reported_not_fatal():
    rows = pd.DataFrame({
        "task": ["a"] * 6 + ["b"] * 30, "seed": 0,
        "sample_index": [0, 1, 2, 2, 3, 4, *range(30)],
        "reward": [1.0, np.nan, 2.0, 3.0, np.inf, 5.0, *np.linspace(0, 1, 30)],
    })
    s = normalize_streams(rows)
    kinds = {(p.kind, p.task): p.count for p in s.problems}
    assert kinds[("nonfinite", "a")] == 2 and kinds[("duplicate_index", "a")] == 2
    assert list(s.data[s.data["task"] == "a"]["reward"]) == [1.0, 2.0, 3.0, 5.0]  # duplicates kept, in order
    a = analyze(s, 25, 10)
    short = [p for p in a.problems if p.kind == "short"]
    assert [p.task for p in short] == ["a"] and "'a'" in short[0].message
    row = a.per_stream.set_index("task").loc["a"]
    assert row["samples"] == 4 and math.isnan(row["mean_slope"]) and math.isnan(row["noise"])
    assert math.isnan(a.variance["seed_var"]) and "one seed" in a.variance["reason"]
    assert any("not available" in r and "one seed" in r for r in a.recommendations)


def test_bad_input_names_the_problem():
    with pytest.raises(InputError, match="lacks column"):
        normalize_streams(pd.DataFrame({"task": ["a"], "reward": [1.0]}))
    with pytest.raises(InputError, match="slope_window"):
        analyze(normalize_streams(_rows(1, 1)), slope_window=1)
    clash = pd.DataFrame({"task": "a", "seed": 0, "sample_index": [0, 1], "reward": [1.0, 2.0],
                          "run_id": ["r1", "r2"]})
    with pytest.raises(InputError, match="group_by"):
        normalize_streams(clash)


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 10_000), st.floats(-100, 100), st.floats(0.1, 10))
def test_shift_and_scale_invariance(seed, shift, scale):
    rows = _rows(2, 2, 40, seed)
    base = analyze(normalize_streams(rows), 10, 5).per_stream
    moved = analyze(normalize_streams(rows.assign(reward=rows["reward"] * scale + shift)), 10, 5).per_stream
    for col in ("mean_slope", "slope_std", "noise"):
        np.testing.assert_allclose(moved[col], base[col] * scale, rtol=1e-8, atol=1e-9)


def test_recommendations_follow_the_numbers():
    rows = _rows(tasks=3, seeds=3)
    a = analyze(normalize_streams(rows))
    t = a.per_task.set_index("task")
    ratio = t["noise_mean"].max() / t["noise_mean"].min()
    assert a.recommendations[0].startswith(f"task '{t['noise_mean'].idxmax()}' is {ratio:.1f}x as noisy")
    n = max(min_timescale(r.noise_mean, r.mean_slope_mean) for r in t.itertuples())
    assert any(f">= {n:.0f} samples" in r for r in a.recommendations)
    assert min_timescale(1.0, 0.0) == math.inf and min_timescale(np.sqrt(2) * 8, 1.0) == pytest.approx(4.0)
