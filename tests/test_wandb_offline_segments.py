"""Resumed runs, skipping unchanged files before parsing, and honest damage reports (offline reader).

The runs are written by the real wandb client in offline mode, in a child process: a run resumed
with ``wandb.init(id=..., resume="allow")`` (two run folders, the second re-logging two steps of
the first), and a longer run for damage. References are computed here from each segment read on
its own, independently of the merge.
"""

from __future__ import annotations

import os
import re
import shutil
import textwrap
from pathlib import Path

import pytest

from offline_wandb import write_offline
from runlab.sources import wandb_offline
from runlab.sources.wandb_offline import WandBOfflineReader, read_run
from runlab.warehouse import Warehouse

GEN = textwrap.dedent("""
    import json, os, sys
    os.environ["WANDB_SILENT"] = "true"
    import wandb
    out = sys.argv[1]
    dirs = []
    for seg, (lo, hi) in enumerate([(0, 10), (8, 20)]):
        run = wandb.init(mode="offline", dir=out, entity="team", project="proj", id="resume01",
                         resume="allow", name=f"resumed-{seg}", config={"lr": 0.1, "seg": seg})
        for s in range(lo, hi):
            run.log({"overview/reward": float(s) + 100 * seg, "metric/agent_step": 10 * s}, step=s)
        run.finish()
        dirs.append(os.path.dirname(run.dir))
    run = wandb.init(mode="offline", dir=out, entity="team", project="proj", id="long01", name="long")
    for s in range(3000):
        run.log({"a": float(s), "b": 2.0 * s, "c": -s * 0.5})
    run.finish()
    print(json.dumps({"segments": dirs, "long": os.path.dirname(run.dir)}))
""")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    out = tmp_path_factory.mktemp("resumed")
    found = write_offline(["-c", GEN, str(out)], out)
    return {"segments": [Path(p) for p in found["segments"]], "long": Path(found["long"])}


def _reference(segment_dirs: list[Path]) -> dict[tuple[int, str], float]:
    """Later segments win: a plain dict updated segment by segment, each read on its own."""
    merged: dict[tuple[int, str], float] = {}
    for d in segment_dirs:
        h = read_run(d).history.to_pydict()
        for step, metric, value in zip(h["step"], h["metric"], h["value"], strict=True):
            merged[(step, metric)] = value
    return merged


def _as_dict(history) -> dict[tuple[int, str], float]:
    h = history.to_pydict()
    return {(s, m): v for s, m, v in zip(h["step"], h["metric"], h["value"], strict=True)}


def test_segments_of_a_resumed_run_merge_into_one_history(runs, tmp_path: Path) -> None:
    segs = runs["segments"]
    for paths in (segs, list(reversed(segs))):  # the order the folders are given in does not matter
        items = list(WandBOfflineReader(paths).records())
        assert len(items) == 1
        rec = items[0]
        assert _as_dict(rec.history) == _reference(segs)
        steps = rec.history["step"].to_pylist()
        assert steps == sorted(steps) and set(steps) == set(range(20))
        assert rec.name == "resumed-1" and rec.config["seg"] == 1
        assert any("merged 2 segments" in p and "later segment" in p for p in rec.problems)
    rewards = {s: v for (s, m), v in _as_dict(rec.history).items() if m == "overview/reward"}
    assert rewards[8] == 108.0 and rewards[7] == 7.0  # overlap: the later segment's value

    with Warehouse.open(tmp_path / "wh") as wh:
        report = wh.ingest(WandBOfflineReader([segs[0].parent]).records(known=wh.sync_state))
        assert [r.status for r in report.results if r.run_id == "wandb:team/proj/resume01"] == ["added"]
        assert any("merged 2 segments" in p for _, p in report.problems)
        stored = wh.history(["wandb:team/proj/resume01"], ["overview/reward"])
    assert stored["step"].tolist() == list(range(20))


def test_two_log_files_in_one_folder_are_segments_too(runs, tmp_path: Path) -> None:
    first, second = runs["segments"]
    folder = tmp_path / "offline-run-20250101_000000-resume01"
    shutil.copytree(first, folder)
    shutil.copy(next(second.glob("run-*.wandb")), folder / "run-resume01-resumed.wandb")
    (rec,) = list(WandBOfflineReader([folder]).records())
    assert _as_dict(rec.history) == _reference([first, second])


def test_unchanged_files_are_skipped_before_parsing(runs, tmp_path: Path, monkeypatch) -> None:
    src = tmp_path / "runs"
    shutil.copytree(runs["long"], src / runs["long"].name)
    with Warehouse.open(tmp_path / "wh") as wh:
        assert wh.ingest(WandBOfflineReader([src]).records(known=wh.sync_state)).count("added") == 1

        def no_parse(*args, **kwargs):
            raise AssertionError("an unchanged run was parsed")

        with monkeypatch.context() as m:
            m.setattr(wandb_offline, "read_run", no_parse)
            again = wh.ingest(WandBOfflineReader([src]).records(known=wh.sync_state))
        assert [s.run_id for s in again.skipped] == ["wandb:team/proj/long01"] and again.ok

        log = next(src.rglob("run-*.wandb"))
        st = log.stat()
        os.utime(log, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # touched: parsed, same content
        touched = wh.ingest(WandBOfflineReader([src]).records(known=wh.sync_state))
        assert not touched.skipped and touched.unchanged == ["wandb:team/proj/long01"]
        with monkeypatch.context() as m:  # the new stamp was stored: skipped again
            m.setattr(wandb_offline, "read_run", no_parse)
            assert len(wh.ingest(WandBOfflineReader([src]).records(known=wh.sync_state)).skipped) == 1

        data = bytearray(log.read_bytes())  # rewritten in place, same size and mtime: the fingerprint sees it
        data[-200] ^= 0xFF
        log.write_bytes(bytes(data))
        os.utime(log, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
        changed = wh.ingest(WandBOfflineReader([src]).records(known=wh.sync_state))
        assert not changed.skipped


def test_a_damaged_file_reports_the_steps_it_lost(runs, tmp_path: Path) -> None:
    clean = read_run(runs["long"])
    folder = tmp_path / runs["long"].name
    shutil.copytree(runs["long"], folder)
    log = next(folder.glob("run-*.wandb"))
    data = bytearray(log.read_bytes())
    middle = len(data) // 2
    for i in range(20):
        data[middle + i * 7] ^= 0x5A
    log.write_bytes(bytes(data))
    damaged = read_run(folder)
    clean_steps = set(clean.history["step"].to_pylist())
    kept_steps = set(damaged.history["step"].to_pylist())
    lost = sorted(clean_steps - kept_steps)
    assert lost, "the flipped bytes must cost some steps for this test to mean anything"
    lost_rows = clean.history.num_rows - damaged.history.num_rows
    text = " ".join(damaged.problems)
    assert f"steps {lost[0]}-{lost[-1]}: {len(lost):,} step(s) missing" in text, damaged.problems
    assert f"about {lost_rows:,} values" in text
    assert re.search(r"\d+ bytes in \d+ damaged region", text)
