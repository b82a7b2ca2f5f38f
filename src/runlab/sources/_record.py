"""The one data contract between sources and the warehouse.

Every source (W&B offline reader, W&B API collector, CSV import) produces :class:`RunRecord`
objects; the warehouse stores them. Nothing downstream of the warehouse sees a source.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

#: Long-form history schema: one row per (step, metric) with a float value. NaN/inf are kept.
HISTORY_SCHEMA = pa.schema(
    [
        pa.field("step", pa.int64(), nullable=False),
        pa.field("metric", pa.string(), nullable=False),
        pa.field("value", pa.float64()),
    ]
)

#: Metrics that are x-axes: the warehouse also stores them as columns next to each history row,
#: so that runs align on any of them without a self-join. ``step`` itself is W&B's ``_step``.
X_AXES: tuple[str, ...] = (
    "metric/agent_step",
    "metric/epoch",
    "metric/total_time",
    "global_step",
    "_runtime",
    "_timestamp",
)


class HistorySpill:
    """A history too big to hold in memory: chunks in a temporary Arrow stream file, read back in order.

    A source appends chunks of :data:`HISTORY_SCHEMA` rows (each ordered by step, and each chunk's
    steps not before the previous chunk's), then calls :meth:`finish`; the fingerprint and the
    warehouse writer iterate the chunks one at a time, so neither holds the whole history. The
    file is removed by :meth:`close` or when the object is collected.
    """

    def __init__(self, directory: Path | str | None = None) -> None:
        fd, name = tempfile.mkstemp(prefix="runlab-history-", suffix=".arrows", dir=directory)
        os.close(fd)
        self.path = Path(name)
        self._finalizer = weakref.finalize(self, _remove_file, self.path)
        self._sink: Any = pa.OSFile(name, "wb")
        self._writer: Any = pa.ipc.new_stream(self._sink, HISTORY_SCHEMA)
        self.num_rows = 0
        self.num_chunks = 0

    def append(self, table: pa.Table) -> None:
        """Add one chunk (written as one record batch)."""
        if self._writer is None:
            raise ValueError(f"history spill {self.path} is finished; no chunk can be added")
        table = table.select(HISTORY_SCHEMA.names).cast(HISTORY_SCHEMA).combine_chunks()
        for batch in table.to_batches():
            self._writer.write_batch(batch)
        self.num_rows += table.num_rows
        self.num_chunks += 1

    def finish(self) -> HistorySpill:
        """Close the file for writing; chunks can be read from now on."""
        if self._writer is not None:
            self._writer.close()
            self._sink.close()
            self._writer = self._sink = None
        return self

    def __iter__(self) -> Iterator[pa.Table]:
        self.finish()
        with pa.OSFile(str(self.path), "rb") as fh:
            for batch in pa.ipc.open_stream(fh):
                yield pa.Table.from_batches([batch])

    def read_all(self) -> pa.Table:
        """The whole history as one table (for the few paths that need it whole: segment merges)."""
        tables = list(self)
        return pa.concat_tables(tables).combine_chunks() if tables else HISTORY_SCHEMA.empty_table()

    def close(self) -> None:
        """Remove the file now."""
        self.finish()
        self._finalizer()


def _remove_file(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def hash_history(h: Any, tables: Iterable[pa.Table]) -> int:
    """Feed the history rows to hash ``h`` in a form that does not depend on how they are chunked.

    Each column streams into its own hash (steps and values as fixed-width bytes, metric names as
    UTF-8 bytes plus each name's length, null positions counted from the first row); their digests
    then go into ``h``. Returns the number of rows hashed.
    """
    parts = {k: hashlib.sha256() for k in ("step", "metric_len", "metric", "value", "nulls")}
    rows = 0
    for table in tables:
        for batch in table.to_batches():
            before, rows = rows, rows + batch.num_rows
            for name in HISTORY_SCHEMA.names:
                col = batch.column(batch.schema.get_field_index(name))
                if col.null_count:
                    at = np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False)) + before
                    parts["nulls"].update(name.encode() + at.astype(np.int64).tobytes())
                if name == "metric":
                    col = col.cast(pa.string()) if col.type != pa.string() else col
                    offsets = np.frombuffer(col.buffers()[1], np.int32)[col.offset : col.offset + len(col) + 1]
                    parts["metric_len"].update(np.diff(offsets).astype(np.int64).tobytes())
                    data = col.buffers()[2]
                    if data is not None and len(col):
                        parts["metric"].update(memoryview(data)[int(offsets[0]) : int(offsets[-1])])
                else:
                    arr = col.to_numpy(zero_copy_only=False)
                    parts[name].update(np.ascontiguousarray(arr).tobytes())
    for part in parts.values():
        h.update(part.digest())
    return rows


@dataclass(frozen=True, kw_only=True)
class ArtifactRecord:
    """An artifact logged (output) by a run."""

    name: str
    """Artifact name without version, e.g. ``environment_configs``."""
    type: str
    """Artifact type, e.g. ``dataset``, ``environment_configs``."""
    version: str = ""
    """Version alias or digest as the source knows it."""
    digest: str = ""
    """Content digest (W&B manifest digest when known)."""
    metadata: dict[str, Any] = field(default_factory=dict)
    """Artifact metadata dict."""
    files: dict[str, str] = field(default_factory=dict)
    """Logical path inside the artifact -> local file path where the content still exists."""
    error: str = ""
    """Why the artifact's files are not stored although they were wanted (the download failed);
    empty when they are stored or were never wanted. The run is stored either way, and the next
    fetch downloads only the artifacts that carry an error."""

    @property
    def status(self) -> str:
        """``stored`` (files copied), ``failed`` (wanted, download failed: :attr:`error`) or ``listed``."""
        if self.error:
            return "failed"
        return "stored" if self.files else "listed"

    @property
    def key(self) -> tuple[str, str, str]:
        """``(name, version, digest)``: what identifies one stored version (to notice new ones)."""
        return (self.name, self.version, self.digest)


@dataclass(kw_only=True)
class RunRecord:
    """Everything runlab keeps about one run, source-independent.

    ``history`` is long form (:data:`HISTORY_SCHEMA`), ordered by step. ``config`` is the nested
    config (Hydra/OmegaConf style) with W&B's ``{"value": ...}`` wrappers removed.
    """

    run_id: str
    """Source-qualified id, e.g. ``wandb:entity/project/abc123``; stable across re-ingests."""
    source: str
    """``wandb-offline`` | ``wandb-api`` | ``csv`` ..."""
    entity: str = ""
    project: str = ""
    name: str = ""
    """Display name; data, never code or markup (may contain quotes, newlines, emoji)."""
    group: str = ""
    job_type: str = ""
    tags: list[str] = field(default_factory=list)
    notes: str = ""
    state: str = "unknown"
    """``running`` | ``finished`` | ``failed`` | ``crashed`` | ``unknown``."""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    config: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    sweep_id: str = ""
    history: pa.Table = field(default_factory=lambda: HISTORY_SCHEMA.empty_table())
    artifacts: list[ArtifactRecord] = field(default_factory=list)
    tables: dict[str, Any] = field(default_factory=dict)
    """W&B tables found in the run's media (``key -> {"columns": [...], "data": [[...]]}``)."""
    origin_path: str = ""
    """Where the record came from (offline run dir or API URL), for messages."""
    problems: list[str] = field(default_factory=list)
    """Non-fatal issues found while reading (truncation, bytes lost, NaN counts, skipped values)."""
    history_is_partial: bool = False
    """True when ``history`` holds only new steps (``min_step`` refresh) to append to stored history."""
    history_batches: HistorySpill | None = None
    """Set instead of :attr:`history` (then empty) for a history too big to hold: its chunks, in
    step order. Consumers read it through :meth:`history_chunks` and :attr:`history_rows`."""
    source_stamp: str = ""
    """What the source read, as a key (file sizes, mtimes, content fingerprint): stored with the run,
    so the next pass can skip unchanged files before parsing them (see :attr:`SyncState.source_stamp`)."""

    @property
    def history_rows(self) -> int:
        """Rows of history, held or spilled."""
        if self.history_batches is not None:
            return self.history_batches.num_rows
        return self.history.num_rows

    def history_chunks(self) -> Iterator[pa.Table]:
        """The history in step order, one chunk at a time (the whole table when it is held)."""
        if self.history_batches is not None:
            yield from self.history_batches
        else:
            yield self.history

    def fingerprint(self) -> str:
        """Content key: equal fingerprints mean re-ingesting changes nothing."""
        h = hashlib.sha256()
        meta = {
            k: getattr(self, k)
            for k in ("run_id", "name", "group", "job_type", "tags", "notes", "state", "config", "summary", "sweep_id")
        }
        h.update(json.dumps(meta, sort_keys=True, default=str).encode())
        rows = hash_history(h, self.history_chunks())
        h.update(str(rows).encode())
        for a in self.artifacts:
            h.update(f"{a.name}:{a.version}:{a.digest}".encode())
        return h.hexdigest()[:32]
