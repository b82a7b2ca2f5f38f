"""Curve prediction: training time, and held-out evaluation tables on two real data sets.

1. Training time of the default model (5-member VAE ensemble, seed YAML settings) on all 320
   sample curves, against the anchor of the same run: scikit-learn gradient-boosted trees per
   grid point (the strongest baseline) fit on the same data. Run it under ``nice`` on a busy
   machine to see the worst case; ``--threads`` sets torch's CPU threads.
2. Pruning replay: the held-out fifth of the sample configs run as one sequential sweep, each
   trial stopped when the pruner says so, against Optuna's median rule as the anchor: trials
   pruned, compute saved and the regret (best final value missed) each caused.
3. Evaluation tables (RMSE, final-reward error, Spearman of final reward across configurations,
   80% interval coverage, CRPS; config task and prefix task) for
   - ``samples/curves`` (320 batched-PPO CartPole curves): random 5-fold, and leave-one-horizon-out
     (``group:env.game.max_steps``);
   - ``../shared/data/rl-zoo-curves`` (RL Zoo evaluation curves): x as a fraction of each run's
     budget, rewards in each ``env.id``'s training-fold scale; random 5-fold, and held-out
     environment families (``group:env.family``).

    nice .venv/bin/python benchmarks/bench_curves.py [--quick] [--out /tmp/curves-bench]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import time
from pathlib import Path

import torch

from runlab.curves import (
    BoostedTreesBaseline,
    CurveDataset,
    CurveModelConfig,
    CurvePredictor,
    FeatureSpec,
    evaluate,
    markdown_table,
    write_report,
)

ROOT = Path(__file__).resolve().parents[1]
ZOO = ROOT.parent / "shared" / "data" / "rl-zoo-curves"
ZOO_FEATURES = FeatureSpec.of(env=["env.id", "env.family"], agent=["trainer.*"])


def bench_training(ds: CurveDataset, cfg: CurveModelConfig) -> None:
    t0 = time.perf_counter()
    model = CurvePredictor(cfg).fit(ds)
    vae_s = time.perf_counter() - t0
    epochs = [m.best_epoch for m in model.members_]
    t0 = time.perf_counter()
    BoostedTreesBaseline(seed=cfg.seed).fit(ds)
    gbt_s = time.perf_counter() - t0
    print(f"training on {len(ds)} curves x {ds.curves.shape[1]} points, torch threads {torch.get_num_threads()}:")
    print(f"  runlab vae-ensemble ({cfg.ensemble_size} members, best epochs {epochs}): {vae_s:.1f} s")
    print(f"  anchor boosted-trees (scikit-learn, 20 knots): {gbt_s:.1f} s")
    print(f"  ratio vae/anchor: {vae_s / gbt_s:.2f}")


def bench_evaluation(name: str, ds: CurveDataset, splits: list[str], folds: int, cfg: CurveModelConfig,
                     features: FeatureSpec, out: Path, normalize_by: str | None = None) -> None:
    for split in splits:
        t0 = time.perf_counter()
        result = evaluate(ds, split=split, folds=folds, seed=cfg.seed, config=cfg, features=features,
                          normalize_by=normalize_by)
        write_report(result, out / f"{name}-{split.replace(':', '_')}", title=f"{name}, {split}")
        print(f"\n### {name}, split `{split}` ({len(result.folds)} folds, {len(ds)} runs, scores in "
              f"{result.units}; {time.perf_counter() - t0:.0f} s)\n")
        print("From the config (whole curve):\n")
        print(markdown_table(result, "config"))
        print(f"\nFrom the first {result.prefix_fraction:.0%} of the curve (the rest):\n")
        print(markdown_table(result, "prefix"))
        print()
        for note in result.notes:
            print(f"- {note}")


def median_rule_replay(ds: CurveDataset, checkpoints: tuple[float, ...]) -> dict[str, float]:
    """The anchor pruner: stop a trial whose value at a checkpoint is below the median of the
    completed trials' values there (Optuna's MedianPruner rule), replayed like ``replay_pruning``."""
    import math

    import numpy as np

    length = ds.curves.shape[1]
    done: list[np.ndarray] = []
    used = pruned = 0
    for curve in ds.curves:
        stop = length
        for c in checkpoints:
            k = max(1, math.ceil(c * length))
            if done and curve[k - 1] < np.median([d[k - 1] for d in done]):
                stop = k
                break
        used += stop
        if stop == length:
            done.append(curve)
        else:
            pruned += 1
    best = max(d[-1] for d in done)
    return {"pruned": pruned, "compute_saved": 1 - used / (len(ds) * length),
            "regret": float(ds.curves[:, -1].max() - best)}


def bench_pruning(ds: CurveDataset, cfg: CurveModelConfig) -> None:
    import numpy as np

    from runlab.curves import CurvePruner, replay_pruning

    perm = np.random.default_rng(cfg.seed).permutation(len(ds))
    test, train = ds.subset(np.sort(perm[: len(ds) // 5])), ds.subset(np.sort(perm[len(ds) // 5:]))
    model = CurvePredictor(cfg).fit(train)
    checkpoints = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
    print(f"\n### Pruning replay: {len(test)} held-out sample configs as one sequential sweep "
          f"(model trained on the other {len(train)})\n")
    print("| pruner | trials pruned | compute saved | regret (best final missed) |")
    print("|---|---|---|---|")
    for thr in (0.8, 0.9, 0.95, 0.99):
        t0 = time.perf_counter()
        r = replay_pruning(CurvePruner(model, threshold=thr, min_fraction=0.2), test, checkpoints=checkpoints)
        print(f"| curve model, P(worse) > {thr} | {r['pruned']}/{r['trials']} | {r['compute_saved']:.1%} | "
              f"{r['regret']:.3g} ({time.perf_counter() - t0:.1f} s) |")
    m = median_rule_replay(test, checkpoints)
    print(f"| anchor: median rule | {m['pruned']}/{len(test)} | {m['compute_saved']:.1%} | {m['regret']:.3g} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="2 members, 20 epochs, 3 folds (a smoke run)")
    ap.add_argument("--folds", type=int, default=5, help="folds of each split")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads while training")
    ap.add_argument("--out", type=Path, default=Path("/tmp/curves-bench"), help="where reports go")
    ap.add_argument("--skip", nargs="*", default=[], choices=["train", "prune", "samples", "zoo"], help="parts to skip")
    args = ap.parse_args()
    cfg = CurveModelConfig(num_threads=args.threads)
    folds = args.folds
    if args.quick:
        cfg = CurveModelConfig(ensemble_size=2, num_epochs=20, num_threads=args.threads)
        folds = 3
    samples = CurveDataset.from_files(ROOT / "samples" / "curves", curve_length=cfg.curve_length)
    if "train" not in args.skip:
        bench_training(samples, cfg)
    if "prune" not in args.skip:
        bench_pruning(samples, cfg)
    if "samples" not in args.skip:
        bench_evaluation("samples-curves", samples, ["random", "group:env.game.max_steps"], folds, cfg,
                         FeatureSpec(), args.out)
    if "zoo" not in args.skip and ZOO.is_dir():
        zoo = CurveDataset.from_files(ZOO, curve_length=cfg.curve_length, relative=True)
        print(f"\nrl-zoo-curves: {zoo.report.kept} of {zoo.report.offered} runs usable; left out: "
              + "; ".join(f"{r} ({w})" for r, w in sorted(zoo.report.skipped.items())))
        zoo_cfg = CurveModelConfig(**{**cfg.to_dict(), "normalize_by": None})
        bench_evaluation("rl-zoo-curves", zoo, ["random", "group:env.family"], folds, zoo_cfg, ZOO_FEATURES,
                         args.out, normalize_by="env.id")


if __name__ == "__main__":
    main()
