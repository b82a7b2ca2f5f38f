"""A whole warehouse as plain Parquet files, to move it across DuckDB (or runlab) versions.

DuckDB's database file format moves on with DuckDB: a catalog written by a newer DuckDB cannot
be opened by an older one. Parquet is stable across versions, and the history already is
Parquet, so an export is: every catalog table as ``catalog/<table>.parquet``, the ``history/``
and ``artifacts/`` folders copied as they are, and a ``manifest.json`` that says what wrote it
and how many rows each table holds (checked on import). Import fills an empty warehouse,
adding the columns of a newer schema with their defaults when the export is older.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runlab.errors import InputError, WarehouseError
from runlab.warehouse._codec import sql_str
from runlab.warehouse._layout import ARTIFACT_DIR, HISTORY_DIR
from runlab.warehouse._schema import SCHEMA_VERSION

if TYPE_CHECKING:
    from runlab.warehouse._warehouse import Warehouse

FORMAT = "runlab-warehouse-export"
MANIFEST = "manifest.json"
_SKIP = frozenset(("meta",))  # the importing warehouse keeps its own schema and DuckDB versions


def export_warehouse(wh: Warehouse, dest: Path | str, *, on_progress: Callable[[int, int], None] | None = None
                     ) -> dict[str, Any]:
    """Write ``wh`` to the folder ``dest`` (new or empty) as Parquet; returns the manifest."""
    import duckdb

    import runlab

    dest = Path(dest).expanduser()
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise InputError(f"export folder {dest} exists and is not empty", hint="name a new folder")
    (dest / "catalog").mkdir(parents=True, exist_ok=True)
    con = wh.con  # the snapshot: one committed state, whatever writers do meanwhile
    tables = [t for (t,) in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'memory' "
        "AND table_schema = 'main' ORDER BY table_name").fetchall() if t not in _SKIP]
    rows: dict[str, int] = {}
    steps = len(tables) + 2
    for i, t in enumerate(tables, start=1):
        (n,) = con.execute(f'SELECT count(*) FROM "{t}"').fetchone() or (0,)
        rows[t] = int(n)
        out = dest / "catalog" / f"{t}.parquet"
        con.execute(f'COPY (SELECT * FROM "{t}") TO {sql_str(str(out))} (FORMAT parquet, COMPRESSION zstd)')
        if on_progress is not None:
            on_progress(i, steps)
    for j, folder in enumerate((HISTORY_DIR, ARTIFACT_DIR), start=len(tables) + 1):
        if (wh.home / folder).is_dir():
            shutil.copytree(wh.home / folder, dest / folder, ignore=shutil.ignore_patterns(".tmp-*"))
        if on_progress is not None:
            on_progress(j, steps)
    manifest = {"format": FORMAT, "format_version": 1, "schema_version": SCHEMA_VERSION,
                "duckdb_version": duckdb.__version__, "runlab_version": runlab.__version__, "rows": rows}
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest


def read_export_manifest(src: Path) -> dict[str, Any]:
    """The manifest of an export folder; an error naming the folder when it is not one."""
    try:
        manifest = json.loads((src / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{src} is not a runlab warehouse export (no readable {MANIFEST}: {exc})",
                         hint="pass the folder `runlab warehouse export DIR` wrote") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InputError(f"{src / MANIFEST} is not a runlab warehouse export manifest")
    if int(manifest.get("schema_version", 0)) > SCHEMA_VERSION:
        raise WarehouseError(
            f"the export in {src} has schema version {manifest['schema_version']}, newer than this runlab's "
            f"{SCHEMA_VERSION}", hint="upgrade runlab (pip install -U runlab) to import it")
    return manifest


def import_warehouse(wh: Warehouse, src: Path | str) -> dict[str, int]:
    """Fill the empty warehouse ``wh`` from an export folder; returns the rows imported per table."""
    src = Path(src).expanduser()
    manifest = read_export_manifest(src)
    if wh.run_index():
        raise InputError(f"the warehouse {wh.home} already holds runs; import into an empty one",
                         hint="pass a new folder with --home (runlab creates it)")
    for folder in (HISTORY_DIR, ARTIFACT_DIR):
        if (src / folder).is_dir():
            shutil.copytree(src / folder, wh.home / folder, dirs_exist_ok=True)
    rows: dict[str, int] = {}
    with wh._writing() as con:
        con.execute("BEGIN TRANSACTION")
        try:
            for t, expected in dict(manifest.get("rows", {})).items():
                path = src / "catalog" / f"{t}.parquet"
                if t in _SKIP or not path.is_file():
                    continue
                con.execute(f'DELETE FROM "{t}"')
                con.execute(f'INSERT INTO "{t}" BY NAME SELECT * FROM read_parquet({sql_str(str(path))})')
                (n,) = con.execute(f'SELECT count(*) FROM "{t}"').fetchone() or (0,)
                if int(n) != int(expected):
                    raise WarehouseError(f"import of table {t} from {path} gave {n} rows, the export holds "
                                         f"{expected}", hint="the export is incomplete; export again")
                rows[t] = int(n)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return rows
