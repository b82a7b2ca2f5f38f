"""What to download for one selected run, given what the warehouse already holds of it.

A pure decision over the run's listing (:class:`RunSummary`) and the stored :class:`SyncState`:
nothing is fetched for a run whose state, heartbeat, last step, name, tags and group match the
stored copy; a run that logged new steps fetches only those (``min_step``); a run that was rewound,
or is asked for metrics not fetched before, is fetched again in full. wandb 0.31's client exposes no
``updatedAt``, hence the heartbeat and the last step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from runlab.sources._batch import SyncState
from runlab.sources._wandb_results import RunSummary

Action = Literal["full", "append", "metadata", "skip"]

#: Keys every history row carries; asking for them never makes a stored run incomplete.
_ALWAYS = frozenset(("_runtime", "_timestamp"))


@dataclass(frozen=True)
class Plan:
    """One run's download: everything (``full``), new steps (``append``), metadata only, or nothing."""

    summary: RunSummary
    action: Action
    keys: frozenset[str] | None
    """History keys to keep (``None``: all)."""
    min_step: int = 0
    stored_artifacts: frozenset[tuple[str, str, str]] | None = None
    """``(name, version, digest)`` of the stored artifacts, for ``append``/``metadata`` plans:
    a new or changed artifact turns the plan into a full download (the stored copy is replaced whole)."""


def decide(s: RunSummary, keys: frozenset[str] | None, sync: SyncState | None, *, artifacts: bool) -> Plan:
    """The plan for run ``s`` (``sync``: its stored state, ``None`` when absent or refreshing)."""
    if sync is None:
        return Plan(s, "full", keys)
    stored_max = sync.max_step if sync.max_step is not None else -1
    if s.last_step < stored_max:
        return Plan(s, "full", keys)  # the run was rewound or replaced: start over
    if keys is not None and stored_max >= 0:
        stored = set(sync.metrics) if sync.history_rows else set()
        if not keys <= stored | _ALWAYS:
            return Plan(s, "full", keys)  # asks for metrics not fetched before
    held = sync.artifacts if artifacts else None
    if s.last_step > stored_max:
        if stored_max < 0:
            return Plan(s, "full", keys)
        return Plan(s, "append", keys, min_step=stored_max + 1, stored_artifacts=held)
    if artifacts and sync.failed_artifacts:
        # Artifacts whose download failed last time: fetch them (and the metadata), not the history.
        return Plan(s, "metadata", keys, min_step=stored_max + 1, stored_artifacts=held)
    if sync.state == s.state and _same_time(sync.updated_at, s.updated_at) and _same_meta(sync, s):
        return Plan(s, "skip", keys)
    return Plan(s, "metadata", keys, min_step=stored_max + 1, stored_artifacts=held)


def _same_meta(sync: SyncState, s: RunSummary) -> bool:
    return (sync.name, tuple(sync.tags), sync.group) == (s.name, tuple(s.tags), s.group)


def _same_time(a: datetime | None, b: datetime | None) -> bool:
    if a is None or b is None:
        return a is b
    if a.tzinfo is None:
        a = a.replace(tzinfo=UTC)
    return a == b
