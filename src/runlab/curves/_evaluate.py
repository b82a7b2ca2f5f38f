"""Held-out evaluation of the curve predictor and its baselines, fold by fold, on one split.

Every model is a fresh object per fold, fit on ``dataset.subset(fold.train)`` alone and asked about
``fold.test``; predictions of all folds are stitched into out-of-fold arrays and scored once
(pooled RMSE, final-reward error, Spearman of final reward across configurations, interval
coverage, CRPS). Two tasks: ``config`` (the whole curve from the config) and ``prefix`` (the rest
of the curve given its first ``prefix_fraction``). With ``normalize_by`` every model is fit and
scored in units of each group's training-fold reward scale (a group absent from the training fold
gets the pooled scale), so pooled games of different scales weigh alike and the baselines get the
same help as the VAE.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from runlab.curves._baselines import (
    BoostedTreesBaseline,
    LastValueBaseline,
    MeanCurveBaseline,
    NearestConfigsBaseline,
    Pow3Baseline,
)
from runlab.curves._config import CurveModelConfig
from runlab.curves._dataset import CurveDataset
from runlab.curves._features import FeatureSpec, TargetScaler
from runlab.curves._prediction import CurvePrediction, pooled_scores
from runlab.curves._predictor import CurvePredictor
from runlab.curves._splits import Fold, make_folds
from runlab.errors import InputError

CONFIG_MODELS = ("vae-ensemble", "mean-curve", "nearest-configs", "boosted-trees")
PREFIX_MODELS = ("vae-ensemble", "last-value", "pow3")
#: The acceptance band of the 80% interval's held-out coverage.
COVERAGE_BAND = (0.75, 0.85)


def model_factories(config: CurveModelConfig, features: FeatureSpec) -> dict[str, Callable[[], Any]]:
    """Fresh, unfitted models by name (a new object per fold)."""
    return {
        "vae-ensemble": lambda: CurvePredictor(config, features),
        "mean-curve": MeanCurveBaseline,
        "nearest-configs": lambda: NearestConfigsBaseline(5, features),
        "boosted-trees": lambda: BoostedTreesBaseline(features=features, seed=config.seed),
        "last-value": LastValueBaseline,
        "pow3": Pow3Baseline,
    }


@dataclass
class _Oof:
    """Out-of-fold arrays of one model on one task."""

    mean: np.ndarray
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None
    crps: np.ndarray | None = None
    fit_s: float = 0.0
    fold_rmse: list[float] = field(default_factory=list)


@dataclass
class EvaluationResult:
    """Scores per (task, model), the folds, and the out-of-fold predictions behind them."""

    split: str
    folds: list[str]
    interval: float
    prefix_fraction: float
    scores: dict[str, dict[str, dict[str, Any]]]
    """``task -> model -> {rmse, final_error, spearman, coverage, crps, fit_s, fold_rmse}``."""
    dataset: dict[str, Any]
    run_ids: list[str]
    grid: np.ndarray
    actual: np.ndarray
    """Held-out curves (scored units) ``(N, L)``."""
    predictions: dict[str, dict[str, _Oof]]
    units: str = "reward"
    notes: list[str] = field(default_factory=list)

    @property
    def best_model(self) -> str:
        """Lowest held-out RMSE on the config task."""
        rows = self.scores["config"]
        return min(rows, key=lambda m: rows[m]["rmse"])

    def to_dict(self) -> dict[str, Any]:
        """The content of ``evaluation.json``."""
        return {"split": self.split, "folds": self.folds, "interval": self.interval,
                "prefix_fraction": self.prefix_fraction, "units": self.units, "scores": self.scores,
                "best_model": self.best_model, "notes": self.notes, "dataset": self.dataset}


def evaluate(dataset: CurveDataset, *, split: str = "random", folds: int = 5, seed: int = 0,
             config: CurveModelConfig | None = None, features: FeatureSpec | None = None,
             models: Sequence[str] | None = None, prefix_models: Sequence[str] | None = None,
             prefix_fraction: float = 0.3, normalize_by: str | None = None,
             on_progress: Callable[[int, int], None] | None = None) -> EvaluationResult:
    """Fit every model on each fold's training runs and score it on the fold's held-out runs.

    ``models`` (config task) default to :data:`CONFIG_MODELS`, ``prefix_models`` to
    :data:`PREFIX_MODELS`; ``vae-ensemble`` on the prefix task reuses the fold's fitted model.
    """
    config = config or CurveModelConfig(seed=seed)
    features = features or FeatureSpec()
    factories = model_factories(config, features)
    names = list(models) if models is not None else list(CONFIG_MODELS)
    prefix_names = list(prefix_models) if prefix_models is not None else list(PREFIX_MODELS)
    for given, allowed, task in ((names, CONFIG_MODELS, "config"), (prefix_names, PREFIX_MODELS, "prefix")):
        for m in given:
            if m not in allowed:
                raise InputError(f"unknown {task}-task model {m!r}", hint=f"known: {', '.join(allowed)}")
    if not 0.0 < prefix_fraction < 1.0:
        raise InputError(f"prefix_fraction must be in (0, 1), got {prefix_fraction}")
    fold_list = make_folds(dataset, split, folds, seed)
    n, length = dataset.curves.shape
    cut = max(1, round(prefix_fraction * length))
    actual = np.full((n, length), np.nan)
    oof: dict[str, dict[str, _Oof]] = {"config": {}, "prefix": {}}
    for k, fold in enumerate(fold_list):
        train, test = _normalised(dataset.subset(fold.train), dataset.subset(fold.test), normalize_by)
        actual[fold.test] = test.curves
        observed = test.curves.copy()
        observed[:, cut:] = np.nan
        fitted: dict[str, Any] = {}
        for name in names:
            t0 = time.perf_counter()
            fitted[name] = factories[name]().fit(train)
            pred = fitted[name].predict(test.configs)
            _store(oof["config"], name, fold, pred, actual, n, time.perf_counter() - t0, config.interval)
        for name in prefix_names:
            t0 = time.perf_counter()
            model = fitted.get(name) or factories[name]().fit(train)
            pred = model.predict_rest(test.configs, observed)
            _store(oof["prefix"], name, fold, pred, actual, n, time.perf_counter() - t0,
                   config.interval, rest_from=cut)
        if on_progress is not None:
            on_progress(k + 1, len(fold_list))
    rest = np.zeros((n, length), dtype=bool)
    rest[:, cut:] = True
    scores = {task: {name: _summarise(o, actual, rest if task == "prefix" else None) for name, o in rows.items()}
              for task, rows in oof.items()}
    result = EvaluationResult(split, [f.label for f in fold_list], config.interval, prefix_fraction, scores,
                              dataset.report.to_dict(), list(dataset.run_ids), dataset.grid, actual, oof,
                              units=f"reward / training scale of {normalize_by}" if normalize_by else dataset.metric)
    result.notes = _verdict(result)
    return result


def _normalised(train: CurveDataset, test: CurveDataset, normalize_by: str | None
                ) -> tuple[CurveDataset, CurveDataset]:
    """Both folds in the training fold's per-group reward scale (unchanged without ``normalize_by``)."""
    if normalize_by is None:
        return train, test
    scaler = TargetScaler(normalize_by).fit(train.curves, train.configs)

    def scaled(ds: CurveDataset) -> CurveDataset:
        c, s = scaler.group_affine(ds.configs)
        return dataclasses.replace(ds, curves=(ds.curves - c) / s)

    return scaled(train), scaled(test)


def _store(rows: dict[str, _Oof], name: str, fold: Fold, pred: CurvePrediction, actual: np.ndarray, n: int,
           fit_s: float, level: float, rest_from: int = 0) -> None:
    length = actual.shape[1]
    if name not in rows:
        has = pred.has_distribution
        rows[name] = _Oof(np.full((n, length), np.nan), *(np.full((n, length), np.nan) if has else None
                                                           for _ in range(3)))
    o = rows[name]
    y = actual[fold.test]
    o.mean[fold.test] = pred.mean
    bounds = pred.interval(level)
    if bounds is not None and o.lower is not None and o.upper is not None:
        o.lower[fold.test], o.upper[fold.test] = bounds
    crps = pred.crps(y)
    if crps is not None and o.crps is not None:
        o.crps[fold.test] = crps
    o.fit_s += fit_s
    o.fold_rmse.append(float(np.sqrt(np.mean((pred.mean - y)[:, rest_from:] ** 2))))


def _summarise(o: _Oof, actual: np.ndarray, mask: np.ndarray | None) -> dict[str, Any]:
    bounds = (o.lower, o.upper) if o.lower is not None and o.upper is not None else None
    out: dict[str, Any] = pooled_scores(actual, o.mean, bounds, o.crps, mask)
    out["fold_rmse"] = o.fold_rmse
    out["fit_s"] = o.fit_s
    return out


def _verdict(result: EvaluationResult) -> list[str]:
    """Plain sentences on the acceptance questions: does the default beat the baselines, is it calibrated."""
    rows = result.scores["config"]
    notes = []
    if "vae-ensemble" in rows:
        vae = rows["vae-ensemble"]
        for base in ("mean-curve", "nearest-configs"):
            if base in rows:
                verb = "beats" if vae["rmse"] < rows[base]["rmse"] else "does NOT beat"
                notes.append(f"vae-ensemble {verb} {base} in held-out RMSE ({vae['rmse']:.4g} vs "
                             f"{rows[base]['rmse']:.4g})")
        cov = vae["coverage"]
        lo, hi = COVERAGE_BAND
        inside = cov is not None and lo <= cov <= hi
        notes.append(f"{result.interval:.0%} intervals cover {cov:.1%} of held-out points "
                     f"({'inside' if inside else 'OUTSIDE'} the {lo:.0%}-{hi:.0%} band)")
    best = result.best_model
    if best != "vae-ensemble":
        notes.append(f"lowest held-out RMSE on this split: {best}")
    return notes
