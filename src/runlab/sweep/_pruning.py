"""Early stopping of running trials: the :class:`Pruner` the runner consults, and the progress
a trainer prints.

A trainer reports its curve as JSON lines on stdout (``{"agent_step": 4096, "overview/reward":
31.5}``). While a trial runs, the worker reads the new lines of its ``stdout.log`` every
``poll_s`` seconds and asks the pruner whether the trial can still beat the best score the
sweep had when the trial started. The sweep package only defines the interface: a model that
predicts curves (``runlab.curves.CurvePruner``) sits in a higher layer and is handed in by
whoever builds the runner (the CLI's ``--prune-with``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from runlab.errors import InputError


@runtime_checkable
class Pruner(Protocol):
    """Decides from a running trial's curve so far whether it is hopeless."""

    def should_prune(self, params: Mapping[str, Any], steps: Sequence[float], values: Sequence[float],
                     best: float, direction: str) -> bool:
        """Stop the trial: its final value is worse than ``best`` (under ``direction``) with high
        probability, given the ``(steps, values)`` seen so far."""
        ...

    def predicted_final(self, params: Mapping[str, Any], steps: Sequence[float], values: Sequence[float],
                        ) -> tuple[float, float]:
        """Mean and standard deviation of the final value: the stopped trial's stand-in score."""
        ...


@dataclass(frozen=True, kw_only=True)
class PruningSpec:
    """How one trial is watched (picklable when the pruner is, so a Ray task can carry it)."""

    pruner: Pruner
    metric: str
    """The curve metric in the progress lines (the pruner's model was trained on it)."""
    step_key: str = "agent_step"
    """The x-axis key in the progress lines."""
    best: float
    """The best finished score when the trial was submitted (the bar it must clear)."""
    direction: str = "maximize"
    poll_s: float = 1.0
    """Seconds between looks at the trainer's output."""

    def __post_init__(self) -> None:
        if self.direction not in ("maximize", "minimize"):
            raise InputError(f"direction must be 'maximize' or 'minimize', got {self.direction!r}")
        if not self.poll_s > 0:
            raise InputError(f"prune poll interval must be > 0 s, got {self.poll_s}")
        if not math.isfinite(self.best):
            raise InputError(f"the best score to beat must be finite, got {self.best!r}")


@dataclass(frozen=True, kw_only=True)
class PruneDecision:
    """Why a trial was stopped: where it was, and the final value it was predicted to reach."""

    steps: int
    """Progress points seen."""
    last_step: float
    predicted_mean: float
    predicted_std: float


class ProgressReader:
    """Reads the ``(step, value)`` points a trainer has printed so far, a little at a time.

    Only complete lines are parsed (a line being written is kept for the next poll); lines that
    are not JSON objects with finite numbers under both keys are ignored, as any other output is.
    """

    def __init__(self, path: Path, metric: str, step_key: str = "agent_step") -> None:
        self.path, self.metric, self.step_key = Path(path), metric, step_key
        self.steps: list[float] = []
        self.values: list[float] = []
        self._offset = 0
        self._partial = b""

    def poll(self) -> bool:
        """Read what was appended since the last call; True when new points arrived."""
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self._offset)
                chunk = fh.read()
        except OSError:
            return False
        self._offset += len(chunk)
        *lines, self._partial = (self._partial + chunk).split(b"\n")
        before = len(self.steps)
        for raw in lines:
            self._add(raw.decode("utf-8", errors="replace").strip())
        return len(self.steps) > before

    def _add(self, line: str) -> None:
        if not line.startswith("{"):
            return
        try:
            row = json.loads(line)
        except ValueError:
            return
        if not isinstance(row, dict):
            return
        x, y = row.get(self.step_key), row.get(self.metric)
        if _finite(x) and _finite(y):
            self.steps.append(float(x))
            self.values.append(float(y))


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


__all__ = ["ProgressReader", "PruneDecision", "Pruner", "PruningSpec"]
