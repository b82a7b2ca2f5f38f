"""The stratified bootstrap: exact engine algebra, agreement with rliable, seeds, bad input."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rliable import library as rly
from rliable import metrics as rlm

from runlab import stats
from runlab.errors import InputError
from runlab.stats._engine import CountChunk, Sorted, draw_counts, draw_resample_indices
from runlab.stats._statistics import AggregateStat

AGG = stats.aggregate_func("median", "iqm", "mean", "optimality_gap", "trimmed_mean", trim=0.1)


def _scores(seed: int, runs: int = 10, tasks: int = 8, methods: int = 2) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {f"m{i}": rng.lognormal(-0.5 + 0.3 * i, 0.7, size=(runs, tasks)) for i in range(methods)}


def _counts_from_indices(run_idx: np.ndarray) -> np.ndarray:
    """(chunk, R, T) run indices -> (T*R, chunk) counts in the engine's layout."""
    chunk, runs, tasks = run_idx.shape
    counts = np.zeros((tasks * runs, chunk), dtype=np.uint8)
    for t in range(tasks):
        for r in range(runs):
            counts[t * runs + r] = (run_idx[:, :, t] == r).sum(axis=1)
    return counts


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 9), st.integers(1, 7), st.integers(0, 2**32 - 1), st.booleans())
def test_count_engine_equals_materialised_resamples(runs: int, tasks: int, seed: int, ties: bool) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(runs, tasks)) * 10 + 100
    if ties:
        x = np.round(x / 5) * 5
    run_idx, task_idx = draw_resample_indices(rng, runs, tasks, 64, False)
    values = x[run_idx, task_idx]
    stat = AggregateStat(AGG)
    from_values = stat.from_values(values)
    from_counts = stat.from_counts(CountChunk(Sorted(x), _counts_from_indices(run_idx)))
    # The count engine accumulates with float32 weights: ~1e-7 relative per term (DESIGN_NOTES, Statistics).
    np.testing.assert_allclose(from_counts, from_values, rtol=1e-6, atol=1e-5)
    # and per rep, the materialised path equals the plain point functions
    np.testing.assert_allclose(from_values[:3], np.stack([AGG(v) for v in values[:3]]), rtol=1e-12)


@pytest.mark.parametrize("runs", [3, 10, 40])
def test_draw_counts_are_stratified_multinomials(runs: int) -> None:
    counts = draw_counts(np.random.default_rng(0), runs, 4, 3000).reshape(4, runs, 3000)
    assert (counts.sum(axis=1) == runs).all()  # every task gets exactly `runs` draws per rep
    np.testing.assert_allclose(counts.mean(axis=2), 1.0, atol=0.1)  # each run drawn once on average
    np.testing.assert_allclose(counts.var(axis=2), 1 - 1 / runs, atol=0.12)  # multinomial variance


@pytest.mark.parametrize(
    ("method", "task_bootstrap"),
    [("percentile", False), ("basic", False), ("bca", False), ("percentile", True)],
)
def test_intervals_agree_with_rliable(method: str, task_bootstrap: bool) -> None:
    data = _scores(1, methods=1)
    func = stats.aggregate_func("median", "iqm", "mean", "optimality_gap")
    points, ours = stats.interval_estimates(
        data, func, reps=2500, method=method, task_bootstrap=task_bootstrap, seed=3
    )

    def rl_func(x: np.ndarray) -> np.ndarray:
        return np.array(
            [
                rlm.aggregate_median(x),
                rlm.aggregate_iqm(x),
                rlm.aggregate_mean(x),
                rlm.aggregate_optimality_gap(x),
            ]
        )

    np.random.seed(5)
    rl_points, theirs = rly.get_interval_estimates(
        data, rl_func, reps=2500, method=method, task_bootstrap=task_bootstrap
    )
    np.testing.assert_allclose(points["m0"], rl_points["m0"], rtol=1e-12)
    width = theirs["m0"][1] - theirs["m0"][0]
    # Monte-Carlo error of a 2500-rep 2.5 % quantile is a few % of the interval width
    np.testing.assert_allclose(ours["m0"], theirs["m0"], atol=0.15 * width.max())


def test_bca_matches_arch_on_a_single_metric_exactly_given_the_same_distribution() -> None:
    from runlab.stats._intervals import _jackknife, bootstrap_distribution, confidence_interval

    x = _scores(2, methods=1)["m0"]
    results = bootstrap_distribution(
        x, AggregateStat(stats.aggregate_func("iqm")), 3000, np.random.default_rng(0)
    )
    ours = confidence_interval(
        results,
        np.array([stats.iqm(x)]),
        "bca",
        0.9,
        lambda: _jackknife(x, lambda s: np.array([stats.iqm(s)])),
    )
    bs = rly.StratifiedBootstrap(x)
    bs._results, bs._base = results, np.array([stats.iqm(x)])  # hand arch the same distribution
    bs._last_func = None
    a = bs._bca_acceleration(lambda s: np.array([rlm.aggregate_iqm(s)]), None)
    b = bs._bca_bias()
    import scipy.stats as ss

    z = ss.norm.ppf([[0.05, 0.95]])
    pct = 100 * ss.norm.cdf(b + (b + z) / (1 - a * (b + z)))
    np.testing.assert_allclose(ours[:, 0], np.percentile(results[:, 0], pct[0]), rtol=1e-12)


def test_callable_func_uses_materialised_path_and_matches_fast_path() -> None:
    data = _scores(4)
    fast_p, fast_ci = stats.interval_estimates(data, "iqm", reps=3000, seed=1)
    # rliable's own function inside a lambda is not runlab's: the slow path, and it says so.
    with pytest.warns(stats.SlowPathWarning, match="takes the slow path"):
        slow_p, slow_ci = stats.interval_estimates(data, lambda s: rlm.aggregate_iqm(s), reps=3000, seed=1)
    for m in data:
        np.testing.assert_allclose(fast_p[m], slow_p[m], rtol=1e-12)
        width = fast_ci[m][1] - fast_ci[m][0]
        np.testing.assert_allclose(fast_ci[m], slow_ci[m], atol=0.12 * width.max())


def test_same_seed_same_answer_and_generator_accepted() -> None:
    data = _scores(5)
    a = stats.interval_estimates(data, AGG, reps=500, seed=11)[1]
    b = stats.interval_estimates(data, AGG, reps=500, seed=11)[1]
    c = stats.interval_estimates(data, AGG, reps=500, seed=12)[1]
    for m in data:
        np.testing.assert_array_equal(a[m], b[m])
    assert any(not np.array_equal(a[m], c[m]) for m in data)
    g = stats.interval_estimates(data, AGG, reps=500, seed=np.random.default_rng(11))[1]
    assert set(g) == set(data)


def test_adding_a_method_leaves_the_others_intervals_unchanged_for_the_same_seed() -> None:
    data = _scores(6, methods=3)
    two = stats.interval_estimates({k: data[k] for k in ("m0", "m1")}, "iqm", reps=500, seed=3)[1]
    three = stats.interval_estimates(data, "iqm", reps=500, seed=3)[1]
    np.testing.assert_array_equal(two["m0"], three["m0"])


def test_same_seed_same_answer_in_another_process() -> None:
    code = (
        "import numpy as np; from runlab import stats\n"
        "rng = np.random.default_rng(0)\n"
        "d = {'a': rng.normal(size=(6, 5)), 'b': rng.normal(size=(6, 5))}\n"
        "p, ci = stats.interval_estimates(d, stats.aggregate_func(), reps=700, seed=42)\n"
        "pr, pci = stats.performance_profile(d, [-1, 0, 1], reps=300, seed=42)\n"
        "print(repr(np.concatenate([ci['a'].ravel(), ci['b'].ravel(), pci['a'].ravel()]).tolist()))\n"
    )
    outs = [
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        for _ in range(2)
    ]
    assert outs[0] == outs[1]
    assert len(eval(outs[0])) == 2 * 8 + 6


def test_all_equal_scores_give_a_zero_width_interval_and_bca_refuses() -> None:
    data = {"flat": np.full((6, 4), 3.0)}
    with pytest.warns(stats.SampleSizeWarning, match="distinct"):
        _points, ci = stats.interval_estimates(data, "mean", reps=200, seed=0)
    np.testing.assert_array_equal(ci["flat"], [[3.0], [3.0]])
    with pytest.raises(InputError, match="bca"), warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.SampleSizeWarning)
        stats.interval_estimates(data, "mean", reps=200, method="bca", seed=0)


def test_small_samples_warn_and_offer_exact_tests() -> None:
    data = _scores(8, runs=3)
    with pytest.warns(stats.SampleSizeWarning, match="exact"):
        stats.interval_estimates(data, "iqm", reps=100, seed=0)


@pytest.mark.parametrize(
    ("data", "kwargs", "match"),
    [
        ({"a": np.array([[1.0, np.nan], [2.0, 3.0]])}, {}, "non-finite"),
        ({"a": np.ones((1, 4))}, {}, "at least 2 runs"),
        ({"a": np.ones((5, 4)), "b": np.ones((5, 3))}, {}, "same tasks"),
        ({}, {}, "non-empty mapping"),
        ({"a": np.ones((5, 4))}, {"method": "studentized"}, "method must be one of"),
        ({"a": np.ones((5, 4))}, {"confidence": 95}, "confidence must be strictly between"),
        ({"a": np.ones((5, 4))}, {"reps": 1}, "reps must be an int"),
        ({"a": np.ones((5, 4))}, {"seed": -1}, "seed must be"),
        ({"a": np.ones((5, 4))}, {"func": 3}, "func must be"),
    ],
)
def test_interval_estimates_refuses_bad_input(data, kwargs, match: str) -> None:
    kwargs = {"func": "mean", "reps": 50, **kwargs}
    with pytest.raises(InputError, match=match), warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.SampleSizeWarning)
        stats.interval_estimates(data, **kwargs)


def test_many_runs_use_the_bincount_path_and_stay_correct() -> None:
    rng = np.random.default_rng(9)
    x = rng.normal(size=(40, 3))
    run_idx, task_idx = draw_resample_indices(rng, 40, 3, 32, False)
    counts = _counts_from_indices(run_idx)
    stat = AggregateStat(AGG)
    np.testing.assert_allclose(
        stat.from_counts(CountChunk(Sorted(x), counts)), stat.from_values(x[run_idx, task_idx]), atol=1e-5
    )
    p, ci = stats.interval_estimates({"x": x}, "iqm", reps=400, seed=0)
    assert ci["x"][0, 0] < p["x"][0] < ci["x"][1, 0]
