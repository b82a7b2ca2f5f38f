"""Write W&B offline runs with the real ``wandb`` client, for the offline-reader tests.

Run as a script in a child process (``python make_runs.py OUT_DIR``) so that ``wandb``'s global
state (stdout hooks, the wandb-core service) never touches the test process. Each run is written
once per test session; the script prints a JSON map ``case -> run directory``.
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

HOSTILE_NAME = 'it\'s "quoted"\n<script>alert(1)</script> ../../etc 🚀 ünïcode'
HOSTILE_TAGS = ["<b>bold</b>", "new\nline", "🚀", "q'uo\"te"]
WIDE_KEYS = 1200


def _init(wandb, out: Path, **kwargs):
    return wandb.init(mode="offline", dir=str(out), entity=kwargs.pop("entity", "team"), **kwargs)


def write_main(wandb, out: Path) -> str:
    """Nested config with updates, hostile name/tags, NaN/inf, nested keys, a table, an artifact."""
    run = _init(
        wandb,
        out,
        project="proj",
        name=HOSTILE_NAME,
        group="grp <1>",
        job_type="train",
        tags=HOSTILE_TAGS,
        notes="notes with\nnewline",
        config={"lr": 0.1, "trainer": {"optimizer": {"learning_rate": 3e-4}, "gamma": 0.99}, "seed": 7},
    )
    run.config.update(
        {"extra": "x", "trainer": {"optimizer": {"learning_rate": 1e-3}}}, allow_val_change=True
    )
    for i in range(6):
        run.log(
            {
                "overview/reward": float(i),
                "losses": {"policy": 1.0 / (i + 1), "value": {"mse": 2.0 * i}},
                "metric/agent_step": 100 * i,
                "bad/nan": math.nan,
                "bad/inf": math.inf,
                "bad/ninf": -math.inf,
                "flag": i % 2 == 0,
                "text": "hello",
                "vec": [1, 2, 3],
            }
        )
    run.log({"eval/table": wandb.Table(columns=["task", "score"], data=[["a", 1.5], ["b<script>", 2.0]])})
    staged = out / "artifact_src.txt"
    staged.write_text("artifact payload")
    art = wandb.Artifact("env_configs", type="environment_configs", metadata={"epochs": 3})
    art.add_file(str(staged), name="configs/epoch_0.json")
    run.log_artifact(art)
    run.summary["best_reward"] = 99.5
    path = run.dir
    run.finish()
    return str(Path(path).parent)


def write_failed(wandb, out: Path) -> str:
    run = _init(wandb, out, project="proj", name="failing", entity="")
    for i in range(3):
        run.log({"loss": float(i)}, step=i * 10)
    path = run.dir
    run.finish(exit_code=1)
    return str(Path(path).parent)


def write_typed(wandb, out: Path) -> str:
    """Both history encodings (json and typed) written by the client."""
    run = _init(
        wandb,
        out,
        project="proj",
        name="typed",
        settings=wandb.Settings(x_history_value_encoding="json,typed"),
    )
    for i in range(4):
        run.log({"a": float(i) / 2, "b": i, "c": i % 2 == 1, "n": math.nan, "s": "txt", "d": {"e": i}})
    path = run.dir
    run.finish()
    return str(Path(path).parent)


def write_wide(wandb, out: Path) -> str:
    """Many metric keys: each history record spans several 32 KiB log blocks."""
    run = _init(wandb, out, project="proj", name="wide")
    for i in range(3):
        run.log({f"env_agent/metric_{k:04d}.std_dev": float(k * i) for k in range(WIDE_KEYS)})
    path = run.dir
    run.finish()
    return str(Path(path).parent)


def write_long(wandb, out: Path) -> str:
    """Enough steps that records cross block boundaries in every position."""
    run = _init(wandb, out, project="proj", name="long")
    for i in range(1500):
        run.log({"overview/reward": i * 0.5, "overview/sps": 1000.0 + i, "metric/epoch": i // 10})
    path = run.dir
    run.finish()
    return str(Path(path).parent)


CASES = {
    "main": write_main,
    "failed": write_failed,
    "typed": write_typed,
    "wide": write_wide,
    "long": write_long,
}


def main() -> None:
    out = Path(sys.argv[1]).resolve()
    names = sys.argv[2:] or list(CASES)
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("WANDB_SILENT", "true")
    import wandb

    dirs = {name: CASES[name](wandb, out) for name in names}
    print(json.dumps(dirs))


if __name__ == "__main__":
    main()
