"""`runlab ingest PATH...`: store W&B offline runs in the warehouse.

Takes run folders (``offline-run-*``, ``run-*``) or any folder containing them (``wandb/``).
Re-ingesting changes nothing, and run files unchanged since the last ingest are not even read; a
newer copy of a run replaces the stored one; the segments of a resumed run are merged into one.
A run that cannot be read is reported at the end (exit code 1) while every good run is stored.
Other commands can read the warehouse meanwhile; a second writer waits, saying so.

The command composes the library's two halves, a source's batch and :meth:`Warehouse.ingest`,
and draws the progress bar (:func:`store_with_progress`, which ``runlab fetch`` uses too).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from runlab.cli._common import STATE, cli_errors, console, err_console, open_warehouse

if TYPE_CHECKING:
    from runlab.sources import RecordBatch, SourceItem
    from runlab.warehouse import IngestReport, Warehouse


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Run folders, or folders that contain them (e.g. wandb/).")],
    force: Annotated[bool, typer.Option("--force", help="Rewrite runs even when unchanged.")] = False,
) -> None:
    """Ingest W&B offline runs, TensorBoard logs and SB3 / RL Zoo logs into the warehouse."""
    from runlab.sources.local import LocalRuns

    with cli_errors():
        _check_paths(paths)
        source = LocalRuns(paths)
        source.sources()  # a folder holding no runs stops here, before a warehouse is created
    with cli_errors(), open_warehouse(read_only=False, create=True) as wh:
        wh.on_wait = _say_waiting
        # Unchanged run files are skipped before parsing; --force reads (and rewrites) every run.
        batch = source.records(known=None if force else wh.sync_state)
        report = store_with_progress(wh, batch, label="ingest", enabled=err_console.is_terminal,
                                     transient=True, force=force)
    _print_summary(report)
    if not report.ok:
        raise typer.Exit(1)


def store_with_progress(wh: Warehouse, batch: RecordBatch, *, label: str, enabled: bool, transient: bool,
                        force: bool = False) -> IngestReport:
    """``wh.ingest(batch)`` under a rich progress bar on stderr naming the run being stored."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from runlab.sources import RecordBatch

    progress = Progress(TextColumn(f"[bold]{label}[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        TextColumn("{task.description}", markup=False), console=err_console,
                        transient=transient, disable=not enabled or len(batch) == 0)
    with progress:
        task = progress.add_task("", total=len(batch))

        def named(items: RecordBatch) -> Iterator[SourceItem]:
            try:
                for item in items:
                    progress.update(task, description=(item.name or item.run_id)[:40])
                    yield item
            finally:
                items.close()  # the consumer stopped early: the source cleans up now, not at exit

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done)

        return wh.ingest(RecordBatch(named(batch), total=len(batch)), force=force, on_progress=advance)


def _say_waiting(message: str) -> None:
    """Another process is writing to the same warehouse: say why this command pauses."""
    err_console.print(Text(message), soft_wrap=True)


def _check_paths(paths: list[Path]) -> None:
    """A mistyped path stops the command before the warehouse is touched: nothing to resume, nothing lost."""
    from runlab.errors import InputError

    missing = [p for p in paths if not p.expanduser().exists()]
    if missing:
        shown = ", ".join(str(p) for p in missing)
        raise InputError(f"no such file or folder: {shown}",
                         hint="check the spelling; pass a wandb/ folder, an offline-run-* folder or a run-<id>.wandb file")


def _print_summary(report: IngestReport) -> None:
    counts = ", ".join(f"{report.count(s)} {s}" for s in ("added", "updated", "appended", "unchanged"))
    stored = len(report.results) + len(report.skipped)
    console.print(Text(f"ingested {stored} run(s): {counts}; {len(report.failures)} failed"))
    if STATE.verbose:
        for r in report.results:
            console.print(Text(f"  {r.status:9s} {r.run_id} ({r.history_rows} rows){' - ' + r.note if r.note else ''}"))
    if report.problems:
        console.print(Text(f"{len(report.problems)} warning(s) from the reader:"))
        for run_id, problem in report.problems:
            console.print(Text(f"  {run_id}: {problem}"))
    for failure in report.failures:
        # Plain lines, not a table: folder paths must stay whole to be copied into a command.
        where = failure.origin or failure.run_id or failure.name
        err_console.print(Text("failed: ", style="bold red") + Text(f"{where}\n  {failure.error}"), soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add ``runlab ingest``."""
    app.command("ingest")(ingest)
