"""Tidy-frame speed and memory: DuckDB pipeline vs. the pandas way, on one synthetic warehouse.

The anchor, measured in the same run, is the straightforward pandas approach: load the whole
long-form history into pandas, pivot it, then keep every Nth step. runlab's ``tidy_frame`` does
the selection, downsampling and pivot in DuckDB over the Parquet files.

    python benchmarks/bench_frames.py [--rows 10000000] [--runs 10]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pyarrow as pa

from runlab.frames import tidy_frame
from runlab.sources import HISTORY_SCHEMA, RunRecord
from runlab.warehouse import Warehouse

N_METRICS = 10


def build(home: Path, rows: int, runs: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    steps_per_run = rows // (runs * N_METRICS)
    names = pa.array([f"env_agent/m{i}" for i in range(N_METRICS)])
    with Warehouse.open(home) as wh:
        for r in range(runs):
            steps = np.repeat(np.arange(steps_per_run, dtype=np.int64), N_METRICS)
            codes = pa.array(np.tile(np.arange(N_METRICS, dtype=np.int32), steps_per_run))
            hist = pa.table({"step": steps, "metric": pa.DictionaryArray.from_arrays(codes, names).cast(pa.string()),
                             "value": rng.normal(size=len(steps))}, schema=HISTORY_SCHEMA)
            wh.upsert_run(RunRecord(run_id=f"bench:e/p/r{r}", source="bench", name=f"r{r}", history=hist))


def measure(fn) -> tuple[float, float]:
    tracemalloc.start()
    t0 = time.perf_counter()
    fn()
    dt = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return dt, peak / 2**20


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--every", type=int, default=1000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        t0 = time.perf_counter()
        build(home, args.rows, args.runs)
        print(f"built {args.rows:,} history rows in {args.runs} runs: {time.perf_counter() - t0:.1f}s "
              f"({args.rows / (time.perf_counter() - t0):,.0f} rows/s upsert)")
        with Warehouse.open(home, read_only=True) as wh:
            def pandas_way() -> None:
                long = wh.history()
                wide = long.pivot_table(index=["run_id", "step"], columns="metric", values="value").reset_index()
                wide[wide["step"] % args.every == 0]

            def runlab_way() -> None:
                tidy_frame(wh, metrics=["env_agent/*"], downsample=f"every_nth:{args.every}", labels=False)

            t_anchor, m_anchor = measure(pandas_way)
            t_ours, m_ours = measure(runlab_way)
    print(f"anchor (pandas load+pivot+filter): {t_anchor:.2f}s, peak Python alloc {m_anchor:.0f} MiB")
    print(f"runlab tidy_frame (DuckDB):        {t_ours:.2f}s, peak Python alloc {m_ours:.1f} MiB")
    print(f"speed ratio anchor/runlab: {t_anchor / t_ours:.1f}x; memory ratio: {m_anchor / max(m_ours, 0.01):.0f}x")


if __name__ == "__main__":
    main()
