"""Sweep benchmark: runlab's Protein against random search, Optuna TPE, Optuna GP and
PufferLib 3.0.0's Protein, side by side in one run, median over seeds.

    .venv/bin/python benchmarks/bench_sweep.py            # full run
    .venv/bin/python benchmarks/bench_sweep.py --quick    # a fast smoke run
    PUFFERLIB_SRC=/path/to/unpacked/pufferlib-3.0.0 .venv/bin/python benchmarks/bench_sweep.py
    .venv/bin/python benchmarks/bench_sweep.py --methods runlab-protein --problems hartmann6
    .venv/bin/python benchmarks/bench_sweep.py --harness optuna [--quick]   # all as Optuna samplers

Every method searches the same normalised box (runlab's ``ParameterSpace``), so the peers see
log/logit scales exactly as Protein does. Reported per problem: median best-found regret at equal
trials; on the cost-aware problem also the median cost spent until a trial reaches the target;
and the suggestion latency of runlab's Protein at 200 observations.

``--harness optuna`` drives every method, Protein included (``runlab.sweep.optuna.ProteinSampler``),
through one ``study.optimize`` loop: the objective asks ``trial.suggest_*`` for each parameter in its
natural scale and sets the cost as ``trial.user_attrs["cost"]``; only the sampler differs (Optuna's
TPE, GP and random samplers with their defaults).

PufferLib is loaded at run time from ``--pufferlib-src`` / ``PUFFERLIB_SRC`` (its unpacked sdist;
``pufferlib/sweep.py`` needs torch and pyro-ppl) behind a tiny shim for the one helper it imports
from the C-extension package. Its GP training is 1000 Adam steps at lr 1e-4 per GP per suggestion
(~8 s); by default the shim runs 100 steps at lr 1e-3 (the same parameter travel under Adam,
10x faster); ``--pufferlib-exact`` keeps the original. Nothing of it is copied here.

Every method is seeded (numpy, random, torch and pyro for PufferLib), so ``--methods`` runs of a
subset reproduce the traces a full run gives for those methods.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import random
import sys
import time
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import Any

# The GP matrices are small (hundreds of rows): a multi-threaded BLAS on a shared machine
# spends more time synchronising than computing, so the benchmark pins it to one thread.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from runlab.sweep import ParameterSpace, Protein, RandomSearch  # noqa: E402

# -- problems ---------------------------------------------------------------------------------


@dataclass
class Problem:
    name: str
    tree: dict[str, Any]
    goal: str
    evaluate: Callable[[dict[str, Any], int], tuple[float, float]]  # (params, trial seed) -> score, cost
    optimum: float
    trials: int
    quick_trials: int
    random_samples: int
    target: float | None = None  # cost-to-target threshold (maximisation units)
    protein: dict[str, Any] = field(default_factory=dict)


def _uniform(lo: float, hi: float) -> dict[str, Any]:
    # scale 1: no prior about where the optimum is, the whole range is plausible
    return {"distribution": "uniform", "min": lo, "max": hi, "mean": (lo + hi) / 2, "scale": 1.0}


def branin(p: dict[str, Any], _seed: int) -> tuple[float, float]:
    x1, x2 = p["x1"], p["x2"]
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10, 1.0


_H_A = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8],
                 [17, 8, 0.05, 10, 0.1, 14]])
_H_P = 1e-4 * np.array([[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
                        [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]])
_H_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])


def hartmann6(p: dict[str, Any], _seed: int) -> tuple[float, float]:
    x = np.array([p[f"x{i}"] for i in range(6)])
    return float(-(_H_ALPHA * np.exp(-(_H_A * (x - _H_P) ** 2).sum(1))).sum()), 1.0


def cost_aware(p: dict[str, Any], _seed: int) -> tuple[float, float]:
    """A training-run stand-in: quality of (x1, x2) times a saturating curve in ``steps``; the
    cost is the steps, dearer where x2 is large (e.g. a bigger model)."""
    quality = 1.0 - 2.0 * ((p["x1"] - 0.7) ** 2 + (p["x2"] - 0.3) ** 2)
    progress = 1.0 - math.exp(-p["steps"] / 2e4)
    return quality * progress, p["steps"] * (0.5 + p["x2"])


def cartpole(p: dict[str, Any], seed: int) -> tuple[float, float]:
    from _tiny_ppo import PPOConfig, train_cartpole

    cfg = PPOConfig(learning_rate=p["learning_rate"], gamma=p["gamma"], ent_coef=p["ent_coef"],
                    total_steps=6144, num_envs=16, num_steps=64, minibatches=2)
    return train_cartpole(cfg, seed), float(cfg.total_steps)


PROBLEMS = {
    "branin": Problem("branin", {"x1": _uniform(-5, 10), "x2": _uniform(0, 15)}, "minimize", branin,
                      0.397887, trials=25, quick_trials=15, random_samples=5),
    "hartmann6": Problem("hartmann6", {f"x{i}": _uniform(0, 1) for i in range(6)}, "minimize", hartmann6,
                         -3.32237, trials=40, quick_trials=20, random_samples=8),
    "cost_aware": Problem("cost_aware", {"x1": _uniform(0, 1), "x2": _uniform(0, 1),
                                         "steps": {"distribution": "log_normal", "min": 1e3, "max": 1e6,
                                                   "mean": 3e4}},
                          "maximize", cost_aware, 1.0, trials=30, quick_trials=15, random_samples=6, target=0.9),
    "cartpole_ppo": Problem("cartpole_ppo", {
        "learning_rate": {"distribution": "log_normal", "min": 1e-4, "max": 1e-1, "mean": 3e-3},
        "gamma": {"distribution": "logit_normal", "min": 0.8, "max": 0.999, "mean": 0.98},
        "ent_coef": {"distribution": "log_normal", "min": 1e-5, "max": 1e-1, "mean": 1e-3}},
        "maximize", cartpole, 500.0, trials=8, quick_trials=4, random_samples=3),
}

# -- methods: each returns a list of (score, cost) in trial order -----------------------------


def sweep_config(problem: Problem) -> dict[str, Any]:
    return {"metric": "score", "goal": problem.goal, "parameters": problem.tree,
            "protein": {"num_random_samples": problem.random_samples, **problem.protein}}


def run_runlab(problem: Problem, seed: int, trials: int, kind: type = Protein) -> list[tuple[float, float]]:
    opt = kind(sweep_config(problem), seed=seed)
    out = []
    for t in range(trials):
        s, _ = opt.suggest()
        score, cost = problem.evaluate(s, seed * 1000 + t)
        opt.observe(s, score=score, cost=cost)
        out.append((score, cost))
    return out


def run_optuna(problem: Problem, seed: int, trials: int, sampler_name: str) -> list[tuple[float, float]]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = ParameterSpace.from_tree(problem.tree)
    sampler = (optuna.samplers.TPESampler(seed=seed) if sampler_name == "tpe"
               else optuna.samplers.GPSampler(seed=seed))
    study = optuna.create_study(direction=problem.goal, sampler=sampler)
    dists = {f"z{i}": optuna.distributions.FloatDistribution(-1.0, 1.0) for i in range(space.dim)}
    out = []
    for t in range(trials):
        trial = study.ask(dists)
        z = np.array([trial.params[f"z{i}"] for i in range(space.dim)])
        s = space.nest(space.from_unit(z))
        score, cost = problem.evaluate(s, seed * 1000 + t)
        study.tell(trial, score)
        out.append((score, cost))
    return out


def optuna_objective(problem: Problem, seed: int) -> Callable[[Any], float]:
    """The problem as an Optuna user writes it: ``trial.suggest_*`` per parameter in its natural
    scale (log for ``log_normal``; Optuna has no logit scale, so ``logit_normal`` is linear), the
    cost in the ``cost`` user attribute."""

    def objective(trial: Any) -> float:
        params: dict[str, Any] = {}
        for p in ParameterSpace.from_tree(problem.tree).params:
            if p.distribution in ("int_uniform", "uniform_pow2"):
                params[p.path] = trial.suggest_int(p.path, math.ceil(p.min), math.floor(p.max),
                                                   log=p.distribution == "uniform_pow2")
            else:
                params[p.path] = trial.suggest_float(p.path, p.min, p.max, log=p.distribution == "log_normal")
        score, cost = problem.evaluate(params, seed * 1000 + trial.number)
        trial.set_user_attr("cost", cost)
        trial.set_user_attr("score", score)
        return score

    return objective


def run_study(problem: Problem, seed: int, trials: int, sampler_name: str) -> list[tuple[float, float]]:
    """Optuna-harness mode: one ``study.optimize`` loop, only the sampler differs."""
    import optuna

    from runlab.sweep.optuna import ProteinSampler

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    samplers: dict[str, Callable[[], Any]] = {
        "protein": lambda: ProteinSampler(seed=seed, n_startup_trials=problem.random_samples,
                                          protein=problem.protein),
        "tpe": lambda: optuna.samplers.TPESampler(seed=seed),
        "gp": lambda: optuna.samplers.GPSampler(seed=seed),
        "random": lambda: optuna.samplers.RandomSampler(seed=seed),
    }
    study = optuna.create_study(direction=problem.goal, sampler=samplers[sampler_name]())
    study.optimize(optuna_objective(problem, seed), n_trials=trials)
    return [(float(t.user_attrs["score"]), float(t.user_attrs["cost"])) for t in study.trials]


def load_pufferlib(src: Path, exact: bool) -> types.ModuleType:
    """Import ``pufferlib/sweep.py`` from an unpacked sdist without its C-extension package."""
    import pyro.contrib.gp.util as gp_util

    def unroll_nested_dict(d: dict[str, Any]):  # the only pufferlib helper sweep.py calls
        for key, value in d.items():
            if isinstance(value, dict):
                for sub, leaf in unroll_nested_dict(value):
                    yield f"{key}/{sub}", leaf
            else:
                yield key, value

    shim = types.ModuleType("pufferlib")
    shim.unroll_nested_dict = unroll_nested_dict  # type: ignore[attr-defined]
    sys.modules.setdefault("pufferlib", shim)
    spec = importlib.util.spec_from_file_location("pufferlib_sweep", src / "pufferlib" / "sweep.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not exact:
        original = gp_util.train

        def fast_train(gpmodule: Any, optimizer: Any = None, **kw: Any) -> Any:
            for group in optimizer.param_groups:
                group["lr"] = 1e-3
            return original(gpmodule, optimizer, num_steps=100)

        gp_util.train = fast_train
    return module


def run_puffer(module: types.ModuleType, problem: Problem, seed: int, trials: int) -> list[tuple[float, float]]:
    import contextlib
    import io

    import pyro
    import torch

    torch.set_num_threads(1)
    np.random.seed(seed)
    random.seed(seed)
    torch.manual_seed(seed)
    pyro.set_rng_seed(seed)
    pyro.clear_param_store()  # pyro keeps GP parameters by name across instances
    space = ParameterSpace.from_tree(problem.tree)

    def leaf(p: Any) -> dict[str, Any]:
        return {"distribution": p.distribution, "min": p.min, "max": p.max, "mean": p.mean, "scale": p.scale}

    cfg: dict[str, Any] = {"metric": "score", "goal": problem.goal}
    for p in space.params:
        cfg[p.path] = leaf(p)
    out = []
    with contextlib.redirect_stdout(io.StringIO()):
        opt = module.Protein(cfg, max_suggestion_cost=float("inf"))
        for t in range(trials):
            s, _ = opt.suggest(None)
            flat = {k: float(v) for k, v in s.items()}
            score, cost = problem.evaluate(flat, seed * 1000 + t)
            opt.observe(s, score, cost)
            out.append((score, cost))
    return out


# -- metrics ----------------------------------------------------------------------------------


def regret(problem: Problem, trace: list[tuple[float, float]]) -> float:
    scores = [s for s, _ in trace]
    best = min(scores) if problem.goal == "minimize" else max(scores)
    return abs(best - problem.optimum)


def cost_to_target(problem: Problem, trace: list[tuple[float, float]]) -> float:
    spent = 0.0
    for score, cost in trace:
        spent += cost
        if score >= (problem.target or math.inf):
            return spent
    return math.inf


def latency_at(n_obs: int, repeats: int = 5) -> tuple[float, float]:
    """Median wall and CPU seconds per Protein suggestion with ``n_obs`` observations (Hartmann6, varying cost)."""
    problem = PROBLEMS["hartmann6"]
    opt = Protein(sweep_config(problem), seed=0)
    rng = np.random.default_rng(0)
    space = opt.space
    for z in space.sample_uniform(rng, n_obs):
        s = space.nest(space.from_unit(z))
        opt.observe(s, score=hartmann6(s, 0)[0], cost=float(rng.uniform(1, 100)))
    opt.suggest()  # warm the hyperparameter fit, as a running sweep has
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        s, _ = opt.suggest()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        opt.observe(s, score=hartmann6(s, 0)[0], cost=float(rng.uniform(1, 100)))
    return median(wall), median(cpu)


# -- driver -----------------------------------------------------------------------------------


Method = Callable[[Problem, int, int], list[tuple[float, float]]]


def _methods(args: argparse.Namespace) -> tuple[dict[str, Method], str]:
    """The methods of the chosen harness (PufferLib only in the runlab harness, when given) and a note."""
    if args.harness == "optuna":
        names = {"protein-sampler": "protein", "random": "random", "optuna-tpe": "tpe", "optuna-gp": "gp"}
        return ({m: (lambda pr, s, n, k=k: run_study(pr, s, n, k)) for m, k in names.items()},
                "harness: optuna (study.optimize, cost in user_attrs['cost'])")
    methods: dict[str, Method] = {
        "runlab-protein": run_runlab,
        "random": lambda pr, s, n: run_runlab(pr, s, n, RandomSearch),
        "optuna-tpe": lambda pr, s, n: run_optuna(pr, s, n, "tpe"),
        "optuna-gp": lambda pr, s, n: run_optuna(pr, s, n, "gp"),
    }
    puffer_note = "pufferlib: skipped (give --pufferlib-src or PUFFERLIB_SRC)"
    if args.pufferlib_src and (Path(args.pufferlib_src) / "pufferlib" / "sweep.py").is_file():
        try:
            module = load_pufferlib(Path(args.pufferlib_src), args.pufferlib_exact)
            methods["pufferlib-protein"] = lambda pr, s, n: run_puffer(module, pr, s, n)
            puffer_note = f"pufferlib: {args.pufferlib_src} ({'exact' if args.pufferlib_exact else 'fast shim'})"
        except ImportError as exc:
            puffer_note = f"pufferlib: skipped ({exc}; install pyro-ppl)"
    elif args.pufferlib_src:
        puffer_note = f"pufferlib: skipped (no pufferlib/sweep.py under {args.pufferlib_src})"
    return methods, puffer_note


def _print_tables(header: str, rows: list[tuple[str, int, dict[str, float]]],
                  cost_rows: list[tuple[str, dict[str, float]]], methods: list[str]) -> None:
    print("\nmedian best-found regret at equal trials (lower is better)")
    print(header)
    for name, trials, regrets in rows:
        print(f"{name:<13} {trials:>6} " + " ".join(f"{regrets[m]:>17.4g}" for m in methods))
    for name, costs in cost_rows:
        print(f"\nmedian cost to reach score >= {PROBLEMS[name].target} on {name} (lower is better)")
        print(" ".join(f"{m}={costs[m]:.4g}" for m in methods))
        peers = [costs[m] for m in ("random", "optuna-tpe", "optuna-gp") if m in costs]
        unaware = min(peers) if peers else math.inf
        ours = costs.get("runlab-protein", costs.get("protein-sampler", math.inf))
        if math.isfinite(unaware) and unaware > 0 and math.isfinite(ours):
            print(f"protein / best cost-unaware peer = {ours / unaware:.2f} "
                  f"(goal <= 0.70; {1 - ours / unaware:+.0%} cost)")


def _pruning(quick: bool) -> None:
    """The pruning replay of ``bench_curves.py`` (one implementation), reported with the sweeps."""
    import bench_curves
    from runlab.curves import CurveDataset, CurveModelConfig

    cfg = CurveModelConfig(ensemble_size=2, num_epochs=20) if quick else CurveModelConfig()
    data = CurveDataset.from_files(bench_curves.ROOT / "samples" / "curves", curve_length=cfg.curve_length)
    bench_curves.bench_pruning(data, cfg)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="3 seeds, short budgets, no PufferLib unless given")
    ap.add_argument("--seeds", type=int, default=None, help="seeds per method (default 10; quick 3)")
    ap.add_argument("--problems", nargs="*", default=list(PROBLEMS), choices=list(PROBLEMS))
    ap.add_argument("--pufferlib-src", type=Path, default=os.environ.get("PUFFERLIB_SRC"),
                    help="unpacked pufferlib-3.0.0 sdist (env PUFFERLIB_SRC)")
    ap.add_argument("--pufferlib-exact", action="store_true", help="original 1000-step GP training (~8 s/suggestion)")
    ap.add_argument("--methods", nargs="*", default=None,
                    help="run only these methods (default: all available); every method is seeded, "
                         "so separate runs give the same traces as one")
    ap.add_argument("--harness", choices=["runlab", "optuna", "pruning"], default="runlab",
                    help="runlab: each method's own ask/tell loop on the normalised box (default); "
                         "optuna: every method, Protein included (ProteinSampler), as an Optuna sampler "
                         "driven by the same study.optimize loop over the natural parameter scales; "
                         "pruning: trials and compute `sweep run --prune-with` saves at equal regret, the "
                         "curve model replayed on held-out sample configs as one sweep, vs the median rule")
    args = ap.parse_args(argv)
    if args.harness == "pruning":
        _pruning(args.quick)
        return
    seeds = args.seeds or (3 if args.quick else 10)

    methods, puffer_note = _methods(args)
    if args.methods is not None:
        unknown = set(args.methods) - set(methods)
        if unknown:
            ap.error(f"--methods: unknown or unavailable {sorted(unknown)}; available: {sorted(methods)}")
        methods = {m: run for m, run in methods.items() if m in args.methods}
    print(f"seeds={seeds} quick={args.quick} harness={args.harness} {puffer_note}")
    header = f"{'problem':<13} {'trials':>6} " + " ".join(f"{m:>17}" for m in methods)
    rows, cost_rows, wall = [], [], {}
    for name in args.problems:
        problem = PROBLEMS[name]
        trials = problem.quick_trials if args.quick else problem.trials
        regrets: dict[str, float] = {}
        costs: dict[str, float] = {}
        for method, run in methods.items():
            t0 = time.perf_counter()
            traces = [run(problem, seed, trials) for seed in range(seeds)]
            wall[(name, method)] = time.perf_counter() - t0
            regrets[method] = median(regret(problem, tr) for tr in traces)
            if problem.target is not None:
                costs[method] = median(cost_to_target(problem, tr) for tr in traces)
            print(f"  {name:<13} {method:<18} median regret {regrets[method]:.4g}"
                  f"{'' if not costs else f'  cost-to-target {costs[method]:.4g}'}"
                  f"  ({wall[(name, method)]:.1f} s)", flush=True)
        rows.append((name, trials, regrets))
        if costs:
            cost_rows.append((name, costs))

    _print_tables(header, rows, cost_rows, list(methods))
    if args.harness == "optuna":
        per_trial = {m: sum(wall[(n, m)] / (seeds * t) for n, t, _ in rows) / len(rows) for m in methods}
        print("\nseconds per trial (sampler + objective), mean over problems")
        print(" ".join(f"{m}={v:.3f}" for m, v in per_trial.items()))
        return
    lat_wall, lat_cpu = latency_at(200)
    print(f"\nProtein suggestion latency at 200 observations (Hartmann6, varying cost): "
          f"{lat_wall:.3f} s wall, {lat_cpu:.3f} s CPU (goal <= 0.2 s)")


if __name__ == "__main__":
    main()
