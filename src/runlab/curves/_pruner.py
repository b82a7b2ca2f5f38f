"""Early stopping of sweep trials from a trained curve model.

A running trial reports ``(step, value)`` pairs of the curve metric (JSON lines on stdout, e.g.
``{"agent_step": 4096, "overview/reward": 31.5}``; :func:`read_progress` parses them). The
:class:`CurvePruner` puts the points seen so far on the model's grid, conditions the model's
prediction for the trial's parameters on them, and reads off the probability that the final value
ends worse than the best final score so far. ``should_prune`` is that probability above
``threshold``, once at least ``min_fraction`` of the grid has been observed.

The objective compared with ``best`` must be the curve metric's final value (the model's last
grid point), in the same units.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from runlab.configpath import flatten
from runlab.curves._predictor import CurvePredictor
from runlab.errors import InputError

if TYPE_CHECKING:
    from runlab.curves._dataset import CurveDataset


def read_progress(lines: Iterable[str] | Path | str, metric: str, step_key: str = "agent_step"
                  ) -> tuple[list[float], list[float]]:
    """``(steps, values)`` from JSON lines holding both ``step_key`` and ``metric`` (others ignored).

    ``lines`` is an iterable of text lines or a path to a log file (a missing file gives no points).
    """
    if isinstance(lines, Path | str):
        p = Path(lines)
        if not p.is_file():
            return [], []
        lines = p.read_text(encoding="utf-8", errors="replace").splitlines()
    steps, values = [], []
    for line in lines:
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(row, dict):
            continue
        x, y = row.get(step_key), row.get(metric)
        if isinstance(x, int | float) and isinstance(y, int | float) and math.isfinite(x) and math.isfinite(y):
            steps.append(float(x))
            values.append(float(y))
    return steps, values


def observed_on_grid(grid: np.ndarray, steps: Sequence[float], values: Sequence[float]) -> np.ndarray:
    """The observed curve at the grid points up to the last step (linear interpolation), NaN after."""
    x = np.asarray(steps, dtype=float)
    y = np.asarray(values, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    out = np.full(len(grid), np.nan)
    if not len(x):
        return out
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    seen = (grid >= x[0]) & (grid <= x[-1])
    out[seen] = np.interp(grid[seen], x, y)
    return out


class CurvePruner:
    """Decides whether a running trial is hopeless, from a trained :class:`CurvePredictor`.

    ``base_config`` (nested) supplies the config values a trial's parameters do not override, so
    every model feature has a value; parameters are dotted paths or nested dicts.
    """

    def __init__(self, predictor: CurvePredictor, *, threshold: float = 0.9, min_fraction: float = 0.2,
                 base_config: Mapping[str, Any] | None = None) -> None:
        if not 0.5 <= threshold < 1.0:
            raise InputError(f"threshold must be in [0.5, 1), got {threshold}")
        if not 0.0 < min_fraction < 1.0:
            raise InputError(f"min_fraction must be in (0, 1), got {min_fraction}")
        predictor._check_fitted()
        self.predictor, self.threshold, self.min_fraction = predictor, threshold, min_fraction
        self.base_config = flatten(dict(base_config or {}))

    @classmethod
    def from_dir(cls, model_dir: Path | str, **options: Any) -> CurvePruner:
        """A pruner over the model saved in ``model_dir`` (``runlab curves train --out``)."""
        return cls(CurvePredictor.load(model_dir), **options)

    def _config(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return {**self.base_config, **flatten(dict(params))}

    def probability_worse(self, params: Mapping[str, Any], steps: Sequence[float], values: Sequence[float],
                          best: float, direction: str = "maximize") -> float:
        """P(final value worse than ``best``) given the curve so far (0 with no usable points)."""
        if direction not in ("maximize", "minimize"):
            raise InputError(f"direction must be 'maximize' or 'minimize', got {direction!r}")
        grid = self.predictor.grid_
        assert grid is not None
        obs = observed_on_grid(grid, steps, values)
        if not np.isfinite(obs).any() or best is None or not math.isfinite(best):
            return 0.0
        pred = self.predictor.predict_rest([self._config(params)], obs[None, :])
        below = float(pred.prob_below(best)[0])
        return below if direction == "maximize" else 1.0 - below

    def observed_fraction(self, steps: Sequence[float]) -> float:
        """Share of the model's grid span the trial has reached."""
        grid = self.predictor.grid_
        assert grid is not None
        if not len(steps):
            return 0.0
        span = float(grid[-1] - grid[0]) or 1.0
        return float(np.clip((max(steps) - grid[0]) / span, 0.0, 1.0))

    def predicted_final(self, params: Mapping[str, Any], steps: Sequence[float], values: Sequence[float]
                        ) -> tuple[float, float]:
        """Mean and std of the final value given the curve so far: a pruned trial's stand-in score."""
        grid = self.predictor.grid_
        assert grid is not None
        obs = observed_on_grid(grid, steps, values)
        pred = (self.predictor.predict_rest([self._config(params)], obs[None, :]) if np.isfinite(obs).any()
                else self.predictor.predict([self._config(params)]))
        assert pred.std is not None
        return float(pred.mean[0, -1]), float(pred.std[0, -1])

    def should_prune(self, params: Mapping[str, Any], steps: Sequence[float], values: Sequence[float],
                     best: float, direction: str = "maximize") -> bool:
        """Stop the trial: enough of it seen, and its final value is worse than ``best`` with
        probability above ``threshold``."""
        if self.observed_fraction(steps) < self.min_fraction:
            return False
        return self.probability_worse(params, steps, values, best, direction) > self.threshold


def replay_pruning(pruner: CurvePruner, dataset: CurveDataset, *, checkpoints: Sequence[float] = (
        0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9), direction: str = "maximize") -> dict[str, Any]:
    """Replay a sequential sweep over ``dataset``'s runs (in order) with ``pruner`` deciding at each
    checkpoint (share of the grid seen); a pruned run's final value never counts as found.

    Returns trials, pruned, ``compute_saved`` (share of grid points not run), the best final value
    found with and without pruning, and the ``regret`` pruning caused (0 = the same best).
    """
    sign = 1.0 if direction == "maximize" else -1.0
    length = dataset.curves.shape[1]
    best, used, pruned = -math.inf, 0, 0
    for config, curve in zip(dataset.configs, dataset.curves, strict=True):
        stop = length
        if math.isfinite(best):
            for c in checkpoints:
                k = max(1, math.ceil(c * length))
                if pruner.should_prune(config, dataset.grid[:k], curve[:k], sign * best, direction):
                    stop = k
                    break
        used += stop
        if stop == length:
            best = max(best, sign * float(curve[-1]))
        else:
            pruned += 1
    finals = sign * dataset.curves[:, -1]
    return {"trials": len(dataset), "pruned": pruned, "compute_saved": 1.0 - used / (len(dataset) * length),
            "best_with_pruning": sign * best, "best_without": sign * float(finals.max()),
            "regret": float(finals.max() - best)}
