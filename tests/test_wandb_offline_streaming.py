"""Bounded-memory reading of big offline runs: window-by-window framing and spilled history.

A run is read twice from the same real wandb-written files: once held whole, once with one-block
windows and a history spilled to a temporary file after a few hundred rows. Everything a user
sees must be the same both ways (history, fingerprint, problems, warehouse rows and x-axes);
the windowed framing must equal the whole-file framing on damaged and truncated copies.
"""

from __future__ import annotations

import random
import shutil
import textwrap
from pathlib import Path

import numpy as np
import pytest

from offline_wandb import write_offline
from runlab.sources import _wandb_history, _wandb_log
from runlab.sources._wandb_log import BLOCK_SIZE, iter_log, scan_log
from runlab.sources.wandb_offline import WandBOfflineReader, read_run
from runlab.warehouse import Warehouse

GEN = textwrap.dedent("""
    import json, math, os, sys
    os.environ["WANDB_SILENT"] = "true"
    import wandb
    out = sys.argv[1]
    dirs = []
    for seg, (lo, hi) in enumerate([(0, 600), (590, 1200)]):
        run = wandb.init(mode="offline", dir=out, entity="team", project="proj", id="resume02",
                         resume="allow", name=f"resumed-{seg}")
        for s in range(lo, hi):
            run.log({"reward": float(s) + 1000 * seg, "metric/agent_step": 8 * s}, step=s)
        run.finish()
        dirs.append(os.path.dirname(run.dir))
    run = wandb.init(mode="offline", dir=out, entity="team", project="proj", id="big02", name="big")
    for s in range(2500):
        row = {"a": float(s), "b": 2.0 * s, "metric/agent_step": 4 * s, "note": "text"}
        if s % 97 == 0:
            row["a"] = math.nan if s % 2 else math.inf
        run.log(row)
    run.finish()
    print(json.dumps({"segments": dirs, "big": os.path.dirname(run.dir)}))
""")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    out = tmp_path_factory.mktemp("streaming")
    found = write_offline(["-c", GEN, str(out)], out)
    return {"segments": [Path(p) for p in found["segments"]], "big": Path(found["big"])}


@pytest.fixture
def small_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    """One-block windows and a spill after 300 rows: a 12k-row run takes the big-run path."""
    monkeypatch.setattr(_wandb_log, "WINDOW_SIZE", BLOCK_SIZE)
    monkeypatch.setattr(_wandb_history, "SPILL_ROWS", 300)


def test_spilled_history_equals_the_held_one(runs, monkeypatch: pytest.MonkeyPatch) -> None:
    held = read_run(runs["big"])
    assert held.history_batches is None and held.history.num_rows > 300
    monkeypatch.setattr(_wandb_log, "WINDOW_SIZE", BLOCK_SIZE)
    monkeypatch.setattr(_wandb_history, "SPILL_ROWS", 300)
    spilled = read_run(runs["big"])
    assert spilled.history_batches is not None and spilled.history_batches.num_chunks > 3
    assert spilled.history.num_rows == 0 and spilled.history_rows == held.history.num_rows
    whole = spilled.history_batches.read_all()
    for name in ("step", "metric"):
        assert whole[name].to_pylist() == held.history[name].to_pylist()
    np.testing.assert_array_equal(whole["value"].to_numpy(), held.history["value"].to_numpy())  # NaN == NaN
    steps = whole["step"].to_numpy()
    assert np.all(np.diff(steps) >= 0)
    assert spilled.fingerprint() == held.fingerprint()
    assert spilled.problems == held.problems
    assert any("NaN" in p for p in held.problems) and any("non-numeric" in p for p in held.problems)
    assert (spilled.summary, spilled.config, spilled.state) == (held.summary, held.config, held.state)
    path = spilled.history_batches.path
    spilled.history_batches.close()
    assert not path.exists()


def _stored(home: Path, big: Path) -> tuple[list, object, list]:
    with Warehouse.open(home) as wh:
        report = wh.ingest(WandBOfflineReader([big]).records(), force=True)
        assert not report.failures, report.failures
        again = wh.upsert_run(read_run(big))
        (rid,) = wh.runs()["run_id"].tolist()
        hist = wh.history([rid], x_axis="metric/agent_step").sort_values(["step", "metric"])
        n_parts = wh.con.execute("SELECT count(*) FROM history_parts").fetchone()[0]
        metrics = wh.con.execute("SELECT metric, n_rows, n_nonfinite, min_step, max_step FROM metrics "
                                 "ORDER BY metric").fetchall()
        rows = wh.runs()[["history_rows", "max_step", "state"]].to_dict("records")
    return [again.status, n_parts, rows], hist.reset_index(drop=True), metrics


def test_spilled_run_stores_one_part_per_chunk_and_reads_back_the_same(runs, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    (status, parts, rows), hist, metrics = _stored(tmp_path / "held", runs["big"])
    assert status == "unchanged" and parts == 1
    monkeypatch.setattr(_wandb_log, "WINDOW_SIZE", BLOCK_SIZE)
    monkeypatch.setattr(_wandb_history, "SPILL_ROWS", 300)
    (s_status, s_parts, s_rows), s_hist, s_metrics = _stored(tmp_path / "spilled", runs["big"])
    assert s_status == "unchanged" and s_parts > 3  # re-ingest of the same content changes nothing
    assert s_rows == rows and s_metrics == metrics
    assert s_hist.equals(hist)  # values and the carried x-axis at every row
    assert hist["x"].notna().all()


def test_resumed_run_merges_with_spilled_segments(runs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def merged() -> object:
        (item,) = list(WandBOfflineReader(runs["segments"]).records())
        return item

    held = merged()
    monkeypatch.setattr(_wandb_log, "WINDOW_SIZE", BLOCK_SIZE)
    monkeypatch.setattr(_wandb_history, "SPILL_ROWS", 300)
    spilled = merged()
    assert "merged 2 segments" in spilled.problems[0]
    assert spilled.history.to_pydict() == held.history.to_pydict()
    assert spilled.problems == held.problems and spilled.fingerprint() == held.fingerprint()
    h = spilled.history.to_pydict()
    steps = [s for s, m in zip(h["step"], h["metric"], strict=True) if m == "reward"]
    assert steps == list(range(1200))


def test_damaged_run_reports_the_same_loss_read_in_windows(runs, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / runs["big"].name
    shutil.copytree(runs["big"], copy)
    log = next(copy.glob("run-*.wandb"))
    data = bytearray(log.read_bytes())
    for at in (len(data) // 3, len(data) // 2):
        data[at : at + 20] = bytes(20)
    log.write_bytes(bytes(data[: len(data) - 100]))
    held = read_run(copy)
    monkeypatch.setattr(_wandb_log, "WINDOW_SIZE", BLOCK_SIZE)
    monkeypatch.setattr(_wandb_history, "SPILL_ROWS", 300)
    spilled = read_run(copy)
    assert any("damaged region" in p for p in held.problems) and any("truncated" in p for p in held.problems)
    assert spilled.problems == held.problems
    assert spilled.fingerprint() == held.fingerprint()


@pytest.mark.parametrize("seed", range(4))
def test_windowed_framing_equals_whole_file_framing(runs, tmp_path: Path, seed: int) -> None:
    data = bytearray(next(runs["big"].glob("run-*.wandb")).read_bytes())
    rng = random.Random(seed)
    for _ in range(rng.randint(0, 12)):
        data[rng.randrange(7, len(data))] ^= 0xFF
    cut = bytes(data[: rng.randrange(len(data) // 2, len(data) + 1)])
    ref = scan_log(cut)
    path = tmp_path / "run-x.wandb"
    path.write_bytes(cut)
    for window in (BLOCK_SIZE, 3 * BLOCK_SIZE):
        records: list[bytes] = []
        for got, last in iter_log(path, window):
            scan = last
            records += got
        assert records == ref.records
        for k in ("problems", "truncated", "bytes_lost", "records_lost", "damaged_regions", "damaged_bytes",
                  "first_damage_offset", "damage_at"):
            assert getattr(scan, k) == getattr(ref, k), k
