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
    curves,
    demo,
    env_configs,
    export,
    fetch,
    ingest,
    label,
    report,
    rewards,
    runs,
    samples,
    sweep,
    warehouse,
)
from runlab.cli._common import STATE, setup_logging


def _flags_without_type() -> None:
    """Help shows ``--json`` rather than ``--json <bool>``: a flag takes no value, so it has no type
    to show (typer 0.2x prints ``<bool>`` for flags, ``--help`` included)."""
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich
    if getattr(shown, "_runlab_flags", False):
        return

    def display_type_rich(self: TyperOption, ctx: typer.Context) -> str | None:  # type: ignore[name-defined]
        if self.is_flag and not self.count:
            return None
        return shown(self, ctx)

    display_type_rich._runlab_flags = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_without_type()

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


for _module in (ingest, fetch, runs, label, export, compare, report, sweep, samples, demo, env_configs,
                curves, rewards, warehouse):
    _module.register(app)


GLOBAL_FLAGS = ("--verbose", "-v", "--debug")
GLOBAL_VALUED = ("--home",)


def hoist_global_options(argv: list[str]) -> list[str]:
    """Move ``--home DIR``, ``--verbose`` and ``--debug`` written after the sub-command to the front.

    Click reads a group's options only before its sub-command, but users type them anywhere
    (``runlab demo --debug``, as the crash hint suggests). Nothing after ``--`` is touched: that
    is a trainer's own command line (``runlab sweep run NAME -- python train.py --debug``).
    """
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest.extend(argv[i:])
            break
        if arg in GLOBAL_FLAGS:
            front.append(arg)
        elif arg in GLOBAL_VALUED and i + 1 < len(argv):
            front.extend(argv[i:i + 2])
            i += 1
        elif any(arg.startswith(f"{opt}=") for opt in GLOBAL_VALUED):
            front.append(arg)
        else:
            rest.append(arg)
        i += 1
    return front + rest


def main() -> None:
    """Console-script entry point."""
    import sys

    app(args=hoist_global_options(sys.argv[1:]))
