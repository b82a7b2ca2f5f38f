"""SQL over the history Parquet files: the catalog says which files belong to which runs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from runlab.errors import InputError
from runlab.sources import X_AXES
from runlab.warehouse._codec import sql_ident, sql_str

EMPTY_HISTORY = (
    "SELECT CAST(NULL AS VARCHAR) AS run_id, CAST(NULL AS BIGINT) AS step, "
    "CAST(NULL AS VARCHAR) AS metric, CAST(NULL AS DOUBLE) AS value{x} WHERE false"
)


def history_sql(
    files: Sequence[tuple[Path, Sequence[str]]],
    metrics: Sequence[str] | None,
    *,
    min_step: int | None = None,
    x_axis: str = "_step",
) -> str:
    """A query giving ``run_id, step, metric, value`` (+ ``x``) for the given part files.

    ``files`` pairs each part with the x-axis columns it carries. ``metrics`` are exact names
    (already expanded); ``None`` means all. ``x_axis`` other than ``_step`` adds a column ``x``:
    read from the stored x-axis column when it is one of :data:`X_AXES`, else taken from the
    metric of that name at the same step.
    """
    if not isinstance(x_axis, str) or not x_axis:
        raise InputError(f"x_axis must be a metric name or '_step', got {x_axis!r}")
    want_x = x_axis != "_step"
    if not files or (metrics is not None and not metrics):
        return EMPTY_HISTORY.format(x=", CAST(NULL AS DOUBLE) AS x" if want_x else "")
    src = "read_parquet([" + ", ".join(sql_str(str(p)) for p, _ in files) + "], union_by_name=true)"
    where = []
    if metrics is not None:
        where.append("metric IN (" + ", ".join(sql_str(m) for m in metrics) + ")")
    if min_step is not None:
        where.append(f"step >= {int(min_step)}")
    cond = (" WHERE " + " AND ".join(where)) if where else ""
    if not want_x:
        return f"SELECT CAST(run_id AS VARCHAR) AS run_id, step, metric, value FROM {src}{cond}"
    if x_axis in X_AXES:
        has_col = any(x_axis in axes for _, axes in files)
        x_expr = f"{sql_ident(x_axis)}" if has_col else "CAST(NULL AS DOUBLE)"
        return f"SELECT CAST(run_id AS VARCHAR) AS run_id, step, metric, value, {x_expr} AS x FROM {src}{cond}"
    return (
        f"WITH h AS (SELECT CAST(run_id AS VARCHAR) AS run_id, step, metric, value FROM {src}{cond}), "
        f"xa AS (SELECT CAST(run_id AS VARCHAR) AS run_id, step, first(value) AS x FROM {src} "
        f"WHERE metric = {sql_str(x_axis)} GROUP BY ALL) "
        "SELECT h.run_id, h.step, h.metric, h.value, xa.x FROM h LEFT JOIN xa USING (run_id, step)"
    )
