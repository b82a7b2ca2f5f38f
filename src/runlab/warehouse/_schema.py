"""The catalog schema and its version check.

The catalog is small (one row per run, per metric, per label); history lives in Parquet files that
the ``history_parts`` table references. ``meta.schema_version`` guards against opening a catalog
written by a newer runlab, which could silently misread it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from runlab.errors import WarehouseError

if TYPE_CHECKING:
    import duckdb

SCHEMA_VERSION = 2

#: What each version added, applied in order to an older catalog (or to a reader's snapshot of one).
MIGRATIONS: dict[int, tuple[str, ...]] = {
    2: ("ALTER TABLE runs ADD COLUMN source_stamp VARCHAR DEFAULT ''",
        "ALTER TABLE artifacts ADD COLUMN error VARCHAR DEFAULT ''"),
}

DDL = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR, value VARCHAR);
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR NOT NULL, source VARCHAR, entity VARCHAR, project VARCHAR, name VARCHAR,
    "group" VARCHAR, job_type VARCHAR, tags VARCHAR[], state VARCHAR,
    created_at TIMESTAMP, updated_at TIMESTAMP, config VARCHAR, summary VARCHAR,
    sweep_id VARCHAR, notes VARCHAR, origin_path VARCHAR, problems VARCHAR[],
    fingerprint VARCHAR, meta_hash VARCHAR, max_step BIGINT, history_rows BIGINT, ingested_at TIMESTAMP,
    source_stamp VARCHAR DEFAULT ''
);
CREATE TABLE IF NOT EXISTS history_parts (
    run_id VARCHAR NOT NULL, seq INTEGER, path VARCHAR, n_rows BIGINT,
    min_step BIGINT, max_step BIGINT, x_axes VARCHAR[]
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id VARCHAR NOT NULL, metric VARCHAR, n_rows BIGINT, n_nonfinite BIGINT,
    min_step BIGINT, max_step BIGINT
);
CREATE TABLE IF NOT EXISTS labels (
    run_id VARCHAR NOT NULL, key VARCHAR, value VARCHAR, origin VARCHAR, updated_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS artifacts (
    run_id VARCHAR NOT NULL, name VARCHAR, type VARCHAR, version VARCHAR, digest VARCHAR,
    metadata VARCHAR, path VARCHAR, error VARCHAR DEFAULT ''
);
CREATE TABLE IF NOT EXISTS run_tables (run_id VARCHAR NOT NULL, key VARCHAR, data VARCHAR);
"""


def init_or_check(con: duckdb.DuckDBPyConnection, path: Path, *, read_only: bool) -> bool:
    """Create the schema in an empty catalog, or check (and bring up to date) an existing one.

    A writer migrates an older catalog in place and records the DuckDB version that wrote it in
    ``meta`` (``duckdb_version``; ``duckdb_version_created`` for the first one); a reader
    (``read_only``) migrates only its in-memory snapshot. Returns True when it changed anything.
    """
    import duckdb

    tables = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() "
        "AND table_schema = 'main'").fetchall()}
    if "meta" not in tables:
        if tables:
            raise WarehouseError(
                f"{path} is a DuckDB file but not a runlab catalog (tables: {', '.join(sorted(tables))})",
                hint="point --home / RUNLAB_HOME at an empty folder or an existing runlab warehouse",
            )
        if read_only:
            raise WarehouseError(f"catalog {path} is empty and was opened read-only")
        con.execute("BEGIN")
        con.execute(DDL)
        con.execute("INSERT INTO meta VALUES ('schema_version', ?), ('duckdb_version', ?), "
                    "('duckdb_version_created', ?)", [str(SCHEMA_VERSION), duckdb.__version__, duckdb.__version__])
        con.execute("COMMIT")
        return True
    version = stored_version(con, path)
    changed = False
    if version < SCHEMA_VERSION:
        con.execute("BEGIN")
        for v in range(version + 1, SCHEMA_VERSION + 1):
            for sql in MIGRATIONS.get(v, ()):
                con.execute(sql)
        _set_meta(con, "schema_version", str(SCHEMA_VERSION))
        con.execute("COMMIT")
        changed = True
    if not read_only and meta_value(con, "duckdb_version") != duckdb.__version__:
        _set_meta(con, "duckdb_version", duckdb.__version__)
        changed = True
    return changed


def meta_value(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    rows = con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchall()
    return rows[0][0] if rows else None


def _set_meta(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    con.execute("DELETE FROM meta WHERE key = ?", [key])
    con.execute("INSERT INTO meta VALUES (?, ?)", [key, value])


def stored_version(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """The catalog's schema version; an error for one that is unreadable or newer than this runlab's."""
    version_text = meta_value(con, "schema_version")
    try:
        version = int(version_text) if version_text is not None else None
    except ValueError:
        version = None
    if version is None:
        raise WarehouseError(
            f"catalog {path} has no readable schema_version (got {version_text!r})",
            hint="the catalog is damaged; move it aside and re-ingest your runs",
        )
    if version > SCHEMA_VERSION:
        raise WarehouseError(
            f"catalog {path} has schema version {version}, but this runlab understands up to "
            f"{SCHEMA_VERSION}",
            hint="upgrade runlab (pip install -U runlab), or use a different --home",
        )
    if version < 1:
        raise WarehouseError(
            f"catalog {path} has unknown schema version {version}",
            hint="move it aside and re-ingest your runs",
        )
    return version
