"""`runlab ingest PATH...`: store W&B offline runs in the warehouse.

Takes run folders (``offline-run-*``, ``run-*``) or any folder containing them (``wandb/``).
Re-ingesting changes nothing; a newer copy of a run replaces the stored one. A run that cannot
be read is reported at the end (exit code 1) while every good run is stored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from runlab.cli._common import STATE, cli_errors, console, err_console, open_warehouse


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Run folders, or folders that contain them (e.g. wandb/).")],
    force: Annotated[bool, typer.Option("--force", help="Rewrite runs even when unchanged.")] = False,
) -> None:
    """Ingest W&B offline run folders into the warehouse."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from runlab.warehouse import ingest_offline

    with cli_errors():
        _check_paths(paths)
    with cli_errors(), open_warehouse(read_only=False, create=True) as wh:
        progress = Progress(TextColumn("ingest"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            TextColumn("{task.description}"), console=err_console, transient=True,
                            disable=not err_console.is_terminal)
        with progress:
            task = progress.add_task("", total=None)

            def step(run_dir: Path, done: int, total: int) -> None:
                progress.update(task, completed=done, total=total, description=run_dir.name)

            summary = ingest_offline(wh, paths, force=force, on_progress=step)
    _print_summary(summary)
    if not summary.ok:
        raise typer.Exit(1)


def _check_paths(paths: list[Path]) -> None:
    """A mistyped path stops the command before the warehouse is touched: nothing to resume, nothing lost."""
    from runlab.errors import InputError

    missing = [p for p in paths if not p.expanduser().exists()]
    if missing:
        shown = ", ".join(str(p) for p in missing)
        raise InputError(f"no such file or folder: {shown}",
                         hint="check the spelling; pass a wandb/ folder, an offline-run-* folder or a run-<id>.wandb file")


def _print_summary(summary: object) -> None:
    from runlab.warehouse import IngestSummary

    assert isinstance(summary, IngestSummary)
    counts = ", ".join(f"{summary.count(s)} {s}" for s in ("added", "updated", "appended", "unchanged"))
    console.print(Text(f"ingested {len(summary.results)} run(s): {counts}; {len(summary.failures)} failed"))
    if STATE.verbose:
        for r in summary.results:
            console.print(Text(f"  {r.status:9s} {r.run_id} ({r.history_rows} rows){' - ' + r.note if r.note else ''}"))
    if summary.problems:
        console.print(Text(f"{len(summary.problems)} warning(s) from the reader:"))
        for run_id, problem in summary.problems:
            console.print(Text(f"  {run_id}: {problem}"))
    for path, message in summary.failures:
        # Plain lines, not a table: folder paths must stay whole to be copied into a command.
        err_console.print(Text("failed: ", style="bold red") + Text(f"{path}\n  {message}"), soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add ``runlab ingest``."""
    app.command("ingest")(ingest)
