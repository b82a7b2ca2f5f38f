"""Labelling runs for grouping: config rules, name patterns, Python functions and manual labels.

Rules of four kinds combine into one label per (run, column). When several kinds give a run a
value for the same column, the strongest wins:

    manual  >  function  >  pattern  >  config

Within one kind, a rule added later wins over an earlier one. Labels are stored in the
warehouse ``labels`` table with their origin, so a manual label set today still wins over a
config rule applied tomorrow, and ``runlab label list`` shows where each value came from.

    labeler = RunLabeler()
    labeler.add_config_rule("trainer.algorithm", label_column="method")
    labeler.add_pattern_rule("*_baseline", label="baseline")
    labeler.add_manual_labels({"run_123": "experimental"})
    frame = labeler.apply(wh)   # one row per run, one column per label
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from runlab.configpath import config_value
from runlab.errors import InputError
from runlab.warehouse.helpers import glob_match

if TYPE_CHECKING:
    from runlab.warehouse import Warehouse

LabelFunction = Callable[[dict[str, Any]], Any]
"""Called with a run dict (``run_id``, ``name``, ``config``, ``summary``, ``tags``, ...); returns a label or None."""


@dataclass(frozen=True)
class _ConfigRule:
    path: str
    column: str


@dataclass(frozen=True)
class _PatternRule:
    pattern: str
    regex: re.Pattern[str] | None
    label: str
    column: str

    def matches(self, name: str) -> bool:
        if self.regex is not None:
            return self.regex.search(name) is not None
        return glob_match(self.pattern, name)


@dataclass(frozen=True)
class _FunctionRule:
    fn: LabelFunction
    column: str


def _column(name: str | None, what: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"{what} must be a non-empty string, got {name!r}")
    return name


def _is_regex(pattern: str) -> bool:
    """Patterns written as ``re:...``, ``/.../``, or anchored with ``^``/``$`` are regexes; others globs."""
    return pattern.startswith(("re:", "^")) or pattern.endswith("$") or (
        len(pattern) > 1 and pattern.startswith("/") and pattern.endswith("/"))


def _label_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class RunLabeler:
    """Collects labelling rules and applies them to the runs of a warehouse (see module docs)."""

    def __init__(self) -> None:
        self._config: list[_ConfigRule] = []
        self._patterns: list[_PatternRule] = []
        self._functions: list[_FunctionRule] = []
        self._manual: dict[str, dict[str, Any]] = {}

    def add_config_rule(self, path: str, label_column: str | None = None) -> RunLabeler:
        """Label each run with its config value at dotted ``path`` (column: last part of the path)."""
        path = _column(path, "config path")
        self._config.append(_ConfigRule(path, _column(label_column or path.rsplit(".", 1)[-1], "label_column")))
        return self

    def add_pattern_rule(self, pattern: str, label: str, column: str = "label", *,
                         regex: bool | None = None) -> RunLabeler:
        """Label runs whose name matches ``pattern``: a glob (``*_baseline``) or a regex.

        A regex is written ``re:...``, ``/.../``, or anchored (``^...``, ``...$``); ``regex=True``
        forces it. Globs match the whole name; regexes search anywhere in it.
        """
        pattern = _column(pattern, "pattern")
        use_regex = _is_regex(pattern) if regex is None else regex
        compiled = None
        if use_regex:
            body = pattern[3:] if pattern.startswith("re:") else pattern
            if len(body) > 1 and body.startswith("/") and body.endswith("/"):
                body = body[1:-1]
            try:
                compiled = re.compile(body)
            except re.error as exc:
                raise InputError(f"pattern {pattern!r} is not a valid regex: {exc}",
                                 hint="escape special characters, or pass a glob such as '*_baseline'") from exc
        self._patterns.append(_PatternRule(pattern, compiled, _label_text(label), _column(column, "column")))
        return self

    def add_function_rule(self, fn: LabelFunction, column: str) -> RunLabeler:
        """Label each run with ``fn(run)``; ``None`` means no label."""
        if not callable(fn):
            raise InputError(f"function rule must be callable, got {type(fn).__name__}")
        self._functions.append(_FunctionRule(fn, _column(column, "column")))
        return self

    def add_manual_labels(self, labels: Mapping[str, Any], column: str = "label") -> RunLabeler:
        """``{run_ref: label}`` or ``{run_ref: {column: label}}``; refs are ids, short ids or unique names."""
        if not isinstance(labels, Mapping):
            raise InputError(f"manual labels must be a mapping {{run: label}}, got {type(labels).__name__}")
        for ref, value in labels.items():
            values = value if isinstance(value, Mapping) else {column: value}
            for col, v in values.items():
                self._manual.setdefault(str(ref), {})[_column(col, "column")] = v
        return self

    def compute(self, wh: Warehouse) -> dict[str, dict[str, dict[str, str]]]:
        """``origin -> run_id -> {column: value}`` for every rule, without writing anything."""
        runs = wh.runs()
        records = runs.to_dict("records")
        out: dict[str, dict[str, dict[str, str]]] = {o: {} for o in ("config", "pattern", "function", "manual")}
        for run in records:
            rid = run["run_id"]
            for rule in self._config:
                value = config_value(run["config"], rule.path)
                if value is not None:
                    out["config"].setdefault(rid, {})[rule.column] = _label_text(value)
            for prule in self._patterns:
                if prule.matches(run["name"] or ""):
                    out["pattern"].setdefault(rid, {})[prule.column] = prule.label
            for frule in self._functions:
                value = frule.fn(dict(run))
                if value is not None:
                    out["function"].setdefault(rid, {})[frule.column] = _label_text(value)
        for ref, values in self._manual.items():
            rid = wh.resolve_run(ref)
            for col, v in values.items():
                out["manual"].setdefault(rid, {})[col] = None if v is None else _label_text(v)  # type: ignore[assignment]
        return out

    def apply(self, wh: Warehouse) -> pd.DataFrame:
        """Compute all rules, store the labels, and return one row per run with its winning labels.

        For each (column, origin) a rule produces, stored labels of that column and origin are
        replaced, so re-applying after configs change leaves no stale labels behind.
        """
        computed = self.compute(wh)
        for origin, per_run in computed.items():
            columns = [] if origin == "manual" else sorted(set(self._columns(origin)))
            if per_run or columns:
                wh.set_labels(per_run, origin=origin, replace_keys=columns)
        return labels_frame(wh)

    def _columns(self, origin: str) -> list[str]:
        if origin == "config":
            return [r.column for r in self._config]
        if origin == "pattern":
            return [r.column for r in self._patterns]
        return [r.column for r in self._functions]


def labels_frame(wh: Warehouse, run_ids: list[str] | None = None) -> pd.DataFrame:
    """One row per run (``run_id``, ``run_name``) with one column per label key (winning values)."""
    runs = wh.runs(run_ids)
    base = pd.DataFrame({"run_id": runs["run_id"], "run_name": runs["name"]})
    lab = wh.labels(run_ids)
    if not len(lab):
        return base
    wide = lab.pivot(index="run_id", columns="key", values="value")
    wide.columns.name = None
    return base.merge(wide, left_on="run_id", right_index=True, how="left")


__all__ = ["LabelFunction", "RunLabeler", "labels_frame"]
