"""Catalog queries that return pandas frames or plain values (the read side of the warehouse)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runlab.errors import InputError, NotFoundError
from runlab.sources import SyncState
from runlab.warehouse._codec import loads, one

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

ORIGINS: tuple[str, ...] = ("manual", "function", "pattern", "config")

RUN_COLUMNS = [
    "run_id", "source", "entity", "project", "name", "group", "job_type", "tags", "state",
    "created_at", "updated_at", "config", "summary", "sweep_id", "notes", "history_rows", "max_step",
]
EXTRA_COLUMNS = ["origin_path", "problems", "fingerprint", "ingested_at"]


def _id_filter(run_ids: Sequence[str] | None, col: str = "run_id") -> tuple[str, list[Any]]:
    if run_ids is None:
        return "", []
    return f" WHERE list_contains(?, {col})", [list(run_ids)]


def sync_state(con: duckdb.DuckDBPyConnection, run_id: str) -> SyncState | None:
    """The stored state a source compares a run against (three point queries on the catalog)."""
    row = one(con, 'SELECT fingerprint, state, updated_at, max_step, history_rows, name, "group", tags, source_stamp '
              "FROM runs WHERE run_id = ?", [run_id])
    if row is None:
        return None
    updated = row[2].replace(tzinfo=UTC) if row[2] is not None else None
    metrics = frozenset(m for (m,) in con.execute("SELECT metric FROM metrics WHERE run_id = ?", [run_id]).fetchall())
    arts = con.execute("SELECT name, version, digest, error FROM artifacts WHERE run_id = ?", [run_id]).fetchall()
    artifacts = frozenset((n or "", v or "", d or "") for n, v, d, _ in arts)
    failed = frozenset((n or "", v or "", d or "") for n, v, d, e in arts if e)
    return SyncState(run_id=run_id, fingerprint=row[0], state=row[1], updated_at=updated,
                     max_step=None if row[3] is None else int(row[3]), history_rows=int(row[4] or 0),
                     name=row[5] or "", group=row[6] or "", tags=tuple(row[7] or ()), metrics=metrics,
                     artifacts=artifacts, failed_artifacts=failed, source_stamp=row[8] or "")


def all_sync_states(con: duckdb.DuckDBPyConnection) -> dict[str, SyncState]:
    """:func:`sync_state` of every stored run, in three queries (a source asks for each run in turn)."""
    metrics: dict[str, set[str]] = {}
    for rid, m in con.execute("SELECT run_id, metric FROM metrics").fetchall():
        metrics.setdefault(rid, set()).add(m)
    arts: dict[str, list[tuple[str, str, str, str]]] = {}
    for rid, n, v, d, e in con.execute("SELECT run_id, name, version, digest, error FROM artifacts").fetchall():
        arts.setdefault(rid, []).append((n or "", v or "", d or "", e or ""))
    out: dict[str, SyncState] = {}
    for row in con.execute('SELECT run_id, fingerprint, state, updated_at, max_step, history_rows, name, "group", '
                           "tags, source_stamp FROM runs").fetchall():
        rid = row[0]
        a = arts.get(rid, [])
        out[rid] = SyncState(
            run_id=rid, fingerprint=row[1], state=row[2],
            updated_at=row[3].replace(tzinfo=UTC) if row[3] is not None else None,
            max_step=None if row[4] is None else int(row[4]), history_rows=int(row[5] or 0), name=row[6] or "",
            group=row[7] or "", tags=tuple(row[8] or ()), metrics=frozenset(metrics.get(rid, ())),
            artifacts=frozenset(x[:3] for x in a), failed_artifacts=frozenset(x[:3] for x in a if x[3]),
            source_stamp=row[9] or "")
    return out


def runs_frame(con: duckdb.DuckDBPyConnection, run_ids: Sequence[str] | None, *, extra: bool = False) -> pd.DataFrame:
    """One row per run; JSON columns decoded, timestamps as UTC."""
    import pandas as pd

    cols = RUN_COLUMNS + (EXTRA_COLUMNS if extra else [])
    where, params = _id_filter(run_ids)
    sel = ", ".join(f'"{c}"' for c in cols)
    rows = con.execute(
        f"SELECT {sel} FROM runs{where} ORDER BY created_at NULLS LAST, name, run_id", params
    ).fetchall()
    df = pd.DataFrame(rows, columns=cols)
    for c in ("config", "summary"):
        df[c] = [loads(v) or {} for v in df[c]]
    df["tags"] = [list(v) if v is not None else [] for v in df["tags"]]
    if extra:
        df["problems"] = [list(v) if v is not None else [] for v in df["problems"]]
    for c in ("created_at", "updated_at") + (("ingested_at",) if extra else ()):
        df[c] = pd.to_datetime(df[c]).dt.tz_localize("UTC")
    df["history_rows"] = df["history_rows"].fillna(0).astype("int64")
    df["max_step"] = df["max_step"].astype("Int64")
    return df


def metric_names(con: duckdb.DuckDBPyConnection, run_ids: Sequence[str] | None) -> pd.DataFrame:
    where, params = _id_filter(run_ids)
    return con.execute(
        "SELECT run_id, metric, n_rows, n_nonfinite, min_step, max_step FROM metrics"
        f"{where} ORDER BY run_id, metric", params
    ).df()


def part_files(con: duckdb.DuckDBPyConnection, home: Path, run_ids: Sequence[str] | None) -> list[tuple[Path, list[str]]]:
    where, params = _id_filter(run_ids)
    rows = con.execute(f"SELECT path, x_axes FROM history_parts{where} ORDER BY run_id, seq", params).fetchall()
    return [(home / p, list(axes or [])) for p, axes in rows]


def _label_value(value: Any) -> str:
    """Labels are text; non-strings are stored as their JSON form (``True`` -> ``true``)."""
    import json

    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)


def set_labels(con: duckdb.DuckDBPyConnection, labels: Mapping[str, Mapping[str, Any]], origin: str,
               *, replace_keys: Sequence[str] = ()) -> int:
    if origin not in ORIGINS:
        raise InputError(f"label origin must be one of {', '.join(ORIGINS)}, got {origin!r}")
    if not isinstance(labels, Mapping):
        raise InputError(f"labels must be a mapping {{run_id: {{key: value}}}}, got {type(labels).__name__}")
    ids = list(labels)
    known = {r for (r,) in con.execute("SELECT run_id FROM runs WHERE list_contains(?, run_id)", [ids]).fetchall()} if ids else set()
    unknown = [r for r in ids if r not in known]
    if unknown:
        raise NotFoundError(f"cannot label unknown run id(s): {', '.join(repr(u) for u in unknown[:5])}",
                            hint="label runs by their full run id (Warehouse.resolve_runs turns names into ids)")
    now = datetime.now(UTC).replace(tzinfo=None)
    deletes: list[tuple[str, str]] = []
    inserts: list[tuple[str, str, str, str, datetime]] = []
    for run_id, kv in labels.items():
        if not isinstance(kv, Mapping):
            raise InputError(f"labels of run {run_id!r} must be a mapping {{key: value}}, got {type(kv).__name__}")
        for key, value in kv.items():
            if not isinstance(key, str) or not key.strip():
                raise InputError(f"label key must be a non-empty string, got {key!r}")
            deletes.append((run_id, key))
            if value is not None:
                inserts.append((run_id, key, _label_value(value), origin, now))
    con.execute("BEGIN TRANSACTION")
    try:
        if replace_keys:
            con.execute("DELETE FROM labels WHERE origin = ? AND list_contains(?, key)", [origin, list(replace_keys)])
        if deletes:
            con.executemany("DELETE FROM labels WHERE run_id = ? AND key = ? AND origin = ?",
                            [(r, k, origin) for r, k in deletes])
        if inserts:
            con.executemany("INSERT INTO labels VALUES (?, ?, ?, ?, ?)", inserts)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return len(inserts)


def delete_labels(con: duckdb.DuckDBPyConnection, *, run_ids: Sequence[str] | None, key: str | None,
                  origin: str | None) -> int:
    if origin is not None and origin not in ORIGINS:
        raise InputError(f"label origin must be one of {', '.join(ORIGINS)}, got {origin!r}")
    conds, params = ["true"], []
    if run_ids is not None:
        conds.append("list_contains(?, run_id)")
        params.append(list(run_ids))
    if key is not None:
        conds.append("key = ?")
        params.append(key)
    if origin is not None:
        conds.append("origin = ?")
        params.append(origin)
    where = " AND ".join(conds)
    (n,) = one(con, f"SELECT count(*) FROM labels WHERE {where}", params) or (0,)
    con.execute(f"DELETE FROM labels WHERE {where}", params)
    return int(n)


def labels_frame(con: duckdb.DuckDBPyConnection, run_ids: Sequence[str] | None, *, all_origins: bool) -> pd.DataFrame:
    where, params = _id_filter(run_ids)
    rank = "CASE origin " + " ".join(f"WHEN '{o}' THEN {i}" for i, o in enumerate(ORIGINS)) + " ELSE 99 END"
    if all_origins:
        sql = f"SELECT run_id, key, value, origin FROM labels{where} ORDER BY run_id, key, {rank}"
    else:
        sql = (
            "SELECT run_id, key, value, origin FROM ("
            f"SELECT *, row_number() OVER (PARTITION BY run_id, key ORDER BY {rank}) AS rn FROM labels{where}"
            ") WHERE rn = 1 ORDER BY run_id, key"
        )
    return con.execute(sql, params).df()


def artifacts_frame(con: duckdb.DuckDBPyConnection, home: Path, run_ids: Sequence[str] | None) -> pd.DataFrame:
    where, params = _id_filter(run_ids)
    df = con.execute(
        "SELECT run_id, name, type, version, digest, metadata, path, "
        "CASE WHEN coalesce(error, '') <> '' THEN 'failed' WHEN path <> '' THEN 'stored' ELSE 'listed' END "
        f"AS status, coalesce(error, '') AS error FROM artifacts{where} ORDER BY run_id, name",
        params,
    ).df()
    df["metadata"] = [loads(v) or {} for v in df["metadata"]]
    df["path"] = [str(home / p) if p else "" for p in df["path"]]
    return df


def tables(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, dict[str, Any]]:
    rows = con.execute("SELECT key, data FROM run_tables WHERE run_id = ? ORDER BY key", [run_id]).fetchall()
    return {k: loads(v) for k, v in rows}
