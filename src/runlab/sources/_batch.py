"""What a source hands to the warehouse: a one-pass batch of items, and what it may ask first.

Ingestion runs one way. A source is asked for its runs with a ``known(run_id) -> SyncState``
lookup (the warehouse's :meth:`~runlab.warehouse.Warehouse.sync_state`, or any function with that
shape), so it can skip a run that did not change or fetch only its new steps; it never calls the
warehouse. It answers with a :class:`RecordBatch`: its length is known before the first item is
read (for progress), and iterating it reads, downloads or parses one run at a time. Each item is a
:class:`~runlab.sources.RunRecord` to store, a :class:`RunUnchanged` (the source skipped the run
because the stored copy is current) or a :class:`RunFailure` (this run could not be read; the
others go on). A failure is data, never an exception that costs the rest of the batch; only
what dooms every run (a rejected API key, an unreachable server) is raised.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TypeAlias, runtime_checkable

from runlab.errors import InputError
from runlab.sources._record import RunRecord


@dataclass(frozen=True, kw_only=True)
class SyncState:
    """What the warehouse holds of one run: enough for a source to decide what to read again."""

    run_id: str
    fingerprint: str
    """Content key of the stored copy (see :meth:`RunRecord.fingerprint`)."""
    state: str
    updated_at: datetime | None
    max_step: int | None
    """Largest stored ``_step`` (``None`` when the run has no history)."""
    history_rows: int
    name: str = ""
    group: str = ""
    tags: tuple[str, ...] = ()
    metrics: frozenset[str] = frozenset()
    """Metric names with stored history (a source asked for more metrics fetches the run again)."""
    artifacts: frozenset[tuple[str, str, str]] = frozenset()
    """``(name, version, digest)`` of each stored artifact (see :attr:`ArtifactRecord.key`)."""
    failed_artifacts: frozenset[tuple[str, str, str]] = frozenset()
    """Keys of the stored artifacts whose wanted files failed to download (to fetch again)."""
    source_stamp: str = ""
    """The :attr:`RunRecord.source_stamp` stored with the run (``""``: none)."""


#: The lookup a source is given: the stored state of a run, or ``None`` when it is not stored.
Known: TypeAlias = Callable[[str], SyncState | None]


@dataclass(frozen=True)
class RunFailure:
    """A run that could not be read or stored, and why; the batch goes on without it."""

    run_id: str
    """The run's id when known (``""`` when the source could not even tell which run it was)."""
    name: str
    error: str
    """One line: the exception type and message, never a traceback or a secret."""
    origin: str = ""
    """Where the run came from (run folder, API path), for a message the user can act on."""

    def __str__(self) -> str:
        return f"{self.name} ({self.run_id or self.origin}): {self.error}"


@dataclass(frozen=True)
class RunUnchanged:
    """A run the source did not read because the stored copy is current (cheaper than a record)."""

    run_id: str
    name: str
    reason: str = ""


#: One item of a :class:`RecordBatch`.
SourceItem: TypeAlias = RunRecord | RunFailure | RunUnchanged


@dataclass(eq=False)
class RecordBatch:
    """The items of one pass over a source: sized up front, read lazily, read once.

    A record (and the files its artifacts point at) stays valid until the next item is asked
    for: a source may delete a run's downloaded files as soon as the consumer moves on, so a
    consumer stores each record before taking the next, as :meth:`Warehouse.ingest` does.
    Stopping early (``close()``, or an exception in the consumer) lets the source clean up.
    """

    items: Iterable[SourceItem]
    total: int
    """How many items iterating yields (known before the first is read, for progress)."""
    _started: bool = field(default=False, init=False, repr=False)

    def __len__(self) -> int:
        return self.total

    def __iter__(self) -> Iterator[SourceItem]:
        if self._started:
            raise InputError("this batch was already read; ask the source for a new one (records(...))")
        self._started = True
        return iter(self.items)

    def close(self) -> None:
        """Stop reading: the source releases what it holds (threads, temporary downloads)."""
        close = getattr(self.items, "close", None)
        if close is not None:
            close()


@runtime_checkable
class RunSource(Protocol):
    """Anything that yields runs: the W&B offline reader, the W&B API collector, and the next ones.

    ``records(known)`` is called once per ingest; ``known`` may be ``None`` (nothing is stored,
    read everything). The shared behaviour every source must show is
    :mod:`runlab.testing.sources`.
    """

    def records(self, known: Known | None = None) -> RecordBatch:
        """The runs this source selects, as one batch (see :class:`RecordBatch`)."""
        ...

