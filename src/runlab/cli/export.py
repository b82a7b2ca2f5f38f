"""`runlab export history|runs|frame`: CSV or Parquet files for other tools (chosen by suffix)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from runlab.cli._checks import require_metrics, require_x_axis
from runlab.cli._common import cli_errors, console, open_warehouse
from runlab.cli._render import split_values

export_app = typer.Typer(help="Export history, runs or tidy frames to CSV/Parquet.", no_args_is_help=True)

OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Output file: .csv or .parquet.")]
RunsOpt = Annotated[list[str] | None, typer.Option("--runs", help="Run ids, names or globs (repeatable).")]
MetricsOpt = Annotated[
    list[str] | None, typer.Option("--metrics", help="Metric names or globs (repeatable or comma-separated).")
]


def _check_out(out: Path) -> None:
    """Refuse an unusable output path before any work: wrong suffix, or a folder where a file must go."""
    from runlab.errors import InputError

    if out.suffix.lower() not in (".csv", ".parquet"):
        raise InputError(f"--out must end in .csv or .parquet, got {out.name!r}",
                         hint=f"e.g. --out {out.with_suffix('.parquet')}")
    if out.is_dir():
        raise InputError(f"--out {out} is a folder", hint="name a file inside it, e.g. --out "
                         f"{out / ('export' + out.suffix)}")


@export_app.command("history")
def export_history_cmd(out: OutOpt, runs: RunsOpt = None, metrics: MetricsOpt = None) -> None:
    """Long-form history: run_id, run_name, step, metric, value."""
    from runlab.frames import export_history
    with cli_errors(), open_warehouse() as wh:
        _check_out(out)
        require_metrics(wh, split_values(metrics), wh.resolve_runs(runs or None))
        n = export_history(wh, out, runs=runs or None, metrics=split_values(metrics) or None)
    console.print(Text(f"wrote {n} row(s) to {out}"))


@export_app.command("runs")
def export_runs_cmd(out: OutOpt, runs: RunsOpt = None) -> None:
    """One row per run: metadata, config.<path> columns, summary.<key> columns, label.<key> columns."""
    from runlab.frames import export_runs
    with cli_errors(), open_warehouse() as wh:
        _check_out(out)
        n = export_runs(wh, out, runs=runs or None)
    console.print(Text(f"wrote {n} run(s) to {out}"))


@export_app.command("frame")
def export_frame_cmd(
    out: OutOpt,
    runs: RunsOpt = None,
    metrics: MetricsOpt = None,
    config_params: Annotated[list[str] | None, typer.Option("--config-params", help="Dotted config paths.")] = None,
    x_axis: Annotated[str, typer.Option("--x-axis", help="_step or an x-axis metric (metric/agent_step).")] = "_step",
    task: Annotated[str | None, typer.Option("--task", help="config:PATH or a regex with (?P<task>...).")] = None,
    min_step: Annotated[int | None, typer.Option("--min-step", help="Drop runs that end before this step.")] = None,
    interpolation: Annotated[str, typer.Option("--interpolation", help="none, linear or ffill.")] = "none",
    grid: Annotated[int | None, typer.Option("--grid", help="Align runs on this many common x points.")] = None,
    downsample: Annotated[str | None, typer.Option("--downsample", help="every_nth:N, log:N or lttb:N.")] = None,
) -> None:
    """The tidy frame (run_id, run_name, task, step, metrics, config params, labels)."""
    from runlab.frames import export_frame, tidy_frame
    with cli_errors(), open_warehouse() as wh:
        _check_out(out)
        ids = wh.resolve_runs(runs or None)
        require_metrics(wh, split_values(metrics), ids)
        require_x_axis(wh, x_axis, ids)
        frame = tidy_frame(wh, runs or None, split_values(metrics) or None,
                           config_params=split_values(config_params), x_axis=x_axis, task=task,
                           min_step=min_step, interpolation=interpolation, grid=grid, downsample=downsample)
        export_frame(frame, out)
    console.print(Text(f"wrote {len(frame)} row(s) to {out}"))
    console.print(Text(str(frame.attrs["missing_report"])))


def register(app: typer.Typer) -> None:
    """Add ``runlab export``."""
    app.add_typer(export_app, name="export")
