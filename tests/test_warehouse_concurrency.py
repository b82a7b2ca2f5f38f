"""Readers and writers of one warehouse in different processes (real processes, real DuckDB).

DuckDB allows one writing process or many reading ones, never both; the warehouse holds the
catalog file only while it snapshots or commits, so these must all work at once: reading while
an ingest runs, writing while a notebook keeps a warehouse open, and a second writer waiting
(with a message) for the first instead of failing.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

from runlab.warehouse import Warehouse


def _child(code: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


RECORDS = """
    import pyarrow as pa
    from runlab.sources import HISTORY_SCHEMA, RunRecord

    def rec(i, n=50):
        hist = pa.table({"step": list(range(n)), "metric": ["r"] * n, "value": [float(i)] * n},
                        schema=HISTORY_SCHEMA)
        return RunRecord(run_id=f"w:e/p/r{i}", source="test", name=f"run{i}", history=hist)
"""


def test_reading_works_while_another_process_ingests(tmp_path: Path, make_record) -> None:
    home = tmp_path / "h"
    Warehouse.open(home).close()
    writer = _child(RECORDS + f"""
    import sys, time
    from runlab.warehouse import Warehouse

    def slow():  # a source that takes its time parsing between runs
        for i in range(6):
            time.sleep(0.4)
            yield rec(i)
            print("stored-before", i, flush=True)

    with Warehouse.open({str(home)!r}) as wh:
        print("started", flush=True)
        report = wh.ingest(slow())
    print("done", report.summary(), flush=True)
    """)
    try:
        assert writer.stdout.readline().strip() == "started"
        seen: list[int] = []
        with Warehouse.open(home, read_only=True) as ro:  # a notebook, open for the whole ingest
            deadline = time.monotonic() + 60
            while writer.poll() is None and time.monotonic() < deadline:
                seen.append(len(ro.runs()))
                time.sleep(0.05)
            out, err = writer.communicate(timeout=60)
            assert writer.returncode == 0, err
            assert "6 added" in out
            assert len(ro.runs()) == 6  # a later read sees the last commit
            assert ro.history(["w:e/p/r5"])["value"].tolist() == [5.0] * 50
        assert seen and seen == sorted(seen) and 0 < max(seen) <= 6  # progress seen while it wrote
        assert len(set(seen)) > 1
    finally:
        if writer.poll() is None:
            writer.kill()


def test_a_notebook_holding_a_warehouse_open_blocks_no_writer(tmp_path: Path, make_record) -> None:
    home = tmp_path / "h"
    with Warehouse.open(home) as wh:
        wh.upsert_run(make_record("w:e/p/a", {"r": [(0, 1.0)]}))
    notebook = _child(f"""
    import sys
    from runlab.warehouse import Warehouse
    ro = Warehouse.open({str(home)!r}, read_only=True)
    rel = ro.history_relation()
    print(len(ro.runs()), flush=True)
    sys.stdin.readline()
    print(len(ro.runs()), sorted(ro.labels()["value"]), flush=True)
    """)
    try:
        assert notebook.stdout.readline().strip() == "1"
        with Warehouse.open(home) as wh:
            wh.upsert_run(make_record("w:e/p/b", {"r": [(0, 2.0)]}))
            wh.set_labels({"w:e/p/a": {"algo": "ppo"}})
        out, err = notebook.communicate("\n", timeout=60)
        assert notebook.returncode == 0, err
        assert out.strip() == "2 ['ppo']"
    finally:
        if notebook.poll() is None:
            notebook.kill()


def test_a_second_writer_waits_for_the_first_with_a_message(tmp_path: Path, make_record) -> None:
    home = tmp_path / "h"
    Warehouse.open(home).close()
    holder = _child(RECORDS + f"""
    import sys, time
    from runlab.warehouse import Warehouse
    from runlab.warehouse import _write

    original = _write.RunWriter.run
    def slow_run(self):  # a long write (say a huge run's Parquet) holding the writer lock
        print("writing", flush=True)
        time.sleep(2.0)
        return original(self)
    _write.RunWriter.run = slow_run
    with Warehouse.open({str(home)!r}) as wh:
        wh.upsert_run(rec(1))
    print("done", flush=True)
    """)
    try:
        assert holder.stdout.readline().strip() == "writing"
        messages: list[str] = []
        with Warehouse.open(home, read_only=True) as ro:
            assert ro.runs().empty  # reading is not blocked by the writer lock
        with Warehouse.open(home, on_wait=messages.append) as wh:
            result = wh.upsert_run(make_record("w:e/p/mine", {"r": [(0, 1.0)]}))
            assert result.status == "added"
            assert sorted(wh.runs()["run_id"]) == ["w:e/p/mine", "w:e/p/r1"]
        out, err = holder.communicate(timeout=60)
        assert holder.returncode == 0 and "done" in out, err
        assert messages and "waiting for another runlab process" in messages[0]
        assert "pid" in messages[0] and str(home) in messages[0]
    finally:
        if holder.poll() is None:
            holder.kill()
