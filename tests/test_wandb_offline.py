"""W&B offline reader, tested on runs written by the real wandb client in offline mode."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data_offline import logtools
from data_offline.make_runs import HOSTILE_NAME, HOSTILE_TAGS, WIDE_KEYS
from runlab.errors import CorruptRunFileError, InputError, NotFoundError
from runlab.sources import RunFailure, RunRecord
from runlab.sources._wandb_log import scan_log
from runlab.sources.wandb_offline import WandBOfflineReader, find_run_dirs, read_run

MAKE_RUNS = Path(__file__).parent / "data_offline" / "make_runs.py"


@pytest.fixture(scope="session")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """All test runs, written once per session by the real client in a child process."""
    root = tmp_path_factory.mktemp("wandb_offline")
    env = dict(os.environ)
    env.update(
        WANDB_SILENT="true",
        WANDB_MODE="offline",
        WANDB_DATA_DIR=str(root / "data"),
        WANDB_CACHE_DIR=str(root / "cache"),
        WANDB_CONFIG_DIR=str(root / "config"),
        WANDB_DIR=str(root / "out"),
    )
    env.pop("WANDB_API_KEY", None)
    done = subprocess.run(
        [sys.executable, str(MAKE_RUNS), str(root / "out")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return {k: Path(v) for k, v in json.loads(done.stdout.strip().splitlines()[-1]).items()}


@pytest.fixture(scope="session")
def main_run(runs: dict[str, Path]) -> RunRecord:
    return read_run(runs["main"])


def _log(run_dir: Path) -> Path:
    return next(run_dir.glob("run-*.wandb"))


def _rows(record: RunRecord) -> list[tuple[int, str, float]]:
    t = record.history
    return list(zip(t["step"].to_pylist(), t["metric"].to_pylist(), t["value"].to_pylist(), strict=True))


def _same_rows(a: list[tuple[int, str, float]], b: list[tuple[int, str, float]]) -> bool:
    key = lambda r: (r[0], r[1])  # noqa: E731
    a, b = sorted(a, key=key), sorted(b, key=key)
    return len(a) == len(b) and all(
        x[:2] == y[:2] and logtools.same_float(x[2], y[2]) for x, y in zip(a, b, strict=True)
    )


# --- identity, config, summary ------------------------------------------------------------------


def test_identity_and_hostile_strings_round_trip(main_run: RunRecord, runs: dict[str, Path]) -> None:
    run_id = runs["main"].name.rsplit("-", 1)[1]
    assert main_run.run_id == f"wandb:team/proj/{run_id}"
    assert main_run.source == "wandb-offline"
    assert main_run.name == HOSTILE_NAME
    assert main_run.tags == HOSTILE_TAGS
    assert main_run.group == "grp <1>" and main_run.job_type == "train"
    assert main_run.notes == "notes with\nnewline"
    assert main_run.state == "finished"
    assert main_run.created_at is not None and main_run.updated_at is not None
    assert main_run.created_at <= main_run.updated_at


def test_config_applies_updates_and_drops_internals(main_run: RunRecord) -> None:
    # config.update replaces top-level keys, as W&B does; `_wandb` is internal.
    assert main_run.config == {
        "lr": 0.1,
        "trainer": {"optimizer": {"learning_rate": 1e-3}},
        "seed": 7,
        "extra": "x",
    }


def test_summary_is_final_values_nested(main_run: RunRecord) -> None:
    s = main_run.summary
    assert s["overview/reward"] == 5.0
    assert s["losses"] == {"policy": 1 / 6, "value": {"mse": 10.0}}
    assert s["best_reward"] == 99.5
    assert math.isnan(s["bad/nan"]) and s["bad/inf"] == math.inf and s["bad/ninf"] == -math.inf
    assert s["eval/table"]["_type"] == "table-file"
    assert "_wandb" not in s


def test_empty_entity_becomes_local_and_exit_code_fails(runs: dict[str, Path]) -> None:
    rec = read_run(runs["failed"])
    assert rec.run_id.startswith("wandb:local/proj/")
    assert rec.state == "failed"
    assert any("exited with code 1" in p for p in rec.problems)
    assert [r for r in _rows(rec) if r[1] == "loss"] == [
        (0, "loss", 0.0),
        (10, "loss", 1.0),
        (20, "loss", 2.0),
    ]


# --- history ------------------------------------------------------------------------------------


def test_history_nested_keys_nan_inf_bools(main_run: RunRecord) -> None:
    rows = _rows(main_run)
    by = {(s, m): v for s, m, v in rows}
    assert by[3, "losses/value/mse"] == 6.0
    assert by[2, "overview/reward"] == 2.0 and by[2, "metric/agent_step"] == 200.0
    assert math.isnan(by[4, "bad/nan"]) and by[4, "bad/inf"] == math.inf and by[4, "bad/ninf"] == -math.inf
    assert by[0, "flag"] == 1.0 and by[1, "flag"] == 0.0
    metrics = {m for _, m, _ in rows}
    assert "_step" not in metrics and "text" not in metrics and "vec" not in metrics
    assert not any(m.startswith("eval/table") for m in metrics)  # media fields are not metrics
    assert [s for s, _, _ in rows] == sorted(s for s, _, _ in rows)
    assert any("6 NaN and 12 ±inf" in p for p in main_run.problems)
    assert any("skipped 12 non-numeric" in p and "'text'" in p for p in main_run.problems)


@pytest.mark.parametrize("case", ["main", "failed", "typed", "wide", "long"])
def test_history_matches_plain_protobuf_reader(runs: dict[str, Path], case: str) -> None:
    expected = logtools.reference_history(_log(runs[case]).read_bytes())
    assert _same_rows(_rows(read_run(runs[case])), expected)


def test_wide_run_spans_blocks(runs: dict[str, Path]) -> None:
    data = _log(runs["wide"]).read_bytes()
    assert len(data) > 3 * logtools.BLOCK  # each history record spans several 32 KiB blocks
    rec = read_run(runs["wide"])
    metrics = set(rec.history["metric"].to_pylist())
    assert len({m for m in metrics if m.startswith("env_agent/")}) == WIDE_KEYS
    assert rec.problems == []


def test_typed_only_encoding_reads_like_json(runs: dict[str, Path], tmp_path: Path) -> None:
    from wandb.proto import wandb_internal_pb2 as pb

    payloads = logtools.unframe(_log(runs["typed"]).read_bytes())
    stripped = []
    for payload in payloads:
        rec = pb.Record.FromString(payload)
        if rec.WhichOneof("record_type") == "history":
            assert any(item.WhichOneof("value") for item in rec.history.item)
            for item in rec.history.item:
                item.ClearField("value_json")
        stripped.append(rec.SerializeToString())
    run_dir = tmp_path / runs["typed"].name
    run_dir.mkdir()
    (run_dir / _log(runs["typed"]).name).write_bytes(logtools.frame(stripped))
    assert _same_rows(_rows(read_run(run_dir)), _rows(read_run(runs["typed"])))


# --- tables and artifacts -----------------------------------------------------------------------


def test_table_read_from_media(main_run: RunRecord) -> None:
    assert main_run.tables == {
        "eval/table": {"columns": ["task", "score"], "data": [["a", 1.5], ["b<script>", 2.0]]}
    }


def test_artifacts_with_staged_files(main_run: RunRecord) -> None:
    arts = {a.name: a for a in main_run.artifacts}
    env = arts["env_configs"]
    assert env.type == "environment_configs" and env.metadata == {"epochs": 3} and env.digest
    assert list(env.files) == ["configs/epoch_0.json"]
    assert Path(env.files["configs/epoch_0.json"]).read_text() == "artifact payload"
    assert any(a.type == "run_table" for a in main_run.artifacts)


def test_artifact_files_gone_are_reported(runs: dict[str, Path], tmp_path: Path) -> None:
    rec = read_run(runs["main"])
    staged = Path(next(a for a in rec.artifacts if a.name == "env_configs").files["configs/epoch_0.json"])
    moved = tmp_path / "moved"
    staged.rename(moved)
    try:
        again = read_run(runs["main"])
    finally:
        moved.rename(staged)
    art = next(a for a in again.artifacts if a.name == "env_configs")
    assert art.files == {} and art.digest == next(a for a in rec.artifacts if a.name == "env_configs").digest
    assert any("env_configs" in p and "no longer staged" in p for p in again.problems)


def test_artifact_copy_kept_with_the_run_is_used_and_cannot_escape(runs: dict[str, Path], tmp_path: Path) -> None:
    """A copy under files/artifacts/<name>/<path> stands in for a staged file; traversal does not."""
    import shutil

    src = runs["main"]
    run_dir = tmp_path / src.name
    shutil.copytree(src, run_dir, symlinks=True)
    rec = read_run(run_dir)
    staged = Path(next(a for a in rec.artifacts if a.name == "env_configs").files["configs/epoch_0.json"])
    moved = tmp_path / "moved"
    staged.rename(moved)
    try:
        kept = run_dir / "files" / "artifacts" / "env_configs" / "configs" / "epoch_0.json"
        kept.parent.mkdir(parents=True)
        kept.write_text("kept copy")
        again = read_run(run_dir)
        art = next(a for a in again.artifacts if a.name == "env_configs")
        assert Path(art.files["configs/epoch_0.json"]).read_text() == "kept copy"
        assert not any("no longer staged" in p for p in again.problems)
        from runlab.sources.wandb_offline import _kept_copy

        (run_dir / "files" / "secret.txt").write_text("outside the artifact folder")
        assert _kept_copy(run_dir, "env_configs", "../../secret.txt") is None
        assert _kept_copy(run_dir, "env_configs", "configs/epoch_0.json") == kept.resolve()
    finally:
        moved.rename(staged)


# --- damaged files ------------------------------------------------------------------------------


def _copy_run(src: Path, dst_root: Path, data: bytes) -> Path:
    run_dir = dst_root / src.name
    run_dir.mkdir(parents=True)
    (run_dir / _log(src).name).write_bytes(data)
    return run_dir


@pytest.mark.parametrize("fraction", [0.31, 0.5, 0.77, 0.999])
def test_truncated_log_keeps_complete_records(runs: dict[str, Path], tmp_path: Path, fraction: float) -> None:
    data = _log(runs["long"]).read_bytes()
    cut = int(len(data) * fraction)
    rec = read_run(_copy_run(runs["long"], tmp_path, data[:cut]))
    full = read_run(runs["long"])
    assert rec.state == "crashed"
    rows, full_rows = _rows(rec), _rows(full)
    assert 0 < len(rows) < len(full_rows)
    last_step = max(s for s, _, _ in rows)
    assert _same_rows(rows, [r for r in full_rows if r[0] <= last_step]) or _same_rows(
        rows, [r for r in full_rows if r[0] < last_step] + [r for r in rows if r[0] == last_step]
    )
    assert any("truncated" in p and "bytes" in p for p in rec.problems)


def test_cut_at_record_boundary_is_crashed_without_exit(runs: dict[str, Path], tmp_path: Path) -> None:
    payloads = logtools.unframe(_log(runs["long"]).read_bytes())
    rec = read_run(_copy_run(runs["long"], tmp_path, logtools.frame(payloads[: len(payloads) // 2])))
    assert rec.state == "crashed"
    assert any("no exit record" in p for p in rec.problems)


def test_flipped_byte_loses_only_its_block(runs: dict[str, Path], tmp_path: Path) -> None:
    data = bytearray(_log(runs["long"]).read_bytes())
    data[logtools.BLOCK * 3 + 100] ^= 0xFF
    rec = read_run(_copy_run(runs["long"], tmp_path, bytes(data)))
    full = read_run(runs["long"])
    assert rec.state == "finished"  # the exit record after the damage survives
    assert 0.8 * full.history.num_rows < rec.history.num_rows < full.history.num_rows
    assert any("failed their checksum" in p and "offset" in p for p in rec.problems)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "is empty"),
        (os.urandom(5000), "not a W&B transaction log"),
        (b"PK\x03\x04 a zip file", "not a W&B transaction log"),
        (logtools.HEADER, "no complete record"),
        (logtools.HEADER + os.urandom(40000), "no complete record"),
        (logtools.HEADER[:6] + b"\x07" + b"\x00" * 10, "version 7"),
    ],
)
def test_not_a_log_is_a_clear_error(tmp_path: Path, content: bytes, match: str) -> None:
    run_dir = tmp_path / "offline-run-20240101_000000-bad"
    run_dir.mkdir()
    (run_dir / "run-bad.wandb").write_bytes(content)
    with pytest.raises(CorruptRunFileError, match=match) as info:
        read_run(run_dir)
    assert "run-bad.wandb" in str(info.value) and info.value.hint


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(min_size=0, max_size=70_000), max_size=6), st.data())
def test_framing_round_trip_and_any_cut(payloads: list[bytes], data: st.DataObject) -> None:
    log = logtools.frame(payloads)
    assert scan_log(log).records == payloads
    cut = data.draw(st.integers(min_value=7, max_value=len(log)))
    scan = scan_log(log[:cut])
    assert scan.records == payloads[: len(scan.records)]  # a prefix, never invented data
    if cut < len(log):
        assert len(scan.records) < len(payloads)
        boundary = len(logtools.frame(payloads[: len(scan.records)]))
        assert scan.truncated == any(log[boundary:cut])  # lost bytes are reported, padding is not


# --- finding runs and batches -------------------------------------------------------------------


def test_find_run_dirs_from_folder_run_dir_and_file(runs: dict[str, Path]) -> None:
    wandb_dir = runs["main"].parent
    found = find_run_dirs([wandb_dir])
    assert found == sorted(p.resolve() for p in runs.values())
    assert find_run_dirs([wandb_dir.parent, runs["main"], _log(runs["main"])]) == found  # deduplicated
    with pytest.raises(NotFoundError, match="does not exist"):
        find_run_dirs([wandb_dir / "nope"])
    with pytest.raises(NotFoundError, match="no W&B run directories"):
        find_run_dirs([runs["main"] / "files"])


def test_reader_yields_a_bad_run_as_a_failure_and_reads_the_others(runs: dict[str, Path], tmp_path: Path) -> None:
    bad = tmp_path / "offline-run-20240101_000000-bad"
    bad.mkdir()
    (bad / "run-bad.wandb").write_bytes(b"garbage")
    good = _copy_run(runs["failed"], tmp_path, _log(runs["failed"]).read_bytes())
    gone = tmp_path / "no-such-folder"
    batch = WandBOfflineReader([tmp_path, gone]).records()
    assert len(batch) == 3  # known before anything is read
    items = list(batch)
    records = [i for i in items if isinstance(i, RunRecord)]
    failures = [i for i in items if isinstance(i, RunFailure)]
    assert [r.origin_path for r in records] == [str(good.resolve())]
    assert sorted(f.origin for f in failures) == sorted([str(bad.resolve()), str(gone)])
    assert "run-bad.wandb" in next(f.error for f in failures if f.origin == str(bad.resolve()))
    assert "does not exist" in next(f.error for f in failures if f.origin == str(gone))
    with pytest.raises(InputError, match="already read"):
        list(batch)  # one pass: a second needs a new batch (the files may have changed)


def test_reader_with_nothing_to_read_is_not_found(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(NotFoundError, match="no W&B run"):
        WandBOfflineReader([tmp_path / "empty"]).records()
