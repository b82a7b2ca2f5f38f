"""The SQL stages of the tidy frame, run by DuckDB over the history Parquet files.

Stages, all long form until the final pivot so the number of metrics never multiplies window
work: ``base`` (run_id, task, col, x, value; one value per x) -> ``pts`` (the x values each run
keeps: all, downsampled, or a grid) -> ``filled`` (values at those points, interpolated when
asked) -> pivot to one column per metric.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from runlab.warehouse.helpers import sql_str

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def rel(source: str) -> str:
    """``source`` as a FROM item: a table name stays bare, a query becomes a parenthesised subquery.

    Every stage takes either a registered table or the SQL of the stage before it. DuckDB 1.5+
    rejects a parenthesised bare name (``FROM (t)``), so the two must be told apart here, once,
    rather than by each caller.
    """
    text = source.strip()
    return text if _IDENT.fullmatch(text) else f"({text})"


def base_sql(history_sql: str, x_is_step: bool, mapping: str | None) -> str:
    """Long rows keyed by (run, task, col, x); duplicates at one x keep the latest step's value.

    ``mapping`` names a registered table (metric, col, task) for metric-regex tasks: matched
    metrics take their task and column from it; all other metrics get task ''.
    """
    x = "CAST(step AS DOUBLE)" if x_is_step else "x"
    if mapping is None:
        src = f"SELECT run_id, '' AS task, metric AS col, {x} AS x, step, value FROM {rel(history_sql)}"
    else:
        src = (
            f"SELECT h.run_id, coalesce(m.task, '') AS task, coalesce(m.col, h.metric) AS col, "
            f"{'CAST(h.step AS DOUBLE)' if x_is_step else 'h.x'} AS x, h.step, h.value "
            f"FROM {rel(history_sql)} h LEFT JOIN {rel(mapping)} m ON h.metric = m.metric"
        )
    return (
        "SELECT run_id, task, col, x, arg_max(value, step) AS value "
        f"FROM {rel(src)} WHERE x IS NOT NULL GROUP BY run_id, task, col, x"
    )


def points_sql(base: str, method: str | None, n: int, grid: str | None, keep: str | None) -> str:
    """The (run_id, x) points kept per run."""
    if grid is not None:
        return f"SELECT r.run_id, g.x FROM (SELECT DISTINCT run_id FROM {rel(base)}) r CROSS JOIN {rel(grid)} g"
    distinct = f"SELECT DISTINCT run_id, x FROM {rel(base)}"
    if keep is not None:
        return f"SELECT run_id, x FROM {rel(keep)}"
    if method is None:
        return distinct
    if method == "every_nth":
        return (
            "SELECT run_id, x FROM (SELECT run_id, x, row_number() OVER w AS rn, count(*) OVER "
            f"(PARTITION BY run_id) AS cnt FROM {rel(distinct)} WINDOW w AS (PARTITION BY run_id ORDER BY x)) "
            f"WHERE (rn - 1) % {int(n)} = 0 OR rn = cnt"
        )
    # log: bucket by log distance from the run's first x, keep the first point of each bucket + last.
    return (
        f"WITH d AS ({distinct}), r AS (SELECT run_id, min(x) AS lo, max(x) AS hi FROM d GROUP BY run_id), "
        "b AS (SELECT d.run_id, d.x, CASE WHEN r.hi = r.lo THEN 0 ELSE "
        f"floor({int(n)} * ln(1 + d.x - r.lo) / ln(1 + r.hi - r.lo)) END AS bucket FROM d JOIN r USING (run_id)) "
        "SELECT run_id, min(x) AS x FROM b GROUP BY run_id, bucket UNION SELECT run_id, hi FROM r"
    )


def filled_sql(base: str, pts: str, interpolation: str) -> str:
    """Values at every (run, task, col) x point with ``obs`` (logged there) and ``v`` (after filling).

    Filling never goes past a run's last logged x (no extrapolation); linear interpolation
    only between two logged values of the same metric. Only finite values anchor a fill: a
    logged NaN/inf stays at its own x and never spreads to the points around it.
    """
    combos = f"SELECT DISTINCT run_id, task, col FROM {rel(base)}"
    ends = f"SELECT run_id, max(x) AS xend FROM {rel(base)} GROUP BY run_id"
    rows = (
        f"SELECT c.run_id, c.task, c.col, p.x, true AS is_point FROM {rel(combos)} c JOIN {rel(pts)} p USING (run_id)"
    )
    if interpolation == "none":
        return (
            f"SELECT r.run_id, r.task, r.col, r.x, b.value AS v, b.run_id IS NOT NULL AS obs FROM {rel(rows)} r "
            f"LEFT JOIN {rel(base)} b ON r.run_id = b.run_id AND r.task = b.task AND r.col = b.col AND r.x = b.x"
        )
    allrows = (
        f"SELECT run_id, task, col, x, bool_or(is_point) AS is_point FROM ("
        f"{rows} UNION ALL SELECT run_id, task, col, x, false FROM {rel(base)}) GROUP BY ALL"
    )
    joined = (
        f"SELECT a.*, b.value, b.run_id IS NOT NULL AS obs FROM {rel(allrows)} a LEFT JOIN {rel(base)} b "
        "ON a.run_id = b.run_id AND a.task = b.task AND a.col = b.col AND a.x = b.x"
    )
    win = (
        "SELECT *, "
        "last_value(CASE WHEN obs AND isfinite(value) THEN value END IGNORE NULLS) OVER wp AS pv, "
        "last_value(CASE WHEN obs AND isfinite(value) THEN x END IGNORE NULLS) OVER wp AS px, "
        "first_value(CASE WHEN obs AND isfinite(value) THEN value END IGNORE NULLS) OVER wn AS nv, "
        "first_value(CASE WHEN obs AND isfinite(value) THEN x END IGNORE NULLS) OVER wn AS nx "
        f"FROM {rel(joined)} WINDOW "
        "wp AS (PARTITION BY run_id, task, col ORDER BY x ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW), "
        "wn AS (PARTITION BY run_id, task, col ORDER BY x ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING)"
    )
    if interpolation == "ffill":
        fill = "CASE WHEN w.x <= e.xend THEN w.pv END"
    else:
        fill = (
            "CASE WHEN w.px IS NULL OR w.nx IS NULL THEN NULL WHEN w.nx = w.px THEN w.pv "
            "ELSE w.pv + (w.nv - w.pv) * (w.x - w.px) / (w.nx - w.px) END"
        )
    return (
        f"SELECT w.run_id, w.task, w.col, w.x, CASE WHEN w.obs THEN w.value ELSE {fill} END AS v, w.obs "
        f"FROM {rel(win)} w JOIN {rel(ends)} e USING (run_id) WHERE w.is_point"
    )


def pivot_sql(filled: str, cols: Sequence[str]) -> str:
    """One row per (run_id, task, x), one column ``c<i>`` per metric column (renamed later)."""
    aggs = ", ".join(
        f"first(v) FILTER (WHERE col = {sql_str(c)}) AS c{i}" for i, c in enumerate(cols)
    )
    return (
        f"SELECT run_id, task, x{', ' + aggs if aggs else ''} FROM {rel(filled)} "
        "GROUP BY run_id, task, x ORDER BY run_id, task, x"
    )


def report_sql(filled: str) -> str:
    """Per (run, task, col): points, observed, filled, missing and non-finite counts."""
    return (
        "SELECT run_id, task, col AS metric, count(*) AS points, count(*) FILTER (WHERE obs) AS observed, "
        "count(*) FILTER (WHERE NOT obs AND v IS NOT NULL) AS filled, "
        "count(*) FILTER (WHERE v IS NULL) AS missing, "
        "count(*) FILTER (WHERE v IS NOT NULL AND NOT isfinite(v)) AS nonfinite "
        f"FROM {rel(filled)} GROUP BY run_id, task, col ORDER BY run_id, task, col"
    )
