"""Sweep store overhead: allocate + finish N trials through SweepStore vs raw sqlite3 (the anchor).

Both write to a WAL-mode SQLite file with synchronous=NORMAL, one transaction per write, so
the ratio is the cost of SQLAlchemy Core, JSON and the atomic run-id counter.

    .venv/bin/python benchmarks/bench_sweep_store.py [N]
"""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from runlab.sweep import SweepStore


def raw_sqlite(path: Path, n: int) -> float:
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute("CREATE TABLE t (run_id TEXT PRIMARY KEY, idx INT, state TEXT, suggestion TEXT, score REAL)")
    con.execute("CREATE TABLE c (name TEXT PRIMARY KEY, next INT)")
    con.execute("INSERT INTO c VALUES ('s', 0)")
    start = time.perf_counter()
    for i in range(n):
        con.execute("BEGIN IMMEDIATE")
        idx = con.execute("UPDATE c SET next = next + 1 WHERE name='s' RETURNING next").fetchone()[0] - 1
        con.execute("INSERT INTO t VALUES (?, ?, 'running', ?, NULL)", (f"s.r.{idx}", idx, json.dumps({"x": i})))
        con.execute("COMMIT")
        con.execute("BEGIN IMMEDIATE")
        con.execute("UPDATE t SET state='success', score=? WHERE run_id=?", (float(i), f"s.r.{idx}"))
        con.execute("COMMIT")
    con.close()
    return time.perf_counter() - start


def runlab_store(path: Path, n: int) -> float:
    store = SweepStore(path)
    store.create_sweep("s", {"metric": "score"})
    start = time.perf_counter()
    for i in range(n):
        t = store.allocate_trial("s", {"x": i}, worker="bench")
        store.finish_trial(t.run_id, score=float(i), cost=1.0)
    elapsed = time.perf_counter() - start
    store.close()
    return elapsed


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    with tempfile.TemporaryDirectory() as tmp:
        anchor = raw_sqlite(Path(tmp) / "raw.db", n)
        ours = runlab_store(Path(tmp) / "store.db", n)
    print(f"trials: {n}")
    print(f"raw sqlite3 (anchor): {anchor:.3f} s ({n / anchor:.0f} trials/s)")
    print(f"SweepStore:           {ours:.3f} s ({n / ours:.0f} trials/s)")
    print(f"ratio SweepStore / anchor: {ours / anchor:.2f}x")


if __name__ == "__main__":
    main()
