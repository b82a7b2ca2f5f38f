"""Speed of ``runlab.stats`` against rliable 1.2.0 on the same data, in the same process.

Workload (from issue 4): 5 methods x (10 runs x 26 tasks):
  1. IQM + mean + median + optimality-gap CIs at 50,000 reps,
  2. a 200-threshold performance profile at 2,000 reps,
  3. probability of improvement over 4 pairs at 2,000 reps.
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


def make_data(seed: int = 0) -> dict[str, np.ndarray]:
    """Atari-like normalised scores: per-task difficulty, per-method skill, skewed run noise."""
    rng = np.random.default_rng(seed)
    difficulty = rng.gamma(2.0, 0.5, size=26)
    return {
        f"method_{i}": np.clip(
            rng.lognormal(np.log(0.4 + 0.15 * i) - difficulty / 4, 0.6, size=(10, 26)), 0, None
        )
        for i in range(5)
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

    warnings.simplefilter("ignore")
    data = make_data()
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
