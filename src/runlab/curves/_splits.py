"""Held-out splits: random K-fold, or whole groups of a config value held out together.

``group:<config path>`` holds out every run sharing a value (leave-one-group-out when there are
no more groups than folds). A numeric path with more distinct values than folds is cut into
``folds`` quantile bins first, so each fold asks the model to predict a range of the value it has
not seen (extrapolation), which is what a group split is for.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from runlab.curves._dataset import CurveDataset
from runlab.errors import InputError


@dataclass(frozen=True)
class Fold:
    """One train/test partition, by dataset row index."""

    train: np.ndarray
    test: np.ndarray
    label: str
    """What was held out (``fold 2/5`` or ``env.game.max_steps=500``)."""


def parse_split(split: str) -> tuple[str, str | None]:
    """``"random"`` -> ``("random", None)``; ``"group:PATH"`` -> ``("group", PATH)``."""
    if split == "random":
        return "random", None
    if split.startswith("group:") and split[len("group:"):].strip():
        return "group", split[len("group:"):].strip()
    raise InputError(f"split must be 'random' or 'group:<config path>', got {split!r}",
                     hint="e.g. --split group:env.game.max_steps")


def make_folds(dataset: CurveDataset, split: str = "random", folds: int = 5, seed: int = 0) -> list[Fold]:
    """The folds of ``split`` over ``dataset``; every run is in exactly one test set."""
    kind, path = parse_split(split)
    n = len(dataset)
    if folds < 2:
        raise InputError(f"folds must be at least 2, got {folds}")
    if n < folds:
        raise InputError(f"{n} run(s) cannot be split into {folds} folds", hint=f"use --folds {max(2, n)} or fewer")
    if kind == "random":
        perm = np.random.default_rng(seed).permutation(n)
        return [Fold(np.sort(np.setdiff1d(perm, chunk)), np.sort(chunk), f"fold {i + 1}/{folds}")
                for i, chunk in enumerate(np.array_split(perm, folds))]
    assert path is not None
    labels = _group_labels(dataset, path, folds)
    groups = sorted(set(labels))
    if len(groups) < 2:
        raise InputError(f"config path {path!r} has one value over all runs ({groups[0]}): nothing to hold out",
                         hint="group by a path whose value differs between runs")
    if len(groups) > folds:  # more discrete groups than folds: assign whole groups to folds
        order = np.random.default_rng(seed).permutation(len(groups))
        parts = [[groups[j] for j in chunk] for chunk in np.array_split(order, folds)]
    else:
        parts = [[g] for g in groups]
    out = []
    lab = np.asarray(labels, dtype=object)
    for part in parts:
        test = np.flatnonzero(np.isin(lab, part))
        out.append(Fold(np.setdiff1d(np.arange(n), test), test, ", ".join(f"{path}={g}" for g in part)))
    return out


def _group_labels(dataset: CurveDataset, path: str, folds: int) -> list[str]:
    values = dataset.config_values(path)
    missing = [r for r, v in zip(dataset.run_ids, values, strict=True) if v is None]
    if len(missing) == len(values):
        raise InputError(f"no run has config path {path!r}", hint="check the path, e.g. env.game.max_steps")
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values if v is not None)
    distinct = {v for v in values if v is not None}
    if numeric and len(distinct) > max(folds, 10):
        x = np.asarray([np.nan if v is None else float(v) for v in values])
        edges = np.nanquantile(x, np.linspace(0, 1, folds + 1))
        bins = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, folds - 1)
        return ["missing" if np.isnan(v) else f"[{edges[b]:.4g}, {edges[b + 1]:.4g}]" for v, b in zip(x, bins, strict=True)]
    return ["missing" if v is None else str(v) for v in values]
