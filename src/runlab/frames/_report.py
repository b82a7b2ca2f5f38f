"""The one missing-data report: what a frame, and the score matrix built from it, left out.

A tidy frame fills :attr:`cells`, :attr:`dropped_runs`, :attr:`absent` and :attr:`rows_without_x`;
a score matrix built from that frame (:func:`runlab.compare.score_matrix`) carries the same report
on, adding the runs-per-(method, task) :attr:`counts` and the runs it could not place. One type for
both, so nothing disappears between the frame and the statistics without a line saying so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


@dataclass(eq=False)
class MissingReport:
    """What is missing, filled or non-finite, and which runs were left out (and why).

    ``cells`` has one row per (run_id, task, metric): ``points`` rows in the frame for that run,
    ``observed`` values logged at those points, ``filled`` values made by interpolation,
    ``missing`` still empty, ``nonfinite`` NaN/±inf values (kept as they are in a frame).

    Compared by identity (``eq=False``): pandas compares ``DataFrame.attrs`` when it combines
    frames, and a field-wise ``==`` over the ``cells`` frame has no single truth value.
    """

    cells: pd.DataFrame = field(default_factory=pd.DataFrame)
    dropped_runs: dict[str, str] = field(default_factory=dict)
    """run_id -> why it is not in the frame (e.g. below ``min_step``)."""
    absent: dict[str, list[str]] = field(default_factory=dict)
    """metric -> run_ids that never logged it."""
    rows_without_x: int = 0
    """History rows dropped because the x-axis had no value yet at their step."""
    counts: pd.DataFrame | None = None
    """Score matrices only: runs per cell (index = methods, columns = tasks; 0 = missing)."""
    runs_without_group: list[str] = field(default_factory=list)
    """Runs that have no value for ``group_by`` (no label, no config entry)."""
    runs_without_task: list[str] = field(default_factory=list)
    """Runs that have no value for a config-path ``task_by``."""
    runs_without_score: list[str] = field(default_factory=list)
    """Runs that have no finite value of the scored metric at all."""
    nonfinite_values: int = 0
    """NaN/inf history values skipped before reducing a curve to a score."""

    @property
    def total_missing(self) -> int:
        return int(self.cells["missing"].sum()) if len(self.cells) else 0

    @property
    def total_filled(self) -> int:
        return int(self.cells["filled"].sum()) if len(self.cells) else 0

    @property
    def total_nonfinite(self) -> int:
        return int(self.cells["nonfinite"].sum()) if len(self.cells) else 0

    @property
    def missing_cells(self) -> list[tuple[str, str]]:
        """(method, task) pairs of a score matrix without a single run."""
        if self.counts is None:
            return []
        stacked = self.counts.stack()
        return [(str(m), str(t)) for (m, t), n in stacked.items() if n == 0]

    @property
    def is_complete(self) -> bool:
        """True when every method has every task and no run was left out."""
        return not (
            self.missing_cells or self.runs_without_group or self.runs_without_task or self.runs_without_score
        )

    def lines(self) -> list[str]:
        """A score matrix's findings in words, one per line (empty when complete)."""
        out: list[str] = []
        by_method: dict[str, list[str]] = {}
        for method, task in self.missing_cells:
            by_method.setdefault(method, []).append(task)
        for method, tasks in by_method.items():
            out.append(f"method {method!r} has no runs for task(s): {', '.join(map(repr, tasks))}")
        if self.runs_without_group:
            out.append(f"{len(self.runs_without_group)} run(s) have no group value and were left out")
        if self.runs_without_task:
            out.append(f"{len(self.runs_without_task)} run(s) have no task value and were left out")
        if self.runs_without_score:
            out.append(f"{len(self.runs_without_score)} run(s) have no finite value of the metric")
        if self.nonfinite_values:
            out.append(f"{self.nonfinite_values} NaN/inf metric value(s) were skipped before reducing")
        return out

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
        return "\n".join(lines + self.lines())
