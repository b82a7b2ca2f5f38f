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
import shutil
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



TB_GEN = """
import sys
from torch.utils.tensorboard import SummaryWriter
steps, metrics, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
names = ["charts/episodic_return", "charts/SPS", "losses/policy_loss", "losses/value_loss", "charts/learning_rate"]
names = (names + [f"env/m{i}" for i in range(max(0, metrics - len(names)))])[:metrics]
writer = SummaryWriter(out)
for i in range(steps):
    for k, n in enumerate(names):
        writer.add_scalar(n, i * 0.5 + k, i * 128)
writer.close()
"""


def tb_bench_run(steps: int, metrics: int) -> Path:
    """The cached TensorBoard run folder for (steps, metrics), written by torch's SummaryWriter if missing."""
    root = Path(tempfile.gettempdir()) / "runlab-bench-ingest" / f"tb-{steps}x{metrics}"
    run_dir = root / "runs" / "CartPole-v1__ppo__1__1700000000"
    if (root / "done").exists():
        return run_dir
    print(f"writing a {steps}-step x {metrics}-scalar TensorBoard run with torch's SummaryWriter ...", flush=True)
    subprocess.run([sys.executable, "-c", TB_GEN, str(steps), str(metrics), str(run_dir)], check=True)
    (root / "done").write_text("ok")
    return run_dir


def tb_runlab(run_dir: Path) -> int:
    """runlab's TensorBoard source, end to end (data server start, load, gRPC read, RunRecord)."""
    from runlab.sources.tensorboard import TensorBoardReader

    (record,) = list(TensorBoardReader([run_dir.parent]).records())
    return sum(1 for m in record.history["metric"].to_pylist() if not m.startswith("_"))


def tb_event_file_loader(run_dir: Path) -> int:
    """TensorBoard's Python loader (what EventAccumulator and tbparse build on), scalars to arrays."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
    from tensorboard.util import tensor_util

    n = 0
    for path in sorted(run_dir.glob("events.out.tfevents.*")):
        for event in EventFileLoader(str(path)).Load():
            for value in event.summary.value:
                if value.HasField("tensor"):
                    float(tensor_util.make_ndarray(value.tensor))
                    n += 1
    return n


def tb_event_accumulator(run_dir: Path) -> int:
    """``EventAccumulator(size_guidance=all)``: the reader tbparse wraps."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    return sum(len(acc.Scalars(tag)) for tag in acc.Tags()["scalars"])


def tb_timed(fn, run_dir: Path, repeat: int) -> tuple[float, float, int]:
    """Best wall and CPU seconds (this process + finished children, i.e. the data server) over ``repeat``."""
    import resource

    best_wall = best_cpu = float("inf")
    n = 0
    for _ in range(repeat):
        me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        w = time.perf_counter()
        n = fn(run_dir)
        best_wall = min(best_wall, time.perf_counter() - w)
        me2, kids2 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = sum(b.ru_utime + b.ru_stime - a.ru_utime - a.ru_stime for a, b in ((me, me2), (kids, kids2)))
        best_cpu = min(best_cpu, cpu)
    return best_wall, best_cpu, n


def tensorboard_section(steps: int, metrics: int, repeat: int) -> None:
    """runlab's TensorBoard source against TensorBoard's Python readers on one SummaryWriter run."""
    run_dir = tb_bench_run(steps, metrics)
    size = sum(p.stat().st_size for p in run_dir.glob("events.out.tfevents.*"))
    print(f"\nTensorBoard run: {steps} steps x {metrics} scalars, {size / 1e6:.1f} MB events, {run_dir}")
    tb_runlab(run_dir)  # warm the page cache and imports equally
    results = [
        ("runlab TensorBoardReader", *tb_timed(tb_runlab, run_dir, repeat)),
        ("EventFileLoader", *tb_timed(tb_event_file_loader, run_dir, 1)),
        ("EventAccumulator", *tb_timed(tb_event_accumulator, run_dir, 1)),
    ]
    for label, wall, cpu, n in results:
        print(f"{label:>26}: wall {wall:6.2f} s = {n / wall:>9,.0f} scalars/s | cpu {cpu:6.2f} s ({n} scalars)")
    fast = results[0][1]
    print("ratio runlab / " + ", ".join(f"{label}: {wall / fast:.1f}x" for label, wall, _, _ in results[1:]) + " (wall)")


GEN_MANY = """
import os, sys
os.environ["WANDB_SILENT"] = "true"
import wandb
runs, steps, metrics, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
for r in range(runs):
    run = wandb.init(mode="offline", dir=out, project="bench", entity="bench", name=f"run{r}")
    for i in range(steps):
        run.log({f"m{k}": i * 0.5 + k for k in range(metrics)})
    run.finish()
"""

CHILD_INGEST = """
import resource, sys, time
from runlab.sources.wandb_offline import WandBOfflineReader
from runlab.warehouse import Warehouse
with Warehouse.open(sys.argv[1]) as wh:
    t = time.perf_counter()
    report = wh.ingest(WandBOfflineReader([sys.argv[2]]).records(known=None if sys.argv[3] == "full" else wh.sync_state))
    wall = time.perf_counter() - t
peak = [int(x.split()[1]) / 1024 for x in open("/proc/self/status") if x.startswith("VmHWM:")]
print(wall, report.summary(), peak[0] if peak else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def unchanged_section(runs: int, steps: int, metrics: int) -> None:
    """A no-op re-ingest (files skipped before parsing) against the full parse it replaces, and the
    peak memory of each, in fresh processes on the same warehouse."""
    root = Path(tempfile.gettempdir()) / "runlab-bench-ingest" / f"many-{runs}x{steps}x{metrics}"
    if not (root / "done").exists():
        print(f"writing {runs} offline runs of {steps} steps x {metrics} metrics with the wandb client ...",
              flush=True)
        env = dict(os.environ, WANDB_MODE="offline", WANDB_SILENT="true", WANDB_DATA_DIR=str(root / "data"))
        env.pop("WANDB_API_KEY", None)
        subprocess.run([sys.executable, "-c", GEN_MANY, str(runs), str(steps), str(metrics), str(root)],
                       env=env, capture_output=True, check=True)
        (root / "done").write_text("ok")
    home = Path(tempfile.mkdtemp(prefix="runlab-bench-home-"))

    def child(mode: str) -> tuple[float, str, float]:
        out = subprocess.run([sys.executable, "-c", CHILD_INGEST, str(home), str(root / "wandb"), mode],
                             capture_output=True, text=True, check=True).stdout.split()
        return float(out[0]), " ".join(out[1:-1]), float(out[-1])

    first = child("full")  # stores every run
    parse = child("full")  # parses every run again (what every re-ingest did before the stamps)
    skip = child("known")
    print(f"\n{runs} unchanged runs ({steps} steps x {metrics} metrics each):")
    print(f"  first ingest          : {first[0]:6.2f} s, peak RSS {first[2]:6.0f} MB ({first[1]})")
    print(f"  re-ingest, parse all  : {parse[0]:6.2f} s, peak RSS {parse[2]:6.0f} MB")
    print(f"  re-ingest, stamp skip : {skip[0]:6.2f} s, peak RSS {skip[2]:6.0f} MB ({skip[1]})")
    print(f"ratio parse-all / stamp-skip: {parse[0] / skip[0]:.0f}x (wall)")
    shutil.rmtree(home, ignore_errors=True)


def _frame(payloads: list[bytes]) -> bytes:
    """W&B log framing (header, 32 KiB blocks, FULL/FIRST/MIDDLE/LAST chunks, CRC-32)."""
    out = bytearray(struct.pack("<4sHB", b":W&B", 0xBEE1, 0))
    for payload in payloads:
        rest, first = memoryview(payload), True
        while True:
            left = 32768 - len(out) % 32768
            if left < 7:
                out += b"\x00" * left
                left = 32768
            take = min(len(rest), left - 7)
            last = take == len(rest)
            kind = (1 if last else 2) if first else (4 if last else 3)
            data = bytes(rest[:take])
            out += struct.pack("<IHB", zlib.crc32(data, zlib.crc32(bytes([kind]))), take, kind) + data
            rest, first = rest[take:], False
            if last:
                break
    return bytes(out)


def big_run(steps: int, metrics: int) -> Path:
    """A ``steps x metrics`` offline run: the records of a small run the real client wrote, with its
    history records replaced by ``steps`` records of the same shape (the client needs an hour for 10M rows)."""
    from wandb.proto import wandb_internal_pb2 as pb

    from runlab.sources._wandb_log import read_log

    root = Path(tempfile.gettempdir()) / "runlab-bench-ingest" / f"big-{steps}x{metrics}"
    folder = root / f"offline-run-20250101_000000-big{steps}"
    log = folder / f"run-big{steps}.wandb"
    if log.exists():
        return folder
    template = bench_run(100, metrics)
    head: list[bytes] = []
    tail: list[bytes] = []
    proto = None
    for payload in read_log(next(template.glob("run-*.wandb"))).records:
        rec = pb.Record.FromString(payload)
        if rec.WhichOneof("record_type") == "history":
            proto = proto or rec
        else:
            (tail if proto is not None else head).append(payload)
    names = [i.key for i in proto.history.item if not i.key.startswith("_")]
    print(f"writing a synthetic {steps}-step x {len(names)}-metric offline run ...", flush=True)
    body = []
    for step in range(steps):
        rec = pb.Record()
        rec.CopyFrom(proto)
        del rec.history.item[:]
        for k, name in enumerate(names):
            item = rec.history.item.add()
            item.key, item.value_json = name, repr(step * 0.5 + k)
        item = rec.history.item.add()
        item.key, item.value_json = "_step", str(step)
        rec.history.step.num = step
        body.append(rec.SerializeToString())
    folder.mkdir(parents=True, exist_ok=True)
    log.write_bytes(_frame(head + body + tail))
    return folder


CHILD_MEMORY = """
import resource, sys, time
from runlab.frames import export_history
from runlab.sources.wandb_offline import WandBOfflineReader
from runlab.warehouse import Warehouse
import duckdb, pandas, pyarrow, wandb.proto.wandb_internal_pb2

def peak_mb():  # VmHWM: ru_maxrss would report the parent's size after fork+exec
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

base = peak_mb()
t = time.perf_counter()
what, home, arg = sys.argv[1:4]
with Warehouse.open(home, read_only=what != "ingest") as wh:
    if what == "ingest":
        rows = wh.ingest(WandBOfflineReader([arg]).records(), force=True).history_rows
    else:
        rows = export_history(wh, arg)
print(time.perf_counter() - t, rows, base, peak_mb())
"""


#: Peak RSS goal for ingesting or exporting a 10M-row run (ingest reads the log in windows and
#: spills the history to a temporary file; export streams from the parts).
MEMORY_GOAL_MB = 500


def memory_section(steps: int, metrics: int) -> None:
    """Peak RSS of ingesting one big run and of exporting its history (fresh processes; imports
    alone are the baseline)."""
    folder = big_run(steps, metrics)
    home = Path(tempfile.mkdtemp(prefix="runlab-bench-mem-"))
    print(f"\nmemory: one synthetic run of {steps} steps")
    for what, arg in (("ingest", str(folder)), ("export csv", str(home / "h.csv")),
                      ("export parquet", str(home / "h.parquet"))):
        out = subprocess.run([sys.executable, "-c", CHILD_MEMORY, what.split()[0], str(home / "wh"), arg],
                             capture_output=True, text=True, check=True).stdout.split()
        wall, rows, base, peak = float(out[0]), int(out[1]), float(out[2]), float(out[3])
        verdict = "under" if peak < MEMORY_GOAL_MB else "OVER"
        print(f"  {what:>15}: {rows:>11,} rows in {wall:6.1f} s, peak RSS {peak:6.0f} MB (imports alone {base:.0f} MB)"
              f" | {verdict} the {MEMORY_GOAL_MB} MB goal")
    shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--metrics", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tb-steps", type=int, default=20_000, help="steps of the TensorBoard run (x --metrics scalars)")
    ap.add_argument("--unchanged-runs", type=int, default=60, help="runs of the no-op re-ingest section")
    ap.add_argument("--unchanged-steps", type=int, default=2_000, help="steps per run in that section")
    ap.add_argument("--memory-steps", type=int, default=1_000_000,
                    help="steps of the synthetic run whose ingest/export peak memory is measured (0: skip)")
    ap.add_argument("--memory-only", action="store_true", help="run only the peak-memory section")
    args = ap.parse_args()
    if args.memory_only:
        memory_section(args.memory_steps, 11)
        return
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
    tensorboard_section(args.tb_steps, args.metrics, args.repeat)
    unchanged_section(args.unchanged_runs, args.unchanged_steps, 10)
    if args.memory_steps:
        memory_section(args.memory_steps, 11)


if __name__ == "__main__":
    main()
