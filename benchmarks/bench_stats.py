"""Speed of ``runlab.stats`` against rliable 1.2.0 on the same data, in the same process.

Workload (from issue 4): 5 methods x (10 runs x 26 tasks):
  1. IQM + mean + median + optimality-gap CIs at 50,000 reps,
  2. a 200-threshold performance profile at 2,000 reps,
  3. probability of improvement over 4 pairs at 2,000 reps.
rliable idioms (issues 14 and 16), each against rliable on the very same call:
  4. the rliable colab's call, ``rly.get_interval_estimates(score_dict, lambda x: np.array([
     metrics.aggregate_median(x), ...]), reps=50000)``, with the imports switched to
     ``runlab.compat.rliable``,
  5. the natural port of it, ``runlab.stats.interval_estimates(score_dict, lambda x: np.array([iqm(x),
     mean(x), median(x), optimality_gap(x, 1.0)]), reps=5000)`` on 6 methods,
  6. the colab's performance profile and pair-keyed probability of improvement through the compat
     layer,
  7. the colab's sample-efficiency call (IQM at each of 10 steps of ``(runs, tasks, steps)`` scores,
     ``lambda x: np.array([metrics.aggregate_iqm(x[..., j]) for j in ...])``) through the compat layer.
rliable is slow, so by default it runs at a fraction of the reps (``--rliable-fraction``) and
its time is scaled linearly to the full reps (bootstrap cost is linear in reps); the output
says so. runlab always runs at full reps. Peak memory of the runlab calls is measured with
tracemalloc (numpy reports its buffers to it).

    .venv/bin/python benchmarks/bench_stats.py [--rliable-fraction 0.1] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os

# One BLAS thread unless the caller says otherwise: rliable's cost is single-threaded Python,
# and on a shared machine multi-threaded OpenBLAS spin-waits cost more than they gain.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import time
import tracemalloc
import warnings

import numpy as np

from runlab import stats


def make_data(seed: int = 0, methods: int = 5) -> dict[str, np.ndarray]:
    """Atari-like normalised scores: per-task difficulty, per-method skill, skewed run noise."""
    rng = np.random.default_rng(seed)
    difficulty = rng.gamma(2.0, 0.5, size=26)
    return {
        f"method_{i}": np.clip(
            rng.lognormal(np.log(0.4 + 0.15 * i) - difficulty / 4, 0.6, size=(10, 26)), 0, None
        )
        for i in range(methods)
    }


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def peak_mb(fn) -> float:
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rliable-fraction", type=float, default=0.1, help="fraction of reps rliable runs")
    parser.add_argument("--repeat", type=int, default=3, help="runlab timings: best of this many")
    args = parser.parse_args()
    from rliable import library as rly
    from rliable import metrics as rlm

    from runlab.compat.rliable import library as compat_rly
    from runlab.compat.rliable import metrics as compat_metrics
    from runlab.stats import iqm, mean, median, optimality_gap

    warnings.simplefilter("ignore")
    data = make_data()
    data6 = make_data(methods=6)
    frac = args.rliable_fraction
    taus = np.linspace(0.0, 2.0, 200)
    pairs = [
        ("method_4", "method_0"),
        ("method_4", "method_1"),
        ("method_4", "method_2"),
        ("method_4", "method_3"),
    ]
    agg = stats.aggregate_func("median", "iqm", "mean", "optimality_gap")

    def rl_agg(x: np.ndarray) -> np.ndarray:
        return np.array(
            [
                rlm.aggregate_median(x),
                rlm.aggregate_iqm(x),
                rlm.aggregate_mean(x),
                rlm.aggregate_optimality_gap(x),
            ]
        )

    def colab(m):  # the rliable colab's aggregate function, over metrics module `m`
        return lambda x: np.array(
            [m.aggregate_median(x), m.aggregate_iqm(x), m.aggregate_mean(x), m.aggregate_optimality_gap(x)]
        )

    def port(x: np.ndarray) -> np.ndarray:  # issue 14's port of it to runlab.stats
        return np.array([iqm(x), mean(x), median(x), optimality_gap(x, 1.0)])

    def rl_port(x: np.ndarray) -> np.ndarray:
        return np.array(
            [rlm.aggregate_iqm(x), rlm.aggregate_mean(x), rlm.aggregate_median(x), rlm.aggregate_optimality_gap(x, 1.0)]
        )

    pair_dict = {f"{a},{b}": [data[a], data[b]] for a, b in pairs}
    steps = np.linspace(0.1, 1.0, 10)
    curves = {k: v[:, :, None] * steps for k, v in data.items()}  # (runs, tasks, steps)

    def per_step(m):  # the colab's per-frame IQM
        return lambda x: np.array([m.aggregate_iqm(x[..., j]) for j in range(x.shape[-1])])

    workloads = [
        (
            "IQM+mean+median+OG CIs, 50k reps",
            50_000,
            lambda: stats.interval_estimates(data, agg, reps=50_000, seed=0),
            lambda r: rly.get_interval_estimates(data, rl_agg, reps=r),
        ),
        (
            "performance profile, 200 taus, 2k reps",
            2_000,
            lambda: stats.performance_profile(data, taus, reps=2_000, seed=0),
            lambda r: rly.create_performance_profile(data, taus, reps=r),
        ),
        (
            "probability of improvement, 4 pairs, 2k reps",
            2_000,
            lambda: stats.probability_of_improvement_intervals(data, pairs, reps=2_000, seed=0),
            lambda r: rly.get_interval_estimates(
                {f"{a},{b}": (data[a], data[b]) for a, b in pairs}, rlm.probability_of_improvement, reps=r
            ),
        ),
        (
            "compat: colab aggregate lambda, 50k reps",
            50_000,
            lambda: compat_rly.get_interval_estimates(data, colab(compat_metrics), reps=50_000),
            lambda r: rly.get_interval_estimates(data, colab(rlm), reps=r),
        ),
        (
            "stats: iqm/mean/median/OG lambda, 6 meth, 5k",
            5_000,
            lambda: stats.interval_estimates(data6, port, reps=5_000, seed=0),
            lambda r: rly.get_interval_estimates(data6, rl_port, reps=r),
        ),
        (
            "compat: performance profile, 200 taus, 2k",
            2_000,
            lambda: compat_rly.create_performance_profile(data, taus, reps=2_000),
            lambda r: rly.create_performance_profile(data, taus, reps=r),
        ),
        (
            "compat: pair-keyed P(X > Y), 4 pairs, 2k",
            2_000,
            lambda: compat_rly.get_interval_estimates(pair_dict, compat_metrics.probability_of_improvement, reps=2_000),
            lambda r: rly.get_interval_estimates(pair_dict, rlm.probability_of_improvement, reps=r),
        ),
        (
            "compat: per-step IQM curve, 10 steps, 5k reps",
            5_000,
            lambda: compat_rly.get_interval_estimates(curves, per_step(compat_metrics), reps=5_000),
            lambda r: rly.get_interval_estimates(curves, per_step(rlm), reps=r),
        ),
    ]
    print(
        f"data: 5 methods x (10 runs x 26 tasks); rliable at {frac:g} of the reps, time scaled by 1/{frac:g}"
    )
    print(
        f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}; times are wall-clock, runlab best of {args.repeat}"
    )
    print(f"{'workload':46s} {'runlab s':>9s} {'rliable s':>10s} {'ratio':>8s} {'peak MB':>8s}")
    np.random.seed(0)  # rliable draws from the global RNG
    for name, reps, ours, theirs in workloads:
        t_ours = best_of(ours, args.repeat)
        rl_reps = max(2, round(reps * frac))
        t0 = time.perf_counter()
        theirs(rl_reps)
        t_rl = (time.perf_counter() - t0) * reps / rl_reps
        mem = peak_mb(ours)
        print(f"{name:46s} {t_ours:9.3f} {t_rl:10.2f} {t_rl / t_ours:7.0f}x {mem:8.1f}")


if __name__ == "__main__":
    main()
