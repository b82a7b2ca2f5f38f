"""Storing what a source yields: each record written on its own, every outcome reported.

:meth:`Warehouse.ingest` takes any iterable of source items (a :class:`~runlab.sources.RecordBatch`
from a source, or a plain list of records) and stores one record at a time, before asking for the
next, so a source may stream runs of any number and drop each one's downloads once it is stored.
A run that cannot be stored is reported and the next one stored; nothing is printed or drawn.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sized
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from runlab.errors import InputError
from runlab.sources import RunFailure, RunRecord, RunUnchanged, SourceItem
from runlab.warehouse._types import UpsertResult

if TYPE_CHECKING:
    from runlab.warehouse._warehouse import Warehouse

#: Statuses in the order reports list them.
STATUSES: tuple[str, ...] = ("added", "updated", "appended", "unchanged")


@dataclass
class IngestReport:
    """What one ingest did, run by run: stored, left alone, failed, and the sources' warnings."""

    results: list[UpsertResult] = field(default_factory=list)
    """One per record the warehouse was given (``unchanged`` when its content was already stored)."""
    skipped: list[RunUnchanged] = field(default_factory=list)
    """Runs the source did not read because the stored copy is current."""
    failures: list[RunFailure] = field(default_factory=list)
    """Runs that could not be read (from the source) or stored (from the warehouse)."""
    problems: list[tuple[str, str]] = field(default_factory=list)
    """``(run_id, problem)`` the sources reported for stored runs (truncation, lost bytes, NaN counts)."""
    history_rows: int = 0
    """History rows the source delivered for the stored runs (downloaded or read)."""
    artifacts: int = 0
    """Artifacts recorded for the stored runs."""
    artifact_files: int = 0
    """Artifact files the source delivered (copied into the warehouse)."""
    artifact_failures: list[tuple[str, str, str]] = field(default_factory=list)
    """``(run_id, artifact name, error)`` of artifacts whose wanted files could not be downloaded
    (the run is stored; the next fetch retries them)."""

    def run_ids(self, status: str) -> list[str]:
        """Ids of the runs with this outcome (``unchanged`` includes the runs the source skipped)."""
        if status not in STATUSES:
            raise InputError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
        ids = [r.run_id for r in self.results if r.status == status]
        return [s.run_id for s in self.skipped] + ids if status == "unchanged" else ids

    def count(self, status: str) -> int:
        return len(self.run_ids(status))

    @property
    def added(self) -> list[str]:
        return self.run_ids("added")

    @property
    def updated(self) -> list[str]:
        return self.run_ids("updated")

    @property
    def appended(self) -> list[str]:
        return self.run_ids("appended")

    @property
    def unchanged(self) -> list[str]:
        return self.run_ids("unchanged")

    @property
    def ok(self) -> bool:
        """True when no run failed."""
        return not self.failures

    def summary(self) -> str:
        """``2 added, 0 updated, 0 appended, 1 unchanged, 0 failed``."""
        return ", ".join([*(f"{self.count(s)} {s}" for s in STATUSES), f"{len(self.failures)} failed"])


def ingest(
    wh: Warehouse,
    items: Iterable[SourceItem],
    *,
    force: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
) -> IngestReport:
    """Store every record of ``items``; see :meth:`Warehouse.ingest`."""
    total = len(items) if isinstance(items, Sized) else 0
    report = IngestReport()
    it = iter(items)
    try:
        for done, item in enumerate(it, start=1):
            _take(wh, item, report, force)
            if on_progress is not None:
                on_progress(done, total)
    finally:
        close = getattr(it, "close", None)
        if close is not None:
            close()  # a source stopped early releases its threads and downloads now
    return report


def _take(wh: Warehouse, item: SourceItem, report: IngestReport, force: bool) -> None:
    if isinstance(item, RunFailure):
        report.failures.append(item)
        return
    if isinstance(item, RunUnchanged):
        report.skipped.append(item)
        return
    if not isinstance(item, RunRecord):
        raise InputError(f"ingest takes RunRecord, RunUnchanged or RunFailure items, got {type(item).__name__}",
                         hint="pass a source's records(...) batch, or a list of RunRecords")
    try:
        result = wh.upsert_run(item, force=force)
    except Exception as exc:  # one run that cannot be stored never costs the others
        error = " ".join(str(exc).split()) or type(exc).__name__
        report.failures.append(RunFailure(item.run_id, item.name or item.run_id,
                                          f"storing failed: {type(exc).__name__}: {error}"[:400],
                                          origin=item.origin_path))
        return
    report.results.append(result)
    report.problems.extend((item.run_id, p) for p in item.problems)
    report.history_rows += item.history_rows
    report.artifacts += len(item.artifacts)
    report.artifact_files += sum(len(a.files) for a in item.artifacts)
    report.artifact_failures.extend((item.run_id, a.name, a.error) for a in item.artifacts if a.error)
