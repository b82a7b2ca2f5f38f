"""Reader of W&B offline run directories (``wandb/offline-run-*/run-<id>.wandb``).

Researchers run with ``WANDB_MODE=offline`` on clusters without network, or keep the ``wandb/``
folder of online runs; the transaction log in each run directory holds everything the run logged.
This module turns one run directory into a :class:`~runlab.sources.RunRecord` without the W&B
server and without ``wandb sync``:

* framing and checksums: :mod:`._wandb_log` (tolerant of crashed runs' truncated logs);
* record kinds, config and summary folding: :mod:`._wandb_records`;
* history items in bulk, window by window, held or spilled: :mod:`._wandb_items`, :mod:`._wandb_history`;
* here: run directories, problems, tables under ``files/media/table``, artifacts.

``read_run`` raises :class:`~runlab.errors.CorruptRunFileError` for a run that cannot be read at
all; :class:`WandBOfflineReader` is the source over many runs: it yields one item per run folder,
a bad run as a :class:`~runlab.sources.RunFailure` item, and never stops the others::

    report = wh.ingest(WandBOfflineReader(["wandb/"]).records())
"""

from __future__ import annotations

import gc
import json
import os
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from runlab.errors import CorruptRunFileError, NotFoundError, RunlabError
from runlab.sources._batch import Known, RecordBatch, RunFailure, RunUnchanged, SourceItem
from runlab.sources._record import ArtifactRecord, RunRecord
from runlab.sources._wandb_history import HistoryChunks
from runlab.sources._wandb_items import REMOVED, decode_history, decode_summary, last_per_key
from runlab.sources._wandb_log import iter_log
from runlab.sources._wandb_records import (
    ARTIFACT,
    CONFIG,
    EXIT,
    RUN,
    SortedRecords,
    apply_config,
    clean_config,
    set_path,
    sort_records,
)
from runlab.sources._wandb_segments import RunGroup, Segment, group, merge, peek, stamp

__all__ = ["WandBOfflineReader", "find_run_dirs", "read_run"]

SOURCE = "wandb-offline"
_RUN_DIR = re.compile(r"^(?:offline-)?run-\d{8}_\d{6}-(?P<id>[^/\\]+)$")
_TABLE_FILE = re.compile(r"^(?P<key>.+)_(?P<step>\d+)_[0-9a-f]+\.table\.json$")
_TABLE_TYPES = frozenset(("table-file", "partitioned-table", "joined-table"))


def find_run_dirs(paths: Sequence[Path | str]) -> list[Path]:
    """Run directories under ``paths``: run dirs themselves, ``.wandb`` files, or folders holding them.

    Folders are searched recursively (a project root, its ``wandb/`` folder, a copied cluster
    scratch dir); a run directory's own subfolders are not. The ``latest-run`` link is resolved,
    so each run appears once. Raises :class:`NotFoundError` for a path that does not exist or
    holds no run.
    """
    found: set[Path] = set()
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists():
            raise NotFoundError(
                f"path {str(raw)!r} does not exist",
                hint="pass a W&B run directory (offline-run-*/run-*) or a folder that contains them, e.g. ./wandb",
            )
        if path.is_file():
            if path.suffix != ".wandb":
                raise NotFoundError(
                    f"{str(raw)!r} is a file but not a W&B run file (run-<id>.wandb)",
                    hint="pass the run directory or its run-<id>.wandb file",
                )
            found.add(path.parent.resolve())
            continue
        before = len(found)
        found.update(_walk_run_dirs(path))
        if len(found) == before and not _is_run_dir(path):
            raise NotFoundError(
                f"no W&B run directories (offline-run-*/run-* holding a run-<id>.wandb file) under {str(raw)!r}",
                hint="point at the wandb/ folder your runs wrote, or at one offline-run-* directory",
            )
    return sorted(found)


def _is_run_dir(path: Path) -> bool:
    return _RUN_DIR.match(path.name) is not None or any(path.glob("run-*.wandb"))


def _walk_run_dirs(root: Path) -> Iterator[Path]:
    if _is_run_dir(root):
        yield root.resolve()
        return
    for dirpath, dirnames, _ in os.walk(root, followlinks=False):
        keep = []
        for name in sorted(dirnames):
            child = Path(dirpath) / name
            if child.is_symlink():
                continue  # latest-run and friends point at a run already walked
            if _is_run_dir(child):
                yield child.resolve()
            else:
                keep.append(name)
        dirnames[:] = keep


class WandBOfflineReader:
    """The runs under some paths (run folders, ``.wandb`` files, or folders holding them), as a source.

    ``records(known)`` finds the run folders at once (a path that holds none is a
    :class:`NotFoundError`; a path that does not exist is one failed item), reads the head of
    every log to learn which run it belongs to, and yields one item per run: the segments of a
    resumed run (several ``run-<id>.wandb`` files, in one folder or several) become one record
    whose history is merged by step (see :mod:`._wandb_segments`). Given ``known``, a run whose
    files match the stamp stored with it (size, mtime, head/tail fingerprint) is a
    :class:`RunUnchanged` item and is not parsed at all. A run that cannot be read is a
    :class:`RunFailure` item, never the end of the batch.
    """

    def __init__(self, paths: Sequence[Path | str]) -> None:
        if isinstance(paths, str | Path):
            paths = [paths]
        self.paths = tuple(Path(p).expanduser() for p in paths)

    def records(self, known: Known | None = None) -> RecordBatch:
        """One item per run under :attr:`paths` (see the class doc)."""
        missing = [p for p in self.paths if not p.exists()]
        existing = [p for p in self.paths if p.exists()]
        run_dirs = find_run_dirs(existing) if existing else []
        if not run_dirs and not missing:
            shown = ", ".join(str(p) for p in self.paths) or "(no paths given)"
            raise NotFoundError(
                f"no W&B offline run folders (offline-run-*, run-*) found under {shown}",
                hint="point at a run folder or at the wandb/ folder that holds them",
            )
        # A file named on the command line is read even when its name is not run-<id>.wandb, so a
        # file that is not a W&B log is reported by its own name, not as its folder.
        named = [p.parent.resolve() / p.name for p in existing if p.is_file()]
        segments: list[Segment] = []
        empty: list[Path] = []
        for run_dir in run_dirs:
            logs = sorted(set(run_dir.glob("run-*.wandb")) | {f for f in named if f.parent == run_dir})
            if not logs:
                empty.append(run_dir)
            for log in logs:
                segments.append(peek(log, run_dir, _id_from_path(run_dir, log)))
        groups = group(segments)
        return RecordBatch(self._read(missing, empty, groups, known, set(named)),
                           total=len(missing) + len(empty) + len(groups))

    def _read(self, missing: list[Path], empty: list[Path], groups: list[RunGroup],
              known: Known | None, named: set[Path]) -> Iterator[SourceItem]:
        for path in missing:
            yield RunFailure("", path.name, "path does not exist", origin=str(path))
        for run_dir in empty:
            yield _failure(run_dir, lambda d=run_dir: read_run(d))
        for g in groups:
            try:
                g.stamp = stamp(g.segments)
            except OSError as exc:
                yield RunFailure(g.run_id, g.segments[0].run_dir.name, f"{type(exc).__name__}: {exc}",
                                 origin=str(g.segments[0].run_dir))
                continue
            held = known(g.run_id) if known is not None else None
            if held is not None and held.source_stamp == g.stamp:
                yield RunUnchanged(g.run_id, held.name or g.run_id, "run files unchanged since the last ingest")
                continue
            yield self._read_group(g, named)

    @staticmethod
    def _read_group(g: RunGroup, named: set[Path]) -> SourceItem:
        """The run of one group: every segment read, then merged; a bad segment is reported, not fatal.
        A failure names the run folder, or the file itself when that file was the path given."""
        records: list[RunRecord] = []
        bad: list[str] = []
        for seg in g.segments:
            item = _failure(seg.run_dir, lambda s=seg: read_run(s.log))
            if isinstance(item, RunRecord):
                records.append(item)
            else:
                bad.append(item.error if str(seg.log) in item.error else f"{seg.log}: {item.error}")
        if not records:
            first = g.segments[0]
            if len(g.segments) == 1 and first.log in named:
                return RunFailure("", first.log.name, bad[0], origin=str(first.log))
            return RunFailure("", first.run_dir.name, "; ".join(bad), origin=str(first.run_dir))
        record = merge(records)
        record.problems.extend(f"segment {b} could not be read and is left out" for b in bad)
        record.source_stamp = g.stamp
        return record


def _failure(run_dir: Path, read: Callable[[], RunRecord]) -> RunRecord | RunFailure:
    """``read()``, or the failure item that names the run folder and what went wrong."""
    try:
        return read()
    except RunlabError as exc:
        return RunFailure("", run_dir.name, str(exc), origin=str(run_dir))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return RunFailure("", run_dir.name, f"{type(exc).__name__}: {exc}", origin=str(run_dir))


def read_run(run_dir: Path | str) -> RunRecord:
    """Read one offline run directory (or its ``run-<id>.wandb`` file) into a :class:`RunRecord`."""
    # Decoding creates millions of small tuples and no reference cycles; the cyclic collector
    # would rescan them again and again (half the run time on a 100k-step run).
    with _gc_paused():
        return _read_run(Path(run_dir))


@contextmanager
def _gc_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _read_run(run_dir: Path) -> RunRecord:
    """Read the log window by window (see :func:`iter_log`): the history of each window is decoded
    into a chunk at once, so memory stays bounded; the few other records are kept and folded."""
    log_path = _log_file(run_dir)
    if log_path.parent != run_dir:
        run_dir = log_path.parent
    records = SortedRecords()
    history = HistoryChunks()
    history_at: list[list[int]] = []
    seen = 0
    scan = None
    for payloads, framed in iter_log(log_path):
        scan = framed
        part = sort_records(payloads)
        records.summary.extend(part.summary)
        records.summary_at.extend(i + seen for i in part.summary_at)
        records.other.extend((i + seen, kind, payload) for i, kind, payload in part.other)
        records.unreadable += part.unreadable
        history_at.append([i + seen for i in part.history_at])
        seen += len(payloads)
        del payloads
        items = decode_history(part.history)
        del part
        records.unreadable += items.unreadable
        history.add(items)
        del items
    assert scan is not None
    if not seen:
        detail = "; ".join(scan.problems) or "it holds a header and nothing else"
        raise CorruptRunFileError(
            f"W&B run file {str(log_path)!r} holds no complete record: {detail}",
            hint="the run wrote nothing readable; delete it or leave it out of the paths you ingest",
        )
    record = _fold(records, history, run_dir, log_path)
    record.problems[:0] = scan.problems
    if records.unreadable:
        record.problems.append(
            f"{records.unreadable} record(s) passed their checksum but could not be decoded and were skipped"
        )
    if scan.damage_at:
        at = [i for window in history_at for i in window]
        steps = np.concatenate(history.record_steps) if history.record_steps else np.empty(0, np.int64)
        record.problems.extend(_lost_steps(scan.damage_at, at, steps, record.history_rows,
                                           history.steps_with_rows()))
    _finish_state(record, records, truncated=scan.truncated)
    record.tables = _read_tables(run_dir, record, history.table_refs)
    return record


def _lost_steps(damage_at: list[int], history_at: list[int], steps: np.ndarray, rows: int,
                n_steps: int) -> list[str]:
    """What each damaged region cost in history: the steps missing between the kept records around it.

    A damaged region may hold any number of records, so the count of lost records is unknown;
    the steps the run logged are not: the kept history record before the damage and the one
    after it bound the lost steps. Values are estimated at the run's own values per step.
    """
    at = np.asarray(history_at, np.int64)
    st = np.asarray(steps, np.int64)[: at.size]
    per_step = rows / n_steps if n_steps else 0.0
    out: list[str] = []
    for pos in sorted(set(damage_at)):
        i = int(np.searchsorted(at, pos))
        before = int(st[i - 1]) if i > 0 else None
        after = int(st[i]) if i < st.size else None
        if after is None:
            last = "no history step" if before is None else f"step {before}"
            out.append(f"the history ends at {last} where the log is damaged or cut: whatever the run logged after "
                       "it is lost")
            continue
        first = 0 if before is None else before + 1
        missing = after - first
        if missing <= 0:
            out.append(f"damage between steps {before} and {after} cut no history step (other records were lost)")
            continue
        about = f", about {round(missing * per_step):,} values at {per_step:.3g} per step" if per_step else ""
        out.append(f"the damage cut history steps {first}-{after - 1}: {missing:,} step(s) missing{about}")
    return out


def _log_file(path: Path) -> Path:
    if path.is_file():
        return path
    if not path.is_dir():
        raise CorruptRunFileError(
            f"W&B run directory {str(path)!r} does not exist",
            hint="check the path, or run `runlab ingest` on its parent",
        )
    logs = sorted(path.glob("run-*.wandb"))
    if not logs:
        raise CorruptRunFileError(
            f"W&B run directory {str(path)!r} has no run-<id>.wandb file",
            hint="the run was stopped before it started writing; delete the directory or leave it out",
        )
    return logs[-1]


def _fold(records: SortedRecords, history: HistoryChunks, run_dir: Path, log_path: Path) -> RunRecord:
    """Build the RunRecord from the sorted records and the decoded history."""
    from wandb.proto import wandb_internal_pb2 as pb

    run_id = _id_from_path(run_dir, log_path)
    record = RunRecord(run_id="", source=SOURCE, origin_path=str(run_dir))
    config: dict[str, Any] = {}
    summary_events: dict[tuple[str, ...], tuple[int, Any]] = {}
    exit_code: int | None = None
    have_run = False
    for ordinal, kind, payload in records.other:
        msg = pb.Record.FromString(bytes(payload))
        if kind == RUN:
            have_run = True
            run_id = _apply_run(record, msg.run, config, summary_events, ordinal) or run_id
        elif kind == CONFIG:
            apply_config(config, msg.config)
        elif kind == EXIT:
            exit_code = msg.exit.exit_code
        elif kind == ARTIFACT:
            record.artifacts.append(_artifact(msg.artifact, record.problems, run_dir))
    if not have_run:
        record.problems.append("the log has no run record: entity, project and name are unknown")
    record.project = record.project or "uncategorized"
    record.run_id = f"wandb:{record.entity or 'local'}/{record.project}/{run_id}"
    record.config = clean_config(config)
    history.apply(record)
    record.summary = _summary(records, summary_events)
    if exit_code is not None:
        record.state = "finished" if exit_code == 0 else "failed"
        if exit_code != 0:
            record.problems.append(f"the run exited with code {exit_code}")
    return record


def _id_from_path(run_dir: Path, log_path: Path) -> str:
    m = _RUN_DIR.match(run_dir.name)
    if m:
        return m.group("id")
    return log_path.stem.removeprefix("run-")


def _apply_run(
    record: RunRecord,
    run: Any,
    config: dict[str, Any],
    summary_events: dict[tuple[str, ...], tuple[int, Any]],
    ordinal: int,
) -> str:
    """Copy a RunRecord message's identity fields; the last non-empty value of each wins."""
    record.entity = run.entity or record.entity
    record.project = run.project or record.project
    record.name = run.display_name or record.name
    record.group = run.run_group or record.group
    record.job_type = run.job_type or record.job_type
    record.notes = run.notes or record.notes
    record.sweep_id = run.sweep_id or record.sweep_id
    if run.tags:
        record.tags = list(run.tags)
    if run.HasField("start_time") and record.created_at is None:
        ts = run.start_time
        record.created_at = datetime.fromtimestamp(ts.seconds + ts.nanos / 1e9, tz=UTC)
    apply_config(config, run.config)
    for item in run.summary.update:
        summary_events[tuple(item.nested_key) or (item.key,)] = (ordinal, _json_or_text(item.value_json))
    return run.run_id


def _json_or_text(text: str | bytes) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _summary(records: SortedRecords, run_events: dict[tuple[str, ...], tuple[int, Any]]) -> dict[str, Any]:
    """Final summary: the last value written per key, by summary records or the run record."""
    cols = decode_summary(records.summary)
    last = dict(run_events)
    for kid, j in last_per_key(cols):
        ordinal = records.summary_at[int(cols.record[j])]
        path = cols.parts[kid]
        if path not in last or ordinal >= last[path][0]:
            raw = cols.raw[j]
            last[path] = (ordinal, REMOVED if raw == REMOVED else _json_or_text(raw))
    summary: dict[str, Any] = {}
    for path in sorted(last):
        value = last[path][1]
        if value is not REMOVED and path[0] != "_wandb":
            set_path(summary, path, value)
    return summary


def _finish_state(record: RunRecord, records: SortedRecords, *, truncated: bool) -> None:
    if record.state in ("finished", "failed"):
        return
    record.state = "crashed"
    if not truncated:
        record.problems.append(
            "the log has no exit record: the run was killed, or is still running and was read mid-way"
        )


def _kept_copy(run_dir: Path | None, artifact: str, path: str) -> Path | None:
    """A copy kept with the run at ``files/artifacts/<artifact>/<path>`` (how runlab's sample
    generator and trainers keep artifact contents next to a shipped run), never outside that folder."""
    if run_dir is None:
        return None
    root = (run_dir / "files" / "artifacts" / artifact).resolve()
    candidate = (root / path).resolve()
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    return candidate


def _artifact(msg: Any, problems: list[str], run_dir: Path | None = None) -> ArtifactRecord:
    """ArtifactRecord from a logged artifact; files map to staged copies that still exist, else to
    a copy kept in the run folder (see :func:`_kept_copy`)."""
    try:
        metadata = json.loads(msg.metadata) if msg.metadata else {}
    except ValueError:
        metadata = {"_unparsed": msg.metadata}
    if not isinstance(metadata, dict):
        metadata = {"value": metadata}
    files: dict[str, str] = {}
    missing = 0
    for entry in msg.manifest.contents:
        kept = None if entry.ref else _kept_copy(run_dir, msg.name, entry.path)
        if entry.local_path and Path(entry.local_path).is_file():
            files[entry.path] = entry.local_path
        elif kept is not None:
            files[entry.path] = str(kept)
        elif not entry.ref:
            missing += 1
    if missing:
        problems.append(
            f"artifact {msg.name!r}: {missing} of {len(msg.manifest.contents)} file(s) are no longer staged "
            "on this machine; only their names and digests were kept"
        )
    aliases = [a for a in msg.aliases if a != "latest"] or list(msg.aliases)
    return ArtifactRecord(
        name=msg.name,
        type=msg.type,
        version=aliases[0] if aliases else "",
        digest=msg.digest,
        metadata=metadata,
        files=files,
    )


def _read_tables(run_dir: Path, record: RunRecord, refs: list[tuple[str, str]]) -> dict[str, Any]:
    """W&B tables saved as JSON under ``files/media/table``, keyed by the history key that logged them."""
    files_dir = (run_dir / "files").resolve()
    table_dir = files_dir / "media" / "table"
    if not table_dir.is_dir():
        return {}
    key_of: dict[Path, str] = {}
    for key, value in refs:
        path = (files_dir / value).resolve()
        if path.is_relative_to(files_dir):
            key_of[path] = key
    tables: dict[str, Any] = {}
    for path in sorted(table_dir.rglob("*.table.json")):
        resolved = path.resolve()
        if not resolved.is_relative_to(files_dir) or not resolved.is_file():
            continue
        key = key_of.get(resolved)
        if key is None:
            m = _TABLE_FILE.match(path.name)
            rel = path.relative_to(table_dir).parent / (m.group("key") if m else path.name)
            key = rel.as_posix()
        try:
            data = json.loads(resolved.read_text(encoding="utf-8"))
            tables[key] = {"columns": list(data["columns"]), "data": list(data["data"])}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            record.problems.append(f"table file {str(path)!r} could not be read ({exc}); it was skipped")
    return tables
