"""What a run's method is: a label, a config value, a W&B run field, or a capture in the run name.

W&B users group runs the way the W&B UI and openrlbenchmark do: by the run *group*, the *job
type*, the *tags*, or a pattern over run names (``ppo_lr3e-4_seed2`` -> ``ppo_lr3e-4``). Labels
stay the explicit override: a label with the same key wins over all of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from runlab.errors import InputError

RUN_GROUP_FIELDS: tuple[str, ...] = ("group", "job_type", "tags")


@dataclass(frozen=True)
class GroupSpec:
    """``group_by`` parsed: ``kind`` is ``key`` (label or config path), ``run`` (a W&B run field)
    or ``name`` (``name:<regex>``: the named group ``group``, else the first group, of the run name)."""

    text: str
    kind: str
    key: str
    regex: re.Pattern[str] | None = None
    role: str = "group_by"
    """The option this reads, for messages (a config-path ``task_by`` is read the same way)."""

    @classmethod
    def parse(cls, text: str) -> GroupSpec:
        if text.startswith("name:"):
            pattern = text[len("name:"):]
            try:
                rx = re.compile(pattern)
            except re.error as exc:
                raise InputError(f"group_by name pattern {pattern!r} is not a valid regex ({exc})") from None
            if rx.groups < 1:
                raise InputError(
                    f"group_by name pattern {pattern!r} has no capture group",
                    hint=r"capture the method part, e.g. name:(.+)_seed\d+",
                )
            return cls(text, "name", "run_name", rx)
        if text in RUN_GROUP_FIELDS:
            return cls(text, "run", f"run_{text}")
        return cls(text, "key", text)

    def values(self, first: pd.DataFrame, run_ids: list[str]) -> dict[str, Any]:
        """run id -> group value (None where the run has none), from a frame indexed by run id."""
        # A label takes the plain column name unless a config param already has it (then ``label.``).
        label_col = f"label.{self.text}" if f"label.{self.text}" in first.columns else None
        if label_col is None and self.kind != "key" and self.text in first.columns:
            label_col = self.text
        if self.kind == "key":
            config_col = f"config.{self.key}" if f"config.{self.key}" in first.columns else self.key
            base = first[config_col] if config_col in first.columns else None
            if base is None and label_col is None:
                raise InputError(
                    f"{self.role} {self.text!r} is not a column of the tidy frame",
                    hint=f"add it as a label or config param; columns are {list(first.columns)}",
                )
        elif self.kind == "run":
            if self.key not in first.columns and label_col is None:
                raise InputError(f"group_by {self.text!r} needs the tidy frame's {self.key!r} column",
                                 hint=f"make the frame with tidy_frame(..., run_fields=[{self.text!r}])")
            base = first[self.key] if self.key in first.columns else None
        else:
            assert self.regex is not None
            names = first["run_name"] if "run_name" in first.columns else pd.Series(first.index, index=first.index)
            base = names.map(self._capture)
        values = base if base is not None else pd.Series(None, index=first.index, dtype=object)
        if label_col is not None:
            values = first[label_col].where(first[label_col].notna(), values)
        return dict(zip(run_ids, values, strict=True))

    def _capture(self, name: Any) -> str | None:
        assert self.regex is not None
        hit = self.regex.search(str(name))
        if hit is None:
            return None
        return hit.group("group") if "group" in self.regex.groupindex else hit.group(1)
