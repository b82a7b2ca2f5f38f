"""The one data contract between sources and the warehouse.

Every source (W&B offline reader, W&B API collector, CSV import) produces :class:`RunRecord`
objects; the warehouse stores them. Nothing downstream of the warehouse sees a source.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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
    source_stamp: str = ""
    """What the source read, as a key (file sizes, mtimes, content fingerprint): stored with the run,
    so the next pass can skip unchanged files before parsing them (see :attr:`SyncState.source_stamp`)."""

    def fingerprint(self) -> str:
        """Content key: equal fingerprints mean re-ingesting changes nothing."""
        h = hashlib.sha256()
        meta = {
            k: getattr(self, k)
            for k in ("run_id", "name", "group", "job_type", "tags", "notes", "state", "config", "summary", "sweep_id")
        }
        h.update(json.dumps(meta, sort_keys=True, default=str).encode())
        for col in self.history.columns:
            for chunk in col.chunks:
                for buf in chunk.buffers():
                    if buf is not None:
                        h.update(buf)
        h.update(str(self.history.num_rows).encode())
        for a in self.artifacts:
            h.update(f"{a.name}:{a.version}:{a.digest}".encode())
        return h.hexdigest()[:32]
