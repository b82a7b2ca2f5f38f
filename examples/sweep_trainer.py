"""A tiny trainer for ``runlab sweep run``: shows the whole trainer side of the contract.

    runlab sweep run demo --max-trials 8 -- python examples/sweep_trainer.py

The sweep appends Hydra-style overrides (``trainer.optimizer.learning_rate=0.00073``) to the
command and sets ``RUNLAB_SWEEP_RUN_ID`` and ``RUNLAB_TRIAL_DIR``. The same parameters are in
``$RUNLAB_TRIAL_DIR/train_config_overrides.yaml`` (the file every rank of a multi-process trainer
reads). The trainer reports its objective with :func:`runlab.sweep.report_result` (a
``results.json`` in the trial folder, and ``sweep/*`` keys in the W&B summary when a W&B run is
active), or by printing a JSON line such as ``{"score": 0.91, "cost": 1200}``.

"Training" here is a noisy quadratic bowl whose optimum sits at ``--target`` in every numeric
parameter (log10 for positive values spanning decades is left to the real trainer). Options
before the overrides exercise the runner: ``--report results|stdout|wandb|none``, ``--score``
(force a value, e.g. ``nan``), ``--exit CODE``, ``--fail-attempts N``, ``--sleep S``, ``--seed``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import yaml


def parse(argv: list[str]) -> tuple[argparse.Namespace, dict[str, str]]:
    """Options (``--x``) first, then ``dotted.key=value`` overrides."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", choices=["results", "stdout", "wandb", "none"], default="results")
    parser.add_argument("--score", type=float, default=None, help="report this score instead")
    parser.add_argument("--exit", type=int, default=0, help="exit code after reporting")
    parser.add_argument("--fail-attempts", type=int, default=0, help="crash on the first N attempts")
    parser.add_argument("--sleep", type=float, default=0.0)
    parser.add_argument("--target", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=0)
    options = [a for a in argv if not ("=" in a and not a.startswith("-"))]
    overrides = dict(a.split("=", 1) for a in argv if "=" in a and not a.startswith("-"))
    return parser.parse_args(options), overrides


def objective(params: dict[str, float], target: float, rng: np.random.Generator) -> float:
    """Higher is better; the noise is small against the spread of the bowl."""
    values = np.array([v for v in params.values() if isinstance(v, int | float)], dtype=float)
    return float(-np.sum((values - target) ** 2) + 1e-3 * rng.standard_normal())


def attempt_number(trial_dir: Path) -> int:
    """Counts this trial's attempts in a marker file (to crash the first N on purpose)."""
    marker = trial_dir / "attempts.txt"
    n = int(marker.read_text()) + 1 if marker.exists() else 1
    marker.write_text(str(n))
    return n


def main(argv: list[str]) -> int:
    args, overrides = parse(argv)
    trial_dir = Path(os.environ.get("RUNLAB_TRIAL_DIR", "."))
    given = yaml.safe_load((trial_dir / "train_config_overrides.yaml").read_text()) \
        if (trial_dir / "train_config_overrides.yaml").exists() else {}
    params = {k: yaml.safe_load(v) for k, v in overrides.items()}
    if args.fail_attempts and attempt_number(trial_dir) <= args.fail_attempts:
        print("simulated crash", file=sys.stderr)
        return 3
    start = time.monotonic()
    time.sleep(args.sleep)
    rng = np.random.default_rng(args.seed)
    score = objective(params, args.target, rng) if args.score is None else args.score
    cost = 1.0 + sum(abs(float(v)) for v in params.values() if isinstance(v, int | float))
    print(f"trained {os.environ.get('RUNLAB_SWEEP_RUN_ID')} with {json.dumps(given)} "
          f"in {time.monotonic() - start:.2f}s")
    if args.report == "results":
        from runlab.sweep import report_result

        report_result(score, cost=cost, extra={"params": params})
    elif args.report == "stdout":
        print(json.dumps({"score": score, "cost": cost}))
    elif args.report == "wandb":
        import wandb

        run = wandb.init(project="runlab-sweep-example", mode="offline", config=given)
        run.summary["score"] = score
        from runlab.sweep import report_result

        report_result(score, cost=cost, wandb_run=run, write_file=False)
        run.finish()
    return args.exit


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
