"""Ingesting W&B offline run folders: find, read, store; one bad run never stops the batch."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from runlab.errors import NotFoundError, RunlabError
from runlab.warehouse._types import UpsertResult

if TYPE_CHECKING:
    from runlab.warehouse._warehouse import Warehouse


@dataclass
class IngestSummary:
    """What an ingest did: a result per stored run, the failures, and the readers' warnings."""

    results: list[UpsertResult] = field(default_factory=list)
    failures: list[tuple[Path, str]] = field(default_factory=list)
    """(run folder, message) of each run that could not be read or stored."""
    problems: list[tuple[str, str]] = field(default_factory=list)
    """(run_id, problem) reported by the reader (truncation, lost bytes, non-finite values)."""

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def ok(self) -> bool:
        return not self.failures


def ingest_offline(
    wh: Warehouse,
    paths: Sequence[Path | str],
    *,
    force: bool = False,
    on_progress: Callable[[Path, int, int], None] | None = None,
) -> IngestSummary:
    """Store every W&B offline run under ``paths`` (run folders or folders containing them).

    Idempotent: unchanged runs stay ``unchanged``. ``on_progress(run_dir, done, total)`` is
    called after each run. Raises :class:`NotFoundError` only when no run folder is found at all.
    """
    from runlab.sources.wandb_offline import find_run_dirs, read_run

    roots = [Path(p).expanduser() for p in paths]
    missing = [p for p in roots if not p.exists()]
    summary = IngestSummary(failures=[(p, "path does not exist") for p in missing])
    run_dirs = find_run_dirs([p for p in roots if p.exists()]) if len(missing) < len(roots) else []
    if not run_dirs and not missing:
        shown = ", ".join(str(p) for p in roots)
        raise NotFoundError(
            f"no W&B offline run folders (offline-run-*, run-*) found under {shown}",
            hint="point at a run folder or at the wandb/ folder that holds them",
        )
    for i, run_dir in enumerate(run_dirs, start=1):
        try:
            record = read_run(run_dir)
            summary.results.append(wh.upsert_run(record, force=force))
            summary.problems.extend((record.run_id, p) for p in record.problems)
        except RunlabError as exc:
            summary.failures.append((run_dir, str(exc)))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            summary.failures.append((run_dir, f"{type(exc).__name__}: {exc}"))
        if on_progress is not None:
            on_progress(run_dir, i, len(run_dirs))
    return summary
