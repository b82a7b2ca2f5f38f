"""The score matrix: per method, ``ndarray(num_runs, num_tasks)`` with where every number came from.

rliable's convention (``{method: (runs, tasks)}``) plus provenance: the run behind each cell, the
task names, how the scores were reduced and normalised, and the missing-data report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from runlab.errors import InputError
from runlab.frames import MissingReport
from runlab.stats import DIRECTIONS, Direction, choice


class IncompleteDataWarning(UserWarning):
    """Part of the data could not enter a comparison (missing tasks, unequal run counts)."""


@dataclass(frozen=True)
class ScoreMatrix:
    """Scores per method as ``ndarray(num_runs, num_tasks)``, with where every number came from.

    Rows are run slots: with tasks from metric names one row is one run; with tasks from a config
    value each task has its own runs, and row ``i`` holds the ``i``-th run (ordered by run id) of
    every task. Cells without a run are NaN (and ``""`` in :attr:`run_ids`).
    """

    scores: dict[str, np.ndarray]
    """method -> float array (num_rows, num_tasks); NaN where no run fills the cell."""
    run_ids: dict[str, np.ndarray]
    """method -> object array of the same shape: the run each score came from (``""`` if none)."""
    tasks: list[str]
    missing: MissingReport
    metric: str = "score"
    group_by: str = "method"
    task_by: str | None = None
    reducer: str = "last"
    direction: str = "maximize"
    normalize: str | None = None
    run_names: dict[str, str] = field(default_factory=dict)
    """run_id -> display name (data, never markup)."""
    raw_scores: dict[str, np.ndarray] | None = None
    """Scores before normalisation (None when not normalised)."""
    affine: tuple[np.ndarray, np.ndarray] | None = None
    """Per-task ``(centre, span)`` of the normalisation, ``normalised = (raw - centre) / span``
    (None when not normalised); other views of the same runs (e.g. curves) reuse it."""

    @property
    def methods(self) -> list[str]:
        return list(self.scores)

    @property
    def higher_is_better(self) -> bool:
        """Normalised scores are always oriented so that higher is better."""
        return self.normalize is not None or self.direction == "maximize"

    def counts(self) -> dict[str, np.ndarray]:
        """method -> number of finite scores per task."""
        return {m: np.isfinite(s).sum(axis=0) for m, s in self.scores.items()}

    def rectangular(self) -> tuple[dict[str, np.ndarray], list[str], list[str]]:
        """The part every statistic can use: (score_dict, tasks, notes on what was left out).

        Only tasks present for every method are kept, and each method keeps as many rows as its
        smallest task has runs (first runs by run id), so that the result is NaN-free. The notes
        say which tasks and how many runs were left out; callers surface them.
        """
        counts = self.counts()
        keep = np.ones(len(self.tasks), dtype=bool)
        for c in counts.values():
            keep &= c > 0
        notes: list[str] = []
        dropped = [t for t, k in zip(self.tasks, keep, strict=True) if not k]
        if dropped:
            notes.append(
                f"task(s) {', '.join(map(repr, dropped))} are missing for some methods and were left "
                "out of the comparison"
            )
        if not keep.any():
            raise InputError(
                "no task has runs for every method, so the methods cannot be compared",
                hint="check group_by/task_by, or compare fewer methods (see the missing-data report)",
            )
        out: dict[str, np.ndarray] = {}
        for method, s in self.scores.items():
            sub = s[:, keep]
            n = int(counts[method][keep].min())
            cols = [_compact(sub[:, j])[:n] for j in range(sub.shape[1])]
            extra = int(np.isfinite(sub).sum()) - n * sub.shape[1]
            if extra:
                notes.append(
                    f"method {method!r}: tasks have unequal run counts; {extra} score(s) beyond the "
                    f"first {n} run(s) per task were left out"
                )
            out[method] = np.column_stack(cols)
        return out, [t for t, k in zip(self.tasks, keep, strict=True) if k], notes

    def oriented(self, score_dict: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        """Scores with higher = better (negated for a raw ``minimize`` metric)."""
        src = self.scores if score_dict is None else score_dict
        sign = 1.0 if self.higher_is_better else -1.0
        return {m: sign * np.asarray(s, dtype=float) for m, s in src.items()}

    def to_frame(self) -> pd.DataFrame:
        """Long form: method, task, row, run_id, run_name, score (filled cells only)."""
        rows = []
        for method, s in self.scores.items():
            ids = self.run_ids[method]
            for i, j in zip(*np.nonzero(np.isfinite(s)), strict=True):
                rid = str(ids[i, j])
                rows.append((method, self.tasks[j], int(i), rid, self.run_names.get(rid, ""), float(s[i, j])))
        return pd.DataFrame(rows, columns=["method", "task", "row", "run_id", "run_name", "score"])


def _compact(col: np.ndarray) -> np.ndarray:
    return col[np.isfinite(col)]


def from_score_dict(
    score_dict: Mapping[str, Any], tasks: Sequence[str] | None = None, *, direction: Direction = "maximize"
) -> ScoreMatrix:
    """Wrap rliable-convention arrays (``{method: (num_runs, num_tasks)}``) as a :class:`ScoreMatrix`."""
    choice("direction", direction, DIRECTIONS)
    if not score_dict:
        raise InputError("score_dict is empty", hint="pass {method: ndarray(num_runs, num_tasks)}")
    arrays = {str(m): np.atleast_2d(np.asarray(v, dtype=float)) for m, v in score_dict.items()}
    widths = {a.shape[1] for a in arrays.values()}
    if len(widths) != 1:
        raise InputError(f"every method must have the same number of tasks, got {sorted(widths)}")
    width = widths.pop()
    task_names = [str(t) for t in tasks] if tasks is not None else [f"task_{j}" for j in range(width)]
    if len(task_names) != width:
        raise InputError(f"tasks must have {width} names (one per column), got {len(task_names)}")
    bad = {m: int((~np.isfinite(a)).sum()) for m, a in arrays.items() if not np.isfinite(a).all()}
    if bad:
        raise InputError(
            f"scores must be finite; NaN/inf found in {bad}",
            hint="remove or impute them, or build the matrix with score_matrix() which reports them",
        )
    counts = pd.DataFrame(
        [np.full(width, a.shape[0]) for a in arrays.values()], index=list(arrays), columns=task_names
    )
    ids = {m: np.full(a.shape, "", dtype=object) for m, a in arrays.items()}
    return ScoreMatrix(
        scores=arrays,
        run_ids=ids,
        tasks=task_names,
        missing=MissingReport(counts=counts),
        direction=direction,
    )
