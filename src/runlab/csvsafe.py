"""CSV cells that a spreadsheet cannot run: the one helper every CSV runlab writes goes through.

Run names, tags, task and metric names are data a stranger may choose (a shared W&B project, a
downloaded benchmark). Spreadsheets (Excel, LibreOffice, Google Sheets) run a cell that starts
with ``=``, ``+``, ``-`` or ``@`` (and, in some, a tab or carriage return) as a formula, so a run
named ``=HYPERLINK("http://x","click")`` would become a live link in a CSV export. As OWASP
recommends ("CSV injection"), such text cells get a leading single quote, which spreadsheets show
as text. Only text is touched: numbers (negative ones included) stay numbers, and Parquet
exports stay exact. This module imports nothing of runlab, so every layer may use it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FORMULA_START", "neutralise_cell", "neutralise_frame", "neutralise_sql", "write_csv"]

#: Leading characters that make a spreadsheet treat a text cell as a formula.
FORMULA_START: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula gets a leading ``'``; others pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names cannot run as formulas."""
    out = frame.copy()
    out.columns = [neutralise_cell(c) if isinstance(c, str) else c for c in out.columns]
    for i in range(out.shape[1]):
        col = out.iloc[:, i]
        if col.dtype == object or str(col.dtype) in ("string", "str", "category"):
            out.isetitem(i, col.astype(object).map(neutralise_cell))
    if out.index.dtype == object:
        out.index = out.index.map(neutralise_cell)
    return out


def write_csv(frame: pd.DataFrame, path: Any, *, index: bool = False) -> None:
    """``frame.to_csv(path)`` with every text cell neutralised (see the module doc)."""
    neutralise_frame(frame).to_csv(path, index=index)


def neutralise_sql(expr: str) -> str:
    """SQL (DuckDB) for a text column ``expr`` neutralised the same way, for exports that never
    leave the database (``COPY (SELECT ...) TO 'x.csv'``)."""
    return (f"CASE WHEN regexp_matches({expr}, '^[=+\\-@\\t\\r]') THEN '''' || {expr} ELSE {expr} END")
