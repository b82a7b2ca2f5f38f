"""Speed of ``runlab.rewards`` against its anchors, measured in the same run.

1. ``analyze`` (every per-stream metric, per-task table, variance parts with the MixedLM ICC,
   recommendations) against a pandas groupby-rolling implementation of just the two windowed
   metrics (OLS slope over 25 samples from rolling means of x, y, xy, xx; rolling std over 10),
   on the same streams: ``--samples`` rewards over ``--streams`` (task, seed) streams.
   Goal: >= 20x. The default is 2M samples; ``--samples 10000000`` runs the issue's size.
2. ``replay`` with the syllabus preset against syllabus-rl 0.7's own loop
   (``update_task_progress`` + ``update_on_episode`` per episode, ``_sample_distribution`` after
   every update) on the same episode stream, checking both give the same distributions.
   Goal: >= 50x.

    .venv/bin/python benchmarks/bench_rewards.py [--samples 10000000] [--episodes 50000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import time
import warnings

import numpy as np
import pandas as pd

from runlab.rewards import LPScorer, analyze, normalize_streams, replay


def best_of(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def make_streams(samples: int, streams: int, seed: int = 0) -> pd.DataFrame:
    """Rising, noisy reward streams: ``streams`` (task, seed) pairs of equal length."""
    rng = np.random.default_rng(seed)
    n = samples // streams
    tasks, seeds = max(1, streams // 10), 10 if streams >= 10 else 1
    t = np.repeat(np.arange(tasks), seeds * n)
    s = np.tile(np.repeat(np.arange(seeds), n), tasks)
    i = np.tile(np.arange(n), tasks * seeds)
    reward = i / n * (1 + t % 5) + rng.normal(0, 0.3, len(i))
    return pd.DataFrame({"task": pd.Categorical(t).rename_categories(lambda c: f"task {c}").astype(str),
                         "seed": s, "sample_index": i, "reward": reward})


def pandas_rolling(d: pd.DataFrame, ws: int = 25, wn: int = 10) -> pd.DataFrame:
    """The notebook way: groupby-rolling means for the slope, groupby-rolling std for the noise."""
    d = d.assign(x=d["sample_index"].astype(float))
    d["xy"], d["xx"] = d["x"] * d["reward"], d["x"] * d["x"]
    g = d.groupby(["task", "seed"], sort=False)
    m = g[["x", "reward", "xy", "xx"]].rolling(ws).mean()
    slope = (m["xy"] - m["x"] * m["reward"]) / (m["xx"] - m["x"] ** 2)
    noise = g["reward"].rolling(wn).std()
    out = pd.DataFrame({"mean_slope": slope.groupby(level=[0, 1]).mean(),
                        "slope_std": slope.groupby(level=[0, 1]).std(),
                        "noise": noise.groupby(level=[0, 1]).mean()})
    return out


def bench_analyze(samples: int, streams: int, repeat: int) -> None:
    rows = make_streams(samples, streams)
    s = normalize_streams(rows)
    t_ours, res = best_of(lambda: analyze(s), repeat)
    t_pd, ref = best_of(lambda: pandas_rolling(s.data), 1)
    ours = res.per_stream.set_index(["task", "seed"])[["mean_slope", "noise"]]
    ref = ref.reset_index().assign(seed=lambda f: f["seed"].astype(str)).set_index(["task", "seed"])
    gap = float(np.nanmax(np.abs(ours["noise"] - ref.loc[ours.index, "noise"])))
    print(f"analyze: {len(s.data):,} samples in {len(s):,} streams")
    print(f"  runlab.rewards.analyze   {t_ours:8.3f} s  (all metrics, variance + ICC, recommendations)")
    print(f"  pandas groupby-rolling   {t_pd:8.3f} s  (slope + noise only)")
    print(f"  ratio                    {t_pd / t_ours:8.1f}x   (max |noise diff| {gap:.1e})")


def syllabus_loop(ep: pd.DataFrame, names: list[str], kw: dict) -> np.ndarray:
    errors = np.geterr()
    from syllabus.curricula import OnlineLearningProgress  # sets np.seterr(all="raise") on import
    from syllabus.task_space import DiscreteTaskSpace

    np.seterr(**errors)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cur = OnlineLearningProgress(DiscreteTaskSpace(len(names)), **kw)
        lookup = {n: i for i, n in enumerate(names)}
        out = []
        u = kw["update_interval"]
        for i, (task, r) in enumerate(zip(ep["task"].tolist(), ep["reward"].tolist(), strict=True)):
            t = lookup[task]
            cur.update_task_progress(t, r)
            cur.update_on_episode(r, 1, t, r)
            if (i + 1) % u == 0:
                out.append(np.array(cur._sample_distribution(), dtype=float))
    return np.array(out)


def bench_replay(episodes: int, tasks: int, repeat: int) -> None:
    rng = np.random.default_rng(1)
    task = rng.integers(tasks, size=episodes)
    reward = rng.random(episodes) * (1 + np.linspace(0, 1, episodes) * (task % 3))
    names = [f"task {i}" for i in range(tasks)]
    ep = pd.DataFrame({"episode": np.arange(episodes), "task": [names[t] for t in task], "reward": reward})
    kw = {"ema_alpha": 0.1, "p_theta": 0.1, "uniform_prob": 0.25, "update_interval": 10}
    scorer = LPScorer("syllabus", **kw)
    t_ours, res = best_of(lambda: replay(ep, scorer, tasks=names), repeat)
    t_syl, ref = best_of(lambda: syllabus_loop(ep, names, kw), 1)
    gap = float(np.max(np.abs(res.prob - ref)))
    print(f"replay: {episodes:,} episodes, {tasks} tasks, {len(ref):,} updates (syllabus preset)")
    print(f"  runlab.rewards.replay    {t_ours:8.3f} s  (distribution + summary after every update)")
    print(f"  syllabus-rl 0.7 loop     {t_syl:8.3f} s")
    print(f"  ratio                    {t_syl / t_ours:8.1f}x   (max |prob diff| {gap:.1e})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=2_000_000, help="reward samples for analyze")
    ap.add_argument("--streams", type=int, default=1000, help="(task, seed) streams for analyze")
    ap.add_argument("--episodes", type=int, default=50_000, help="episodes for replay")
    ap.add_argument("--tasks", type=int, default=10, help="tasks for replay")
    ap.add_argument("--repeat", type=int, default=3, help="best of this many runlab timings")
    args = ap.parse_args()
    bench_analyze(args.samples, args.streams, args.repeat)
    bench_replay(args.episodes, args.tasks, args.repeat)


if __name__ == "__main__":
    main()
