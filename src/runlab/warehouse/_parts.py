"""History part files: long-form rows of one run plus its x-axis columns, as Parquet.

A part holds ``run_id, step, metric, value`` and one float column per x-axis the run logged
(:data:`runlab.sources.X_AXES`). The x-axis value of a row is the x-axis metric's value at the
same step, or the last one logged before it (x-axes are monotone counters), so runs align on any
x-axis with a column read instead of a self-join. Rows are sorted by ``(metric, step)`` so Parquet
row-group statistics let DuckDB skip data when few metrics are read.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from runlab.errors import InputError
from runlab.sources import HISTORY_SCHEMA, X_AXES
from runlab.warehouse._layout import fsync_dir, tmp_path_for

ROW_GROUP_SIZE = 256 * 1024


def normalize_history(table: pa.Table, run_id: str) -> pa.Table:
    """Check a record's history against :data:`HISTORY_SCHEMA` and cast it; keep NaN/inf as is."""
    missing = [n for n in HISTORY_SCHEMA.names if n not in table.column_names]
    if missing:
        raise InputError(
            f"history of run {run_id!r} must have columns {HISTORY_SCHEMA.names}, missing {missing}",
            hint="build it with runlab.sources.HISTORY_SCHEMA (long form: step, metric, value)",
        )
    table = table.select(HISTORY_SCHEMA.names)
    try:
        table = table.cast(HISTORY_SCHEMA, safe=False) if table.schema != HISTORY_SCHEMA else table
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise InputError(f"history of run {run_id!r} cannot be cast to step:int64, metric:str, value:float64: {exc}") from exc
    if table.num_rows and (table["step"].null_count or table["metric"].null_count):
        raise InputError(f"history of run {run_id!r} has rows without a step or metric name")
    return table.combine_chunks()


def x_axis_columns(table: pa.Table, carry: dict[str, float]) -> dict[str, pa.Array]:
    """As-of x-axis values for every row (null before the first logged value).

    ``carry`` holds each x-axis's last value from earlier parts of the same run.
    """
    steps = table["step"].to_numpy()
    metrics = table["metric"]
    values = table["value"].to_numpy(zero_copy_only=False)
    out: dict[str, pa.Array] = {}
    for axis in X_AXES:
        mask = pc.equal(metrics, axis).to_numpy(zero_copy_only=False)
        if not mask.any() and axis not in carry:
            continue
        ax_steps, ax_vals = steps[mask], values[mask]
        order = np.argsort(ax_steps, kind="stable")
        ax_steps, ax_vals = ax_steps[order], ax_vals[order]
        if axis in carry:
            ax_steps = np.concatenate([[np.iinfo(np.int64).min], ax_steps])
            ax_vals = np.concatenate([[carry[axis]], ax_vals])
        idx = np.searchsorted(ax_steps, steps, side="right") - 1
        col = np.full(len(steps), np.nan)
        ok = idx >= 0
        col[ok] = ax_vals[idx[ok]]
        out[axis] = pa.array(col, mask=~ok)
    return out


def build_part(run_id: str, history: pa.Table, carry: dict[str, float]) -> pa.Table:
    """The Parquet table for one part: run_id, step, metric, value, x-axis columns; sorted."""
    cols = x_axis_columns(history, carry)
    n = history.num_rows
    arrays = [
        pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)), pa.array([run_id])),
        history["step"],
        history["metric"],
        history["value"],
    ]
    names = ["run_id", "step", "metric", "value"]
    for axis, col in cols.items():
        arrays.append(col)
        names.append(axis)
    table = pa.Table.from_arrays(arrays, names=names)
    return table.sort_by([("metric", "ascending"), ("step", "ascending")])


def write_part(table: pa.Table, final: Path) -> None:
    """Write a Parquet file atomically (temp file in the same folder, fsync, rename)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_path_for(final)
    try:
        pq.write_table(table, tmp, compression="zstd", row_group_size=ROW_GROUP_SIZE)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()
    fsync_dir(final.parent)
