"""From what ``wandb.Api`` returns to :class:`RunRecord`: metadata, nested config, long-form history.

History rows are dicts keyed by metric; they become long-form ``(step, metric, value)`` rows. A row
that lacks some metrics simply contributes fewer long-form rows: nothing is dropped because another
metric was not logged at that step. NaN/inf survive (W&B's JSON sends them as strings).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from runlab.sources._record import HISTORY_SCHEMA

_SPECIAL = {"NaN": math.nan, "nan": math.nan, "Infinity": math.inf, "inf": math.inf,
            "-Infinity": -math.inf, "-inf": -math.inf}


def run_id_for(entity: str, project: str, run_id: str) -> str:
    """The warehouse id of a W&B run (the same for API and offline sources)."""
    return f"wandb:{entity}/{project}/{run_id}"


def parse_time(value: Any) -> datetime | None:
    """W&B timestamps (``2025-01-31T12:00:00``, naive UTC) as aware datetimes."""
    if not value or not isinstance(value, str):
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def to_float(value: Any) -> float | None:
    """A history value as float; None for values that are not scalars (media, histograms)."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        return _SPECIAL.get(value)
    return None


def get_path(config: Mapping[str, Any], path: str) -> Any:
    """Value at a dotted path in a nested config (``trainer.optimizer.lr``); KeyError if absent.

    A key that itself contains dots (flat W&B configs such as ``{"trainer.lr": ...}``) also matches.
    """
    if path in config:
        return config[path]
    head, _, rest = path.partition(".")
    if rest and isinstance(config.get(head), Mapping):
        return get_path(config[head], rest)
    for key in config:
        if rest and path.startswith(key + ".") and isinstance(config[key], Mapping):
            return get_path(config[key], path[len(key) + 1 :])
    raise KeyError(path)


def clean_summary(summary: Mapping[str, Any]) -> dict[str, Any]:
    """Summary without W&B internals; non-finite strings become floats."""
    out: dict[str, Any] = {}
    for k, v in summary.items():
        if k.startswith("_wandb"):
            continue
        out[k] = _SPECIAL.get(v, v) if isinstance(v, str) else v
    return out


class HistoryBuilder:
    """Accumulates scanned history rows into a long-form table, keeping only the chosen keys.

    Rows with the same step (the tail of a live run can be served twice) are merged, later
    values winning, so every (step, metric) appears once.
    """

    def __init__(self, keys: set[str] | None) -> None:
        self.keys = keys
        self._rows: dict[int, dict[str, float]] = {}
        self.skipped_values = 0
        self.nonfinite = 0

    def add(self, row: Mapping[str, Any]) -> None:
        step = row.get("_step")
        if step is None:
            return
        step = int(step)
        target = self._rows.setdefault(step, {})
        for key, value in row.items():
            if key == "_step" or (self.keys is not None and key not in self.keys):
                continue
            if value is None:
                continue
            f = to_float(value)
            if f is None:
                self.skipped_values += 1
                continue
            target[key] = f

    def extend(self, rows: Iterable[Mapping[str, Any]]) -> None:
        for row in rows:
            self.add(row)

    def table(self) -> pa.Table:
        steps: list[int] = []
        metrics: list[str] = []
        values: list[float] = []
        for step in sorted(self._rows):
            for key, value in sorted(self._rows[step].items()):
                steps.append(step)
                metrics.append(key)
                values.append(value)
                if not math.isfinite(value):
                    self.nonfinite += 1
        return pa.table(
            {
                "step": pa.array(steps, pa.int64()),
                "metric": pa.array(metrics, pa.string()),
                "value": pa.array(values, pa.float64()),
            },
            schema=HISTORY_SCHEMA,
        )
