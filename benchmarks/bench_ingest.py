"""Offline-run ingest speed: runlab's reader against a plain protobuf-loop reader, side by side.

The run is written by the real wandb client in offline mode (100k steps x 5 metrics by default)
and cached under the temp dir, so only the first invocation pays the ~40 s of logging. Both readers
decode the same file in this process; the anchor is the plain reader (framing in a Python loop,
``Record.FromString`` per record, ``json.loads`` per history item, the final summary folded from
every summary record), which is what a straightforward implementation does. Printed: rows/s
(CPU time of this process, then wall time) and the ratio.

    .venv/bin/python benchmarks/bench_ingest.py [--steps 100000] [--metrics 5] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

GEN = """
import os, sys
os.environ["WANDB_SILENT"] = "true"
import wandb
steps, metrics, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
run = wandb.init(mode="offline", dir=out, project="bench", entity="bench", name="bench")
names = ["overview/reward", "overview/sps", "losses/policy_loss", "losses/value_loss", "metric/agent_step"]
names += [f"env_agent/m{i}" for i in range(max(0, metrics - len(names)))]
names = names[:metrics]
for i in range(steps):
    run.log({n: i * 0.5 + k for k, n in enumerate(names)})
run.finish()
print(run.dir)
"""


def bench_run(steps: int, metrics: int) -> Path:
    """The cached run directory for (steps, metrics), written by the real client if missing."""
    root = Path(tempfile.gettempdir()) / "runlab-bench-ingest" / f"{steps}x{metrics}"
    done = root / "run_dir.txt"
    if done.exists() and Path(done.read_text()).is_dir():
        return Path(done.read_text())
    root.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, WANDB_MODE="offline", WANDB_SILENT="true", WANDB_DATA_DIR=str(root / "data"))
    env.pop("WANDB_API_KEY", None)
    print(f"writing a {steps}-step x {metrics}-metric offline run with the wandb client ...", flush=True)
    out = subprocess.run(
        [sys.executable, "-c", GEN, str(steps), str(metrics), str(root)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    run_dir = Path(out.stdout.strip().splitlines()[-1]).parent
    done.write_text(str(run_dir))
    return run_dir


def plain_reader(run_dir: Path) -> tuple[int, dict]:
    """The anchor: straightforward framing + protobuf + json.loads per item. Returns (rows, summary)."""
    import pyarrow as pa
    from wandb.proto import wandb_internal_pb2 as pb

    data = next(run_dir.glob("run-*.wandb")).read_bytes()
    pos, parts = 7, b""
    steps: list[int] = []
    names: list[str] = []
    values: list[float] = []
    summary: dict = {}
    while pos + 7 <= len(data):
        if 32768 - pos % 32768 < 7:
            pos += 32768 - pos % 32768
            continue
        crc, length, kind = struct.unpack_from("<IHB", data, pos)
        chunk = data[pos + 7 : pos + 7 + length]
        if zlib.crc32(chunk, zlib.crc32(bytes([kind]))) != crc:
            raise ValueError("checksum")
        pos += 7 + length
        parts = chunk if kind in (1, 2) else parts + chunk
        if kind not in (1, 4):
            continue
        rec = pb.Record.FromString(parts)
        which = rec.WhichOneof("record_type")
        if which == "history":
            row = {"/".join(i.nested_key) or i.key: json.loads(i.value_json) for i in rec.history.item}
            step = int(row.pop("_step", rec.history.step.num))
            for name, value in row.items():
                if isinstance(value, int | float):
                    steps.append(step)
                    names.append(name)
                    values.append(float(value))
        elif which == "summary":
            for item in rec.summary.update:
                summary[tuple(item.nested_key) or (item.key,)] = json.loads(item.value_json)
    table = pa.table({"step": pa.array(steps, pa.int64()), "metric": names, "value": values})
    return table.num_rows, summary


def runlab_reader(run_dir: Path) -> tuple[int, dict]:
    from runlab.sources.wandb_offline import read_run

    record = read_run(run_dir)
    return record.history.num_rows, record.summary


def timed(fn, run_dir: Path, repeat: int) -> tuple[float, float, int]:
    """Best CPU and wall seconds over ``repeat`` calls (GC paused for both readers alike)."""
    best_cpu = best_wall = float("inf")
    rows = 0
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        c, w = time.process_time(), time.perf_counter()
        rows, _ = fn(run_dir)
        best_cpu = min(best_cpu, time.process_time() - c)
        best_wall = min(best_wall, time.perf_counter() - w)
        gc.enable()
    return best_cpu, best_wall, rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--metrics", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    run_dir = bench_run(args.steps, args.metrics)
    size = sum(p.stat().st_size for p in run_dir.glob("run-*.wandb"))
    import wandb.proto.wandb_internal_pb2  # noqa: F401  (import cost is not reading cost)

    runlab_reader(run_dir)  # warm caches equally
    base_cpu, base_wall, base_rows = timed(plain_reader, run_dir, args.repeat)
    fast_cpu, fast_wall, fast_rows = timed(runlab_reader, run_dir, args.repeat)
    user_rows = args.steps * args.metrics
    print(f"run: {args.steps} steps x {args.metrics} metrics, {size / 1e6:.1f} MB log, {run_dir}")
    print(
        f"rows read: plain {base_rows}, runlab {fast_rows} (incl. _runtime/_timestamp; {user_rows} user-metric rows)"
    )
    for label, cpu, wall in (
        ("plain protobuf loop", base_cpu, base_wall),
        ("runlab read_run", fast_cpu, fast_wall),
    ):
        print(
            f"{label:>20}: cpu {cpu:6.2f} s = {user_rows / cpu:>9,.0f} user rows/s ({fast_rows / cpu:>9,.0f} all rows/s)"
            f" | wall {wall:6.2f} s = {user_rows / wall:>9,.0f} user rows/s"
        )
    print(f"ratio runlab / plain: {base_cpu / fast_cpu:.1f}x (cpu), {base_wall / fast_wall:.1f}x (wall)")


if __name__ == "__main__":
    main()
