"""`runlab warehouse export|import`: move a warehouse across DuckDB versions as Parquet files.

A catalog written by a newer DuckDB cannot be opened by an older one. Where the newer DuckDB is
installed, ``runlab warehouse export DIR`` writes everything as Parquet; where the older one is,
``runlab --home NEW warehouse import DIR`` fills a new warehouse from it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from runlab.cli._common import cli_errors, console, home, open_warehouse

warehouse_app = typer.Typer(help="Export a warehouse to Parquet, or import one (moves it across DuckDB versions).",
                            no_args_is_help=True)


@warehouse_app.command("export")
def export_cmd(
    dest: Annotated[Path, typer.Argument(help="New (or empty) folder to write the export into.")],
) -> None:
    """Write the warehouse (catalog tables, history, artifacts) to DEST as Parquet files."""
    with cli_errors(), open_warehouse(read_only=True) as wh:
        manifest = wh.export_to(dest)
    runs = manifest["rows"].get("runs", 0)
    console.print(f"exported {runs} run(s) from {home()} to {dest} (DuckDB {manifest['duckdb_version']}, "
                  f"schema {manifest['schema_version']})", markup=False, highlight=False)


@warehouse_app.command("import")
def import_cmd(
    src: Annotated[Path, typer.Argument(help="Folder written by `runlab warehouse export`.")],
) -> None:
    """Fill a new, empty warehouse (--home) from an export folder."""
    with cli_errors():
        from runlab.errors import InputError
        from runlab.warehouse.helpers import CATALOG

        target = home()
        if (target / CATALOG).exists():
            from runlab.warehouse import Warehouse

            with Warehouse.open(target, read_only=True) as existing:
                if existing.run_index():
                    raise InputError(f"the warehouse {target} already holds runs; import into an empty one",
                                     hint="pass a new folder with --home (runlab creates it)")
        from runlab.warehouse import read_export_manifest

        read_export_manifest(src)  # a wrong folder fails before a warehouse is created
    with cli_errors(), open_warehouse(read_only=False, create=True) as wh:
        rows = wh.import_from(src)
    console.print(f"imported {rows.get('runs', 0)} run(s) into {home()}", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``runlab warehouse``."""
    app.add_typer(warehouse_app, name="warehouse")
