"""The ``runlab`` command. Each command group lives in its own module and registers itself.

Modules import only typer/rich at import time; heavy libraries (wandb, duckdb, torch, matplotlib)
are imported inside the command functions so that ``runlab --help`` is instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from runlab import __version__
from runlab.cli import (
    compare,
    demo,
    export,
    fetch,
    ingest,
    label,
    report,
    runs,
    samples,
    sweep,
)
from runlab.cli._common import STATE, setup_logging

app = typer.Typer(
    name="runlab",
    help="Collect W&B runs into a local warehouse, compare methods with reliable statistics, "
    "sweep hyperparameters with Protein, and report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"runlab {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    home: Annotated[
        Path | None,
        typer.Option("--home", help="Warehouse directory (default: $RUNLAB_HOME, else ~/.runlab)."),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Log everything; show tracebacks.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    STATE.home = home
    STATE.verbose = verbose
    STATE.debug = debug
    setup_logging(verbose, debug)


for _module in (ingest, fetch, runs, label, export, compare, report, sweep, samples, demo):
    _module.register(app)


def main() -> None:
    """Console-script entry point."""
    app()
