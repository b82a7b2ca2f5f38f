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
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.text import Text

from runlab.errors import InputError, NotFoundError, RunlabError

if TYPE_CHECKING:
    from runlab.warehouse import Warehouse

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


def _home_source() -> str:
    """How the warehouse folder was chosen, for messages that must say where to change it."""
    if STATE.home is not None:
        return "--home"
    return "RUNLAB_HOME" if os.environ.get("RUNLAB_HOME") else "the default (no --home, no RUNLAB_HOME)"


def open_warehouse(*, read_only: bool = True, create: bool = False) -> Warehouse:
    """Open the chosen warehouse, refusing a home that is a file or (unless ``create``) not yet a warehouse.

    Commands that only read or label runs must not leave an empty warehouse behind a mistyped
    ``--home``: they say there is no warehouse there and how to make one instead.
    """
    from runlab.warehouse import Warehouse
    from runlab.warehouse.helpers import CATALOG

    root = home()
    if root.exists() and not root.is_dir():
        raise InputError(f"the warehouse folder {root} (from {_home_source()}) is a file, not a folder",
                         hint="pass a folder with --home DIR or RUNLAB_HOME; runlab creates it on the "
                         "first `runlab ingest`")
    if not create and not (root / CATALOG).is_file():
        raise NotFoundError(f"no runlab warehouse at {root} (from {_home_source()})",
                            hint="ingest runs first (`runlab ingest wandb/` or `runlab fetch ENTITY/PROJECT`), "
                            "or point --home / RUNLAB_HOME at an existing warehouse")
    return Warehouse.open(root, read_only=read_only)


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
        # Soft-wrapped: paths and names in a message stay whole so they can be copied into a command.
        err_console.print(Text("error: ", style="bold red") + Text(exc.message), soft_wrap=True)
        if exc.hint:
            err_console.print(Text("fix: ", style="bold") + Text(exc.hint), soft_wrap=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err_console.print("interrupted: completed work is saved; run the same command again to resume")
        raise typer.Exit(130) from None
    except Exception as exc:  # a bug, not a user mistake: still one message, traceback on request
        # typer/click signal exits and usage errors with exceptions: those keep their own meaning.
        if STATE.debug or type(exc).__module__.split(".")[0] in ("typer", "click"):
            raise
        err_console.print(Text("error: ", style="bold red") + Text(f"unexpected {type(exc).__name__}: {exc}"),
                          soft_wrap=True)
        err_console.print(Text("fix: ", style="bold") + Text("run again with --debug for the traceback "
                                                            "and report it"), soft_wrap=True)
        raise typer.Exit(1) from None
