"""``runlab demo``: run the whole flow on the shipped sample project (what ``make demo`` calls)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from runlab.cli._common import cli_errors, console


def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for every output (recreated).")] = Path("demo-output"),
    samples: Annotated[
        Path | None, typer.Option("--samples", help="Sample project folder (default: the shipped samples/).")
    ] = None,
    sweep_trials: Annotated[int, typer.Option("--sweep-trials", min=1, help="Protein sweep trials.")] = 10,
    bootstrap: Annotated[int, typer.Option("--bootstrap", min=100, help="Bootstrap resamples per CI.")] = 10_000,
) -> None:
    """Ingest the sample project into a fresh warehouse, run every analysis, write demo-output/."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from runlab.demo import demo_steps, run_demo

    with cli_errors(), Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(), console=console, transient=False,
    ) as progress:
        total = len(demo_steps(sweep_trials))
        task = progress.add_task("runlab demo", total=total)

        def on_step(label: str) -> None:
            if progress.tasks[task].description != "runlab demo":
                progress.advance(task)
            progress.update(task, description=label)

        result = run_demo(out, samples=samples, sweep_trials=sweep_trials, bootstrap_samples=bootstrap,
                          on_step=on_step)
        progress.update(task, completed=total, description="done")
    table = Table(title="runlab demo: where to look", show_lines=False)
    table.add_column("what")
    table.add_column("where", overflow="fold")
    for label, path in result.outputs.items():
        table.add_row(label, _shown(path))
    console.print(table)
    console.print(f"finished in {sum(result.timings.values()):.0f} s; per step: "
                  + ", ".join(f"{k} {v:.0f}s" for k, v in result.timings.items()), highlight=False)


def _shown(path: Path) -> str:
    """A path relative to the working directory when it lies below it (shorter, still copyable)."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def register(app: typer.Typer) -> None:
    """Add ``runlab demo``."""
    app.command("demo")(demo)
