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
        out: Annotated[Path | None, typer.Option("--out", "-o", help="Directory to write the report into.")] = None,
        config: Annotated[str | None, typer.Argument(
            help="YAML config, as for `runlab compare`; or `publish FILE` to save a written wandb_report.json.")] = None,
        overrides: Annotated[list[str] | None, typer.Argument(help="key=value overrides.")] = None,
        to_wandb: Annotated[
            bool, typer.Option("--to-wandb", help="Also log tables, images and the dataset artifact to W&B, and save a W&B Report.")
        ] = False,
        no_execute: Annotated[
            bool, typer.Option("--no-execute", help="Write the notebook without running it (faster).")
        ] = False,
    ) -> None:
        """Write an executed notebook, a self-contained HTML report, LaTeX tables and CSV files.

        `runlab report publish FILE` saves the W&B Report an offline `--to-wandb` run wrote as FILE.
        """
        if config == "publish":
            _publish(overrides or [])
            return
        with cli_errors():
            from runlab.cli.compare import _split
            from runlab.errors import InputError
            from runlab.reports import build_report, load_config

            if out is None:
                raise InputError("--out is required", hint="runlab report --out report/ [config.yaml] [key=value ...]")

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
            if files.wandb_report_url:
                console.print(f"W&B Report:  {files.wandb_report_url}", markup=False, highlight=False)
            elif files.wandb_report:
                console.print(f"W&B Report:  {files.wandb_report} (offline; publish it with "
                              f"`runlab report publish {files.wandb_report}`)", markup=False, highlight=False)


def _publish(args: list[str]) -> None:
    """``runlab report publish FILE``: save a written ``wandb_report.json`` as a W&B Report."""
    with cli_errors():
        from runlab.errors import InputError
        from runlab.reports import publish_wandb_report

        if len(args) != 1:
            raise InputError(f"`runlab report publish` takes one file, got {len(args)}",
                             hint="runlab report publish report/wandb_report.json")
        url = publish_wandb_report(args[0])
    console.print(f"W&B Report:  {url}", markup=False, highlight=False)
