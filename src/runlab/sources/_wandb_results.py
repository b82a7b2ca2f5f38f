"""A selected W&B run as the listing describes it, before any history is downloaded."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, kw_only=True)
class RunSummary:
    """A selected run as the listing describes it, before any history is downloaded."""

    run_id: str
    """Warehouse id, ``wandb:<entity>/<project>/<id>``."""
    id: str
    """The W&B run id."""
    name: str
    state: str
    group: str = ""
    tags: tuple[str, ...] = ()
    created_at: datetime | None = None
    updated_at: datetime | None = None
    """Last heartbeat: moves whenever a running run logs."""
    last_step: int = -1
    history_rows: int = 0
    history_keys: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    """Values of the requested config params (dotted path -> value) that the run has."""
