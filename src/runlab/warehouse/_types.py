"""Small value types returned by the warehouse."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

UpsertStatus = Literal["added", "updated", "unchanged", "appended"]


@dataclass(frozen=True, kw_only=True)
class UpsertResult:
    """What :meth:`Warehouse.upsert_run` did with one record."""

    run_id: str
    status: UpsertStatus
    """``added`` (new run), ``updated`` (replaced), ``appended`` (new steps added), ``unchanged``."""
    fingerprint: str
    """Content key of the record as given (see :meth:`RunRecord.fingerprint`)."""
    history_rows: int
    """Rows of history stored for the run after the write."""
    new_rows: int = 0
    """Rows written by this call (0 when unchanged)."""
    note: str = ""
    """Why nothing changed, when that is not obvious (e.g. the stored copy is newer)."""
