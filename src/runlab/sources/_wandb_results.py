"""What the W&B collector reports: selected runs before download, failures, and a collect's outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from runlab.sources._wandb_metrics import MissingMetric
from runlab.sources._wandb_sweep import SweepInfo


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


@dataclass(frozen=True)
class RunFailure:
    """A run that could not be fetched, and why."""

    run_id: str
    name: str
    error: str

    def __str__(self) -> str:
        return f"{self.name} ({self.run_id}): {self.error}"


@dataclass
class CollectResult:
    """What :meth:`WandBCollector.collect` did, run by run."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    """Runs whose stored copy was replaced, or whose metadata changed."""
    appended: list[str] = field(default_factory=list)
    """Running runs that got only their new steps."""
    unchanged: list[str] = field(default_factory=list)
    failed: list[RunFailure] = field(default_factory=list)
    missing_metrics: list[MissingMetric] = field(default_factory=list)
    missing_params: list[MissingMetric] = field(default_factory=list)
    history_rows: int = 0
    """Long-form history rows downloaded by this collect."""
    artifacts: int = 0
    """Output artifacts recorded for the fetched runs."""
    artifact_files: int = 0
    """Artifact files downloaded into the warehouse."""
    sweep: SweepInfo | None = None
    """The W&B sweep the runs were selected from (``sweep=``)."""

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        parts = [
            f"{len(self.added)} added",
            f"{len(self.updated)} updated",
            f"{len(self.appended)} appended",
            f"{len(self.unchanged)} unchanged",
            f"{len(self.failed)} failed",
        ]
        extra = f"{self.history_rows} history rows"
        if self.artifacts:
            extra += f", {self.artifacts} artifacts ({self.artifact_files} files)"
        return ", ".join(parts) + f" ({extra} downloaded)"
