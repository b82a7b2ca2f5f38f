"""Questions about a history beyond its own methods: summaries, filters, metric correlation, exports."""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from runlab.csvsafe import neutralise_cell as neutralise_cell  # re-exported by runlab.envconfig
from runlab.csvsafe import write_csv
from runlab.envconfig._history import ConfigHistory
from runlab.envconfig._keys import KeyParams
from runlab.errors import InputError

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge, "<=": operator.le, "!=": operator.ne, "==": operator.eq,
    ">": operator.gt, "<": operator.lt, "=": operator.eq,
}
_WHERE = re.compile(r"^\s*([^<>=!\s]+)\s*(>=|<=|!=|==|>|<|=)\s*(.+?)\s*$")


def summary(hist: ConfigHistory, key_params: Mapping[str, str] | KeyParams | None = None) -> dict[str, Any]:
    """The report's numbers: totals, task frequencies, the change timeline and key parameters per config."""
    freq = hist.task_frequencies()
    spans = hist.spans
    return {
        "total_configurations_logged": sum(freq.values()),
        "unique_tasks": len(freq),
        "unique_configs": len(hist.unique_configs()),
        "epochs_recorded": hist.epochs_recorded,
        "first_epoch": min((s.epoch for s in spans), default=None),
        "last_epoch": spans[-1].last_epoch if spans else None,
        "segments": (spans[-1].segment + 1) if spans else 0,
        "format": hist.source_format,
        "task_frequencies": freq,
        "changes": [c.to_dict() for c in hist.changes()],
        "key_parameters": hist.key_parameters(key_params),
        "meta": hist.meta,
    }


@dataclass(frozen=True)
class Condition:
    """One ``--where`` test: a key parameter name or dotted config path, an operator, a value."""

    key: str
    op: str
    value: Any

    def test(self, config: Any, kp: KeyParams) -> bool:
        """True when ``config`` has the key and the comparison holds (numbers numerically)."""
        found = kp.extract(config).get(self.key)
        if found is None:
            found = KeyParams({self.key: self.key}).extract(config).get(self.key)
        if found is None:
            return False
        if isinstance(found, bool | int | float) and isinstance(self.value, int | float) and not isinstance(
                self.value, bool):
            return _OPS[self.op](float(found), float(self.value))
        if self.op in ("=", "==", "!="):
            return _OPS[self.op](str(found), str(self.value))
        return False


def parse_where(text: str) -> Condition:
    """``max_steps>1000`` -> Condition; the value is a JSON number/bool or else a string."""
    m = _WHERE.match(text)
    if m is None:
        raise InputError(f"--where must look like KEY OP VALUE (ops: > >= < <= = !=), got {text!r}",
                         hint="e.g. --where 'max_steps>1000' or --where 'physics.gravity=9.8'")
    key, op, raw = m.groups()
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw.strip("'\"")
    return Condition(key, op, value)


def matching_configs(hist: ConfigHistory, conditions: Sequence[Condition],
                     key_params: Mapping[str, str] | KeyParams | None = None) -> list[dict[str, Any]]:
    """The (task, config) pairs of ``hist`` whose config meets every condition, with their first epoch."""
    kp = key_params if isinstance(key_params, KeyParams) else KeyParams(key_params)
    rows = hist.key_parameters(kp)
    return [r for r in rows if all(c.test(hist.snapshots.get(r["config_hash"]), kp) for c in conditions)]


def correlate(hist: ConfigHistory, x: np.ndarray, y: np.ndarray, *, axis: str = "epoch") -> dict[str, Any]:
    """A metric before and after each configuration change, and per task over the changes that brought it in.

    ``x`` is the metric's position on ``axis`` (``epoch`` or ``agent_step``), ``y`` its values.
    "Before" is the metric between the previous change and this one, "after" between this change and
    the next (within one training segment); non-finite values are ignored.
    """
    if axis not in ("epoch", "agent_step"):
        raise InputError(f"axis must be 'epoch' or 'agent_step', got {axis!r}")
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    changes = hist.changes()
    pos = [float(getattr(c, axis)) for c in changes]
    rows = []
    for i, c in enumerate(changes):
        same_prev = i > 0 and changes[i - 1].segment == c.segment
        same_next = i + 1 < len(changes) and changes[i + 1].segment == c.segment
        lo = pos[i - 1] if same_prev else -math.inf
        hi = pos[i + 1] if same_next else math.inf
        before, after = y[(x >= lo) & (x < pos[i])], y[(x >= pos[i]) & (x < hi)]
        b = float(before.mean()) if before.size else None
        a = float(after.mean()) if after.size else None
        rows.append({**c.to_dict(), "before": b, "after": a, "n_before": int(before.size),
                     "n_after": int(after.size), "delta": None if a is None or b is None else a - b})
    per_task: dict[str, list[float]] = {}
    for r in rows:
        for task in r["added"]:
            per_task.setdefault(task, [])
            if r["delta"] is not None:
                per_task[task].append(r["delta"])
    tasks = [{"task": t, "changes": len(d), "mean_delta": float(np.mean(d)) if d else None}
             for t, d in per_task.items()]
    return {"axis": axis, "changes": rows, "tasks": tasks}


def export_csv(hist: ConfigHistory, path: Path, key_params: Mapping[str, str] | KeyParams | None = None) -> int:
    """One row per (epoch range, task config) with the key parameters as columns; returns the row count."""
    frame = hist.to_frame(key_params)
    frame.columns = [str(c) for c in frame.columns]
    path.parent.mkdir(parents=True, exist_ok=True)
    write_csv(frame, path)
    return len(frame)


def export_sequence(hist: ConfigHistory, path: Path) -> int:
    """The state sequence as JSON lines (epoch range, tasks with full configs); returns the line count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        for item in hist.sequence():
            fh.write(json.dumps(item, sort_keys=True) + "\n")
            n += 1
    return n


def read_sequence(path: Path) -> list[dict[str, Any]]:
    """Read an exported sequence back (for replaying a curriculum exactly)."""
    out = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except ValueError as exc:
            raise InputError(f"{path} line {i} is not JSON: {exc}") from None
    return out
