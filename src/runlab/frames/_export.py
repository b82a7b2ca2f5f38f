"""CSV/Parquet export of frames, history and the run table; files are written atomically.

Long-form history is copied by DuckDB straight from the Parquet files to the output, so exports
of millions of rows never pass through pandas.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from runlab.configpath import flatten
from runlab.csvsafe import neutralise_sql, write_csv
from runlab.errors import InputError
from runlab.warehouse.helpers import one, sql_str, tmp_path_for

if TYPE_CHECKING:
    from runlab.warehouse import Warehouse

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def _format(out: Path) -> str:
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise InputError(f"export file must end in .csv or .parquet, got {out.name!r}",
                         hint="e.g. --out history.parquet")
    return fmt


def _atomic(out: Path, write: Any) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_path_for(out)
    try:
        write(tmp)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    return out


def _cell(value: Any) -> Any:
    """Nested values (lists, dicts) become JSON text so every column has one scalar type."""
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=str)
    return value


def export_frame(frame: pd.DataFrame, out: Path | str) -> Path:
    """Write a frame to ``out`` (``.csv`` or ``.parquet``), atomically."""
    out = Path(out)
    fmt = _format(out)
    df = frame.copy()
    df.attrs = {}
    for c in df.columns:
        if df[c].dtype == object:
            df[c] = df[c].map(_cell)
    if fmt == "csv":
        return _atomic(out, lambda p: write_csv(df, p))
    return _atomic(out, lambda p: df.to_parquet(p, index=False))


def export_history(wh: Warehouse, out: Path | str, runs: Sequence[str] | None = None,
                   metrics: Sequence[str] | None = None) -> int:
    """Long-form history ``run_id, run_name, step, metric, value`` to ``out``; returns the row count."""
    out = Path(out)
    fmt = _format(out)
    ids = wh.resolve_runs(runs)
    query = wh.history_query(ids, metrics)
    names = pd.DataFrame({"run_id": [r for r, _ in wh.run_index()], "run_name": [n for _, n in wh.run_index()]})
    view = "_runlab_export_names"
    wh.con.register(view, names)
    try:
        cols = ("h.run_id", "n.run_name", "h.metric")
        if fmt == "csv":  # text a spreadsheet would run as a formula gets a leading quote; Parquet stays exact
            cols = tuple(neutralise_sql(c) for c in cols)
        sql = (f"SELECT {cols[0]} AS run_id, {cols[1]} AS run_name, h.step, {cols[2]} AS metric, h.value "
               f"FROM ({query}) h LEFT JOIN {view} n USING (run_id) ORDER BY h.run_id, h.step, h.metric")
        (count,) = one(wh.con, f"SELECT count(*) FROM ({query})") or (0,)
        opts = "FORMAT csv, HEADER true" if fmt == "csv" else "FORMAT parquet, COMPRESSION zstd"
        _atomic(out, lambda p: wh.con.execute(f"COPY ({sql}) TO {sql_str(str(p))} ({opts})"))
    finally:
        wh.con.unregister(view)
    return int(count)


def runs_table(wh: Warehouse, runs: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per run: metadata, ``config.a.b`` columns, ``summary.x`` columns, ``label.<key>`` columns."""
    ids = wh.resolve_runs(runs)
    info = wh.runs(ids)
    base = info.drop(columns=["config", "summary"]).copy()
    base["tags"] = [json.dumps(t, ensure_ascii=False) for t in base["tags"]]
    cfg = pd.DataFrame([{f"config.{k}": _cell(v) for k, v in flatten(c).items()} for c in info["config"]],
                       index=info.index)
    summ = pd.DataFrame([{f"summary.{k}": _cell(v) for k, v in flatten(s).items()} for s in info["summary"]],
                        index=info.index)
    lab = wh.labels(ids)
    labels = (lab.pivot(index="run_id", columns="key", values="value").add_prefix("label.")
              if len(lab) else pd.DataFrame(index=pd.Index([], name="run_id")))
    out = pd.concat([base, cfg, summ], axis=1).merge(labels, left_on="run_id", right_index=True, how="left")
    for c in ("created_at", "updated_at"):
        out[c] = out[c].map(lambda t: t.isoformat() if pd.notna(t) else None)
    return out.reset_index(drop=True)


def export_runs(wh: Warehouse, out: Path | str, runs: Sequence[str] | None = None) -> int:
    """Write :func:`runs_table` to ``out``; returns the number of runs."""
    table = runs_table(wh, runs)
    export_frame(table, out)
    return len(table)
