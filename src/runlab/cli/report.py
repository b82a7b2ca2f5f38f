"""`runlab report`: executed notebook, one-file HTML, LaTeX and CSV (and optionally W&B)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from runlab.cli._common import cli_errors, console, open_warehouse


def register(app: typer.Typer) -> None:
    """Add this module's command(s) to the runlab app."""

    @app.command("report")
    def report_cmd(
        out: Annotated[Path, typer.Option("--out", "-o", help="Directory to write the report into.")],
        config: Annotated[str | None, typer.Argument(help="YAML config, as for `runlab compare`.")] = None,
        overrides: Annotated[list[str] | None, typer.Argument(help="key=value overrides.")] = None,
        to_wandb: Annotated[
            bool, typer.Option("--to-wandb", help="Also log tables, images and the dataset artifact to W&B.")
        ] = False,
        no_execute: Annotated[
            bool, typer.Option("--no-execute", help="Write the notebook without running it (faster).")
        ] = False,
    ) -> None:
        """Write an executed notebook, a self-contained HTML report, LaTeX tables and CSV files."""
        with cli_errors():
            from runlab.cli.compare import _split
            from runlab.reports import build_report, load_config

            path, rest = _split(config, overrides)
            cfg = load_config(path, rest)
            with open_warehouse() as wh:
                files = build_report(wh, cfg, out, execute=not no_execute, to_wandb=to_wandb)
            console.print(f"HTML report: {files.html}", markup=False, highlight=False)
            if files.notebook:
                console.print(f"notebook:    {files.notebook}", markup=False, highlight=False)
            console.print(f"LaTeX:       {files.out_dir / 'tables'}", markup=False, highlight=False)
            console.print(f"CSV:         {files.out_dir / 'csv'}", markup=False, highlight=False)
            if files.wandb_run_dir:
                console.print(f"W&B run:     {files.wandb_run_dir}", markup=False, highlight=False)
