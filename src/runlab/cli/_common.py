"""Shared CLI plumbing: warehouse location, console, logging, and error reporting.

Commands stay thin: they parse arguments, call the library, and print. Library errors
(:class:`runlab.errors.RunlabError`) become a clear message and exit code 1 without a traceback.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import typer
from rich.console import Console

from runlab.errors import RunlabError

console = Console()
err_console = Console(stderr=True)


@dataclass
class CliState:
    """Global options, set by the app callback and read by every command."""

    home: Path | None = None
    verbose: bool = False
    debug: bool = False


STATE = CliState()


def resolve_home(home: Path | None = None) -> Path:
    """Warehouse location: ``--home``, else ``$RUNLAB_HOME``, else ``~/.runlab``."""
    if home is not None:
        return Path(home).expanduser()
    env = os.environ.get("RUNLAB_HOME")
    if env:
        return Path(env).expanduser()
    return Path("~/.runlab").expanduser()


def home() -> Path:
    """The warehouse location chosen for this invocation."""
    return resolve_home(STATE.home)


def setup_logging(verbose: bool, debug: bool) -> None:
    """``--verbose`` = INFO for runlab, ``--debug`` = DEBUG for runlab (third-party stays at WARNING)."""
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("runlab").setLevel(level)


@contextlib.contextmanager
def cli_errors() -> Iterator[None]:
    """Turn library errors into a clean CLI error (traceback only with ``--debug``)."""
    try:
        yield
    except RunlabError as exc:
        if STATE.debug:
            raise
        err_console.print(f"[bold red]error:[/] {exc.message}", markup=True, highlight=False)
        if exc.hint:
            err_console.print(f"[bold]fix:[/] {exc.hint}", markup=True, highlight=False)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err_console.print("interrupted: completed work is saved; run the same command again to resume")
        raise typer.Exit(130) from None
