"""What the test server knows: projects of runs, each with metadata and a full history.

Runs come from W&B offline run directories written by the real wandb client (through
``runlab.sources.wandb_offline.read_run``) or are built directly for edge cases.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ._artifacts import StoredArtifact, stored_artifact_from_record

if TYPE_CHECKING:
    from runlab.sources import RunRecord


@dataclass(kw_only=True)
class StoredRun:
    """One run as the backend stores it. ``history`` rows are dicts with ``_step`` and metric values."""

    id: str
    """The run id (W&B's ``name`` field in GraphQL)."""
    display_name: str = ""
    state: str = "finished"
    config: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    group: str | None = None
    job_type: str | None = None
    notes: str | None = None
    sweep_name: str | None = None
    created_at: datetime = field(default_factory=lambda: datetime(2025, 1, 1, tzinfo=UTC))
    heartbeat_at: datetime | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    exported_rows: int | None = None
    """How many leading history rows are in the parquet export; the rest is live data (None: all)."""
    artifacts: list[StoredArtifact] = field(default_factory=list)
    """Output artifacts (``logged_artifacts()``), newest version last."""

    def append_history(self, rows: list[dict[str, Any]], *, at: datetime | None = None) -> None:
        """Add rows (a running run logging more steps) and move its heartbeat."""
        self.history.extend(rows)
        self.heartbeat_at = at or datetime.now(UTC)
        for row in rows:
            self.summary.update({k: v for k, v in row.items() if not k.startswith("_")})

    @property
    def last_step(self) -> int:
        return max((int(r["_step"]) for r in self.history), default=-1)

    def history_keys(self) -> dict[str, Any]:
        """W&B's ``historyKeys``: per key, counts of value types, and the last step."""
        keys: dict[str, dict[str, int]] = {}
        for row in self.history:
            for k, v in row.items():
                kind = "number" if isinstance(v, int | float) else type(v).__name__
                keys.setdefault(k, {}).setdefault(kind, 0)
                keys[k][kind] += 1
        return {
            "keys": {
                k: {"typeCounts": [{"type": t, "count": c} for t, c in counts.items()]}
                for k, counts in keys.items()
            },
            "lastStep": self.last_step,
        }

    def document(self) -> dict[str, Any]:
        """The run as the filter evaluator sees it."""
        return {
            "name": self.id,
            "display_name": self.display_name,
            "state": self.state,
            "tags": list(self.tags),
            "group": self.group,
            "jobType": self.job_type,
            "createdAt": _iso(self.created_at),
            "heartbeatAt": _iso(self.heartbeat_at or self.created_at),
            "config": self.config,
            "summary_metrics": self.summary,
            "sweep": self.sweep_name,
        }


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


def stored_run_from_record(record: RunRecord, **overrides: Any) -> StoredRun:
    """Build a :class:`StoredRun` from a record read from an offline run directory.

    Its artifacts come along with the bytes of their staged files (read now, while they exist).
    """
    rows: dict[int, dict[str, Any]] = {}
    table = record.history
    for step, metric, value in zip(
        table.column("step").to_pylist(),
        table.column("metric").to_pylist(),
        table.column("value").to_pylist(),
        strict=True,
    ):
        rows.setdefault(int(step), {"_step": int(step)})[metric] = value if value is not None else math.nan
    run_id = record.run_id.rsplit("/", 1)[-1].split(":")[-1]
    kwargs: dict[str, Any] = {
        "id": run_id,
        "display_name": record.name,
        "state": record.state if record.state != "unknown" else "finished",
        "config": record.config,
        "summary": {k: v for k, v in record.summary.items() if not k.startswith("_wandb")},
        "tags": list(record.tags),
        "group": record.group or None,
        "job_type": record.job_type or None,
        "notes": record.notes or None,
        "sweep_name": record.sweep_id or None,
        "history": [rows[s] for s in sorted(rows)],
        "artifacts": [stored_artifact_from_record(a) for a in record.artifacts],
    }
    if record.created_at is not None:
        kwargs["created_at"] = record.created_at
    kwargs.update(overrides)
    return StoredRun(**kwargs)
