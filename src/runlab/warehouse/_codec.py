"""Encoding of run fields for the catalog: JSON that keeps NaN/inf, UTC timestamps, SQL literals."""

from __future__ import annotations

import hashlib
import json
import math
from datetime import UTC, date, datetime
from typing import Any

import numpy as np


def _default(obj: Any) -> Any:
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, set | frozenset | tuple):
        return list(obj)
    if isinstance(obj, bytes):
        return obj.decode("utf-8", errors="replace")
    return str(obj)


def dumps(obj: Any) -> str:
    """JSON text that round-trips NaN and ±inf (Python's ``NaN``/``Infinity`` tokens) and unicode."""
    return json.dumps(obj, allow_nan=True, ensure_ascii=False, default=_default, sort_keys=True)


def loads(text: str | None) -> Any:
    """Inverse of :func:`dumps`; ``None`` stays ``None``."""
    return None if text is None else json.loads(text)


def strict_json(obj: Any) -> Any:
    """A copy that standard JSON parsers accept: non-finite floats become ``"NaN"``/``"Infinity"``."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return "NaN" if math.isnan(obj) else ("Infinity" if obj > 0 else "-Infinity")
    if isinstance(obj, dict):
        return {str(k): strict_json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [strict_json(v) for v in obj]
    return obj


def utc_naive(ts: datetime | None) -> datetime | None:
    """Store timestamps as naive UTC; naive inputs are taken to be UTC already."""
    if ts is None:
        return None
    if ts.tzinfo is not None:
        ts = ts.astimezone(UTC).replace(tzinfo=None)
    return ts


def sql_str(text: str) -> str:
    """A DuckDB string literal; run and metric names are data, so quotes are doubled."""
    return "'" + text.replace("'", "''") + "'"


def sql_ident(name: str) -> str:
    """A DuckDB quoted identifier (column names such as ``metric/agent_step``)."""
    return '"' + name.replace('"', '""') + '"'


def digest(*parts: str) -> str:
    """Short content hash of text parts."""
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()[:32]


def one(con: Any, sql: str, params: list[Any] | None = None) -> tuple[Any, ...] | None:
    """The first row of a query, with the result fully consumed.

    DuckDB refuses other work (e.g. ``register``) on a connection whose last result was not
    read to the end, so single-row reads go through here instead of ``fetchone()``.
    """
    rows = con.execute(sql, params or []).fetchall()
    return tuple(rows[0]) if rows else None
