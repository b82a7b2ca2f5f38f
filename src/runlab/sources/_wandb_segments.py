"""The segments of W&B offline runs: which log files make one run, whether they changed, and merging them.

A run resumed with ``wandb.init(id=..., resume="allow")`` writes a new run folder (or a second
``run-<id>.wandb`` file) per session: each is a *segment* of the same run. Segments are found
by reading only the head of each log (the run record sits in its first few records), grouped by
the run id they name, and ordered by their start time. A group's *stamp* (size, mtime and a
fingerprint of the first and last 64 KiB of every segment) lets the reader skip a run whose files
did not change without parsing them; the fingerprint catches a file rewritten in place with the
same size and a restored mtime.

Merging (:func:`merge`) keeps every segment's history, ordered by step; where two segments logged
the same metric at the same step the later segment wins (a resumed run that re-logs its last
steps after a checkpoint reload overwrites them, as the W&B server does).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from runlab.sources._record import HISTORY_SCHEMA, RunRecord
from runlab.sources._wandb_log import scan_log
from runlab.sources._wandb_records import RUN, sort_records

#: Bumped when the reader's output for unchanged files changes, so stored stamps stop matching.
READER_VERSION = 2
_HEAD_BYTES = 64 * 1024
_PEEK_BYTES = 256 * 1024


@dataclass(frozen=True)
class Segment:
    """One log file of a run, with what its head says about the run."""

    log: Path
    run_dir: Path
    short_id: str
    """The W&B run id (``abc123``), from the run record, else from the folder or file name."""
    entity: str = ""
    project: str = ""
    started: float = 0.0
    """Start time (Unix seconds) from the run record; 0 when unknown."""

    @property
    def run_id(self) -> str:
        """The source-qualified id the reader gives the run (see ``wandb_offline._fold``)."""
        return f"wandb:{self.entity or 'local'}/{self.project or 'uncategorized'}/{self.short_id}"


@dataclass
class RunGroup:
    """All segments of one run, oldest first, and their stamp."""

    run_id: str
    segments: list[Segment] = field(default_factory=list)
    stamp: str = ""


def peek(log: Path, run_dir: Path, fallback_id: str) -> Segment:
    """The run identity in the head of ``log`` (no full read); the path's id when the head has none."""
    from wandb.proto import wandb_internal_pb2 as pb

    seg = Segment(log, run_dir, fallback_id)
    records: list[tuple[int, int, bytes]] = []
    try:
        with open(log, "rb") as fh:
            for size in (8 * 1024, _PEEK_BYTES):  # the run record is among the first few records
                fh.seek(0)
                head = fh.read(size)
                records = sort_records(scan_log(head, name=str(log)).records).other
                if any(kind == RUN for _, kind, _ in records) or len(head) < size:
                    break
    except Exception:  # the full read reports what is wrong with the file
        return seg
    for _, kind, payload in records:
        if kind != RUN:
            continue
        try:
            run = pb.Record.FromString(bytes(payload)).run
        except Exception:
            return seg
        started = run.start_time.seconds + run.start_time.nanos / 1e9 if run.HasField("start_time") else 0.0
        return replace(seg, short_id=run.run_id or fallback_id, entity=run.entity, project=run.project,
                       started=started)
    return seg


def stamp(segments: list[Segment]) -> str:
    """Size, mtime and a head/tail fingerprint of every segment's log, as one key."""
    h = hashlib.blake2b(digest_size=16)
    h.update(f"reader-{READER_VERSION}".encode())
    for seg in segments:
        st = os.stat(seg.log)
        h.update(f"|{seg.log}|{st.st_size}|{st.st_mtime_ns}|".encode())
        with open(seg.log, "rb") as fh:
            h.update(fh.read(_HEAD_BYTES))
            if st.st_size > 2 * _HEAD_BYTES:
                fh.seek(-_HEAD_BYTES, os.SEEK_END)
            h.update(fh.read(_HEAD_BYTES))
    return h.hexdigest()


def group(segments: list[Segment]) -> list[RunGroup]:
    """Segments grouped by run id, each group ordered by start time (then folder and file name)."""
    groups: dict[str, RunGroup] = {}
    for seg in segments:
        groups.setdefault(seg.run_id, RunGroup(seg.run_id)).segments.append(seg)
    for g in groups.values():
        g.segments.sort(key=lambda s: (s.started, s.run_dir.name, s.log.name))
    return sorted(groups.values(), key=lambda g: (g.segments[0].run_dir.as_posix(), g.run_id))


def merge(records: list[RunRecord]) -> RunRecord:
    """One record from a run's segments (oldest first): later metadata and values win, history merged.

    The merge is reported in the record's ``problems``: how many segments, their step ranges,
    and how many values a later segment overwrote.
    """
    if len(records) == 1:
        return records[0]
    for r in records:  # the merge by step needs every segment whole
        if r.history_batches is not None:
            r.history, r.history_batches = r.history_batches.read_all(), None
    last = records[-1]
    history, overwritten = merge_histories([r.history for r in records])
    config: dict[str, Any] = {}
    summary: dict[str, Any] = {}
    tables: dict[str, Any] = {}
    problems: list[str] = []
    for i, r in enumerate(records, start=1):
        config.update(r.config)
        summary.update(r.summary)
        tables.update(r.tables)
        problems.extend(f"segment {i} ({Path(r.origin_path).name}): {p}" for p in r.problems)
    ranges = ", ".join(_step_range(r.history) for r in records)
    note = f"resumed run: merged {len(records)} segments (steps {ranges})"
    if overwritten:
        note += f"; {overwritten} value(s) logged again at the same step were taken from the later segment"
    created = [r.created_at for r in records if r.created_at is not None]
    updated = [r.updated_at for r in records if r.updated_at is not None]
    return replace(
        last,
        name=next((r.name for r in reversed(records) if r.name), ""),
        created_at=min(created) if created else None,
        updated_at=max(updated) if updated else None,
        config=config,
        summary=summary,
        history=history,
        history_batches=None,
        artifacts=[a for r in records for a in r.artifacts],
        tables=tables,
        origin_path=";".join(r.origin_path for r in records),
        problems=[note, *problems],
    )


def _step_range(history: pa.Table) -> str:
    if history.num_rows == 0:
        return "none"
    steps = history["step"].to_numpy()
    return f"{int(steps.min())}-{int(steps.max())}"


def merge_histories(tables: list[pa.Table]) -> tuple[pa.Table, int]:
    """Histories of consecutive segments as one, ordered by step; on a repeated (step, metric) the
    later table's value wins. Returns the table and how many earlier values were overwritten."""
    tables = [t.select(HISTORY_SCHEMA.names).cast(HISTORY_SCHEMA) for t in tables]
    combined = pa.concat_tables(tables).combine_chunks()
    n = combined.num_rows
    if n == 0:
        return HISTORY_SCHEMA.empty_table(), 0
    seg = np.concatenate([np.full(t.num_rows, i, np.int64) for i, t in enumerate(tables)])
    codes = combined["metric"].dictionary_encode().combine_chunks().indices.to_numpy()
    steps = combined["step"].to_numpy()
    order = np.lexsort((seg, codes, steps))  # by step, then metric, then segment (later last)
    s, c = steps[order], codes[order]
    last_of_key = np.ones(n, bool)
    last_of_key[:-1] = (s[1:] != s[:-1]) | (c[1:] != c[:-1])
    keep = order[last_of_key]
    keep.sort(kind="stable")  # back to segment order within a step: steps stay ascending below
    out = combined.take(pa.array(keep))
    out = out.take(pa.array(np.argsort(out["step"].to_numpy(), kind="stable")))
    return out, int(n - keep.size)
