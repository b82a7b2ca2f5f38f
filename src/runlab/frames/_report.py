"""The missing-data report that comes with every tidy frame."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


@dataclass
class MissingReport:
    """What is missing, filled or non-finite in a tidy frame, and which runs were left out.

    ``cells`` has one row per (run_id, task, metric): ``points`` rows in the frame for that run,
    ``observed`` values logged at those points, ``filled`` values made by interpolation,
    ``missing`` still empty, ``nonfinite`` NaN/±inf values (kept as they are).
    """

    cells: pd.DataFrame
    dropped_runs: dict[str, str] = field(default_factory=dict)
    """run_id -> why it is not in the frame (e.g. below ``min_step``)."""
    absent: dict[str, list[str]] = field(default_factory=dict)
    """metric -> run_ids that never logged it."""
    rows_without_x: int = 0
    """History rows dropped because the x-axis had no value yet at their step."""

    @property
    def total_missing(self) -> int:
        return int(self.cells["missing"].sum()) if len(self.cells) else 0

    @property
    def total_filled(self) -> int:
        return int(self.cells["filled"].sum()) if len(self.cells) else 0

    @property
    def total_nonfinite(self) -> int:
        return int(self.cells["nonfinite"].sum()) if len(self.cells) else 0

    def __str__(self) -> str:
        lines = [
            f"{self.total_missing} missing value(s), {self.total_filled} filled by interpolation, "
            f"{self.total_nonfinite} non-finite (kept)"
        ]
        for run_id, why in self.dropped_runs.items():
            lines.append(f"dropped {run_id}: {why}")
        for metric, ids in self.absent.items():
            lines.append(f"{metric!r} never logged by {len(ids)} run(s)")
        if self.rows_without_x:
            lines.append(f"{self.rows_without_x} row(s) before the x-axis was first logged were dropped")
        return "\n".join(lines)
