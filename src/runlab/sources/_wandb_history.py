"""History of a W&B offline run, built window by window so memory does not grow with the run.

The reader decodes the history records of each window of the log (see
:func:`runlab.sources._wandb_log.iter_log`) into one long-form chunk (step, metric, value) and
hands it to :class:`HistoryChunks`, which tallies what the messages need (NaN/inf counts, skipped
values, the last timestamp, table references, the steps of each record) and holds the chunks —
in memory while the run is small, in a :class:`~runlab.sources._record.HistorySpill` file once it
passes :data:`SPILL_ROWS` rows, so a 10M-row run never sits in memory whole.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa

from runlab.sources._record import HISTORY_SCHEMA, HistorySpill, RunRecord
from runlab.sources._wandb_items import ItemColumns

#: History rows held in memory before the chunks go to a temporary file.
SPILL_ROWS = 1_000_000

_TABLE_TYPES = frozenset(("table-file", "partitioned-table", "joined-table"))


@dataclass
class HistoryChunks:
    """The history chunks of one run, in log order, and the tallies over all of them."""

    spill_rows: int = field(default_factory=lambda: SPILL_ROWS)
    chunks: list[pa.Table] = field(default_factory=list)
    spill: HistorySpill | None = None
    rows: int = 0
    ordered: bool = True
    """False once a chunk starts before the previous chunk's last step (then sorted at the end)."""
    max_step: int | None = None
    nan: int = 0
    inf: int = 0
    skipped: int = 0
    skipped_names: set[str] = field(default_factory=set)
    last_timestamp: float | None = None
    table_refs: list[tuple[str, str]] = field(default_factory=list)
    """``(history key, file path)`` of every table logged in the history, oldest first."""
    record_steps: list[np.ndarray] = field(default_factory=list)
    """Per window: the step of each history record (for the steps a damaged region cut)."""
    row_steps: list[np.ndarray] = field(default_factory=list)
    """Per window: the distinct steps that have history rows."""

    def add(self, items: ItemColumns) -> None:
        """Decode one window's history items into a chunk and tally it."""
        table = self._table(items)
        self.record_steps.append(np.asarray(items.steps, np.int64))
        self.table_refs.extend(_table_refs(items))
        if table.num_rows == 0:
            return
        steps = table["step"].to_numpy()
        self.row_steps.append(np.unique(steps))
        if self.max_step is not None and int(steps[0]) < self.max_step:
            self.ordered = False
        self.max_step = max(int(steps[-1]), self.max_step if self.max_step is not None else int(steps[-1]))
        self.rows += table.num_rows
        if self.spill is None and self.rows > self.spill_rows:
            self.spill = HistorySpill()
            for chunk in self.chunks:
                self.spill.append(chunk)
            self.chunks = []
        if self.spill is not None:
            self.spill.append(table)
        else:
            self.chunks.append(table)

    def apply(self, record: RunRecord) -> None:
        """Set the record's history (held or spilled), ``updated_at`` and the history problems."""
        if self.spill is not None and self.ordered:
            record.history_batches = self.spill.finish()
        else:
            if self.spill is not None:  # out of step order across windows: sorting needs it whole
                chunks, self.spill = [self.spill.read_all()], None
            else:
                chunks = self.chunks
            table = pa.concat_tables(chunks).combine_chunks() if chunks else HISTORY_SCHEMA.empty_table()
            if not self.ordered:
                table = table.take(pa.array(np.argsort(table["step"].to_numpy(), kind="stable")))
            record.history = table
        self.chunks = []
        if self.last_timestamp is not None:
            record.updated_at = datetime.fromtimestamp(self.last_timestamp, tz=UTC)
        if self.nan or self.inf:
            record.problems.append(f"history holds {self.nan} NaN and {self.inf} ±inf values (kept as logged)")
        if self.skipped:
            names = sorted(self.skipped_names)
            shown = ", ".join(repr(n) for n in names[:5])
            more = f" and {len(names) - 5} more" if len(names) > 5 else ""
            record.problems.append(
                f"skipped {self.skipped} non-numeric history values (text, lists, null) of {len(names)} key(s): "
                f"{shown}{more}"
            )

    def steps_with_rows(self) -> int:
        """How many distinct steps have history rows."""
        return int(np.unique(np.concatenate(self.row_steps)).size) if self.row_steps else 0

    def _table(self, items: ItemColumns) -> pa.Table:
        """Long-form rows (step, metric, value) of every numeric item except ``_step`` itself."""
        values = _decode_values(items.raw)
        items.raw = []
        numbers, numeric = _to_float(values)
        items.values, items.non_numeric = values, np.flatnonzero(~numeric).tolist()
        step_kid = items.key_id("_step")
        media = np.isin(items.key, _media_keys(items))
        keep = numeric & ~media & (items.key != step_kid)
        self._count(items, numbers, numeric & ~media, keep | (items.key == step_kid) | media)
        key = items.key[keep]
        steps = items.steps[items.record[keep]]
        vals = numbers[keep]
        if steps.size and np.any(np.diff(steps) < 0):
            order = np.argsort(steps, kind="stable")
            steps, key, vals = steps[order], key[order], vals[order]
        metric = pa.DictionaryArray.from_arrays(pa.array(key, pa.int32()), pa.array(items.names, pa.string()))
        if "_timestamp" in items.names:
            ts = numbers[numeric & (items.key == items.names.index("_timestamp"))]
            ts = ts[np.isfinite(ts)]
            if ts.size:
                top = float(ts.max())
                self.last_timestamp = top if self.last_timestamp is None else max(top, self.last_timestamp)
        return pa.Table.from_arrays(
            [pa.array(steps, pa.int64()), metric.cast(pa.string()), pa.array(vals, pa.float64())],
            schema=HISTORY_SCHEMA,
        )

    def _count(self, items: ItemColumns, numbers: np.ndarray, numeric: np.ndarray, accounted: np.ndarray) -> None:
        """Tally NaN/inf values and the values that could not become metrics."""
        self.nan += int(np.count_nonzero(np.isnan(numbers) & numeric))
        self.inf += int(np.count_nonzero(np.isinf(numbers) & numeric))
        skipped = ~accounted
        n_skipped = int(np.count_nonzero(skipped))
        if n_skipped:
            self.skipped += n_skipped
            self.skipped_names.update(items.names[k] for k in np.unique(items.key[skipped]).tolist())


def _decode_values(raw: list[bytes]) -> list[Any]:
    """JSON-decode all value texts with one parser call; fall back per value on bad text."""
    if not raw:
        return []
    try:
        values = json.loads(b"[" + b",".join(raw) + b"]")
        if len(values) == len(raw):
            return values
    except ValueError:
        pass
    out: list[Any] = []
    for text in raw:
        try:
            out.append(json.loads(text))
        except ValueError:
            out.append(text.decode("utf-8", "replace"))
    return out


def _to_float(values: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Numeric view of decoded values: ``(float64 values, mask of numeric items)``; bools are 0/1."""
    n = len(values)
    if set(map(type, values)) <= {float, int, bool}:
        try:
            return np.array(values, np.float64), np.ones(n, bool)
        except OverflowError:
            pass
    mask = np.fromiter((type(v) in (float, int, bool) for v in values), bool, n)
    out = np.full(n, np.nan)
    for i in np.flatnonzero(mask).tolist():
        try:
            out[i] = float(values[i])
        except OverflowError:
            mask[i] = False
    return out, mask


def _media_keys(items: ItemColumns) -> list[int]:
    """Key ids that are fields of logged media objects (tables, images...), not metrics.

    wandb-core flattens a logged media dict into items ``key/_type``, ``key/path``, ``key/nrows``
    ...; the numeric ones among them (sizes, counts) must not become history metrics.
    """
    prefixes = {parts[:-1] for parts in items.parts if len(parts) > 1 and parts[-1] == "_type"}
    if not prefixes:
        return []
    return [
        kid
        for kid, parts in enumerate(items.parts)
        if any(len(parts) > len(p) and parts[: len(p)] == p for p in prefixes)
    ]


def _table_refs(items: ItemColumns) -> Iterator[tuple[str, str]]:
    """``(history key, file path)`` for every table logged in the history, oldest first.

    A table value is either one JSON object (``{"_type": "table-file", "path": ...}``) or, as
    wandb-core writes it, flattened into ``key/_type`` and ``key/path`` items of the same step.
    """
    path_at: dict[tuple[int, tuple[str, ...]], str] = {}
    types: list[tuple[int, tuple[str, ...]]] = []
    for j in items.non_numeric:
        value = items.values[j]
        parts = items.parts[int(items.key[j])]
        rec = int(items.record[j])
        if isinstance(value, dict):
            if value.get("_type") in _TABLE_TYPES and isinstance(value.get("path"), str):
                yield "/".join(parts), value["path"]
        elif len(parts) > 1 and parts[-1] == "path" and isinstance(value, str):
            path_at[rec, parts[:-1]] = value
        elif len(parts) > 1 and parts[-1] == "_type" and value in _TABLE_TYPES:
            types.append((rec, parts[:-1]))
    for rec, prefix in types:
        path = path_at.get((rec, prefix))
        if path is not None:
            yield "/".join(prefix), path
