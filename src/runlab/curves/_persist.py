"""Model directories: ``model.json`` (format tag, version, settings, encoder, scale, grid, calibration),
``arrays.npz`` (residual correlation) and one weights file per ensemble member.

Weights are plain state dicts read with ``torch.load(weights_only=True)``: loading a model
directory runs no pickled code. The format tag and version are checked before anything else, so
a directory from another tool or another layout version is refused with a message naming it.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from runlab.curves._config import CurveModelConfig
from runlab.curves._features import FeatureEncoder, FeatureSpec, TargetScaler
from runlab.curves._predictor import CurvePredictor
from runlab.errors import InputError, NotFoundError

MODEL_FORMAT = "runlab.curves.model"
MODEL_VERSION = 1
MANIFEST = "model.json"


def save_predictor(predictor: CurvePredictor, folder: Path | str) -> Path:
    """Write ``predictor`` into ``folder`` (created; files replaced atomically one by one)."""
    import runlab

    predictor._check_fitted()
    assert predictor.encoder_ and predictor.scaler_ and predictor.grid_ is not None
    assert predictor.correlation_ is not None
    root = Path(folder)
    if root.exists() and not root.is_dir():
        raise InputError(f"model directory {root} is a file", hint="pass a folder path")
    root.mkdir(parents=True, exist_ok=True)
    members = []
    for k, trainer in enumerate(predictor.members_):
        name = f"member_{k}.pt"
        trainer.save(root / f".{name}.tmp")
        os.replace(root / f".{name}.tmp", root / name)
        members.append(name)
    with tempfile.NamedTemporaryFile(dir=root, suffix=".npz", delete=False) as fh:
        np.savez(fh, correlation=predictor.correlation_, grid=predictor.grid_)
    os.replace(fh.name, root / "arrays.npz")
    manifest: dict[str, Any] = {
        "format": MODEL_FORMAT, "version": MODEL_VERSION, "runlab_version": runlab.__version__,
        "model": predictor.name, "config": predictor.config.to_dict(), "features": predictor.features.to_dict(),
        "encoder": predictor.encoder_.to_dict(), "scaler": predictor.scaler_.to_dict(),
        "calibration": predictor.calibration_, "x_axis": predictor.x_axis_, "metric": predictor.metric_,
        "fit_run_ids": predictor.fit_run_ids_, "val_run_ids": predictor.val_run_ids_, "members": members,
    }
    tmp = root / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    os.replace(tmp, root / MANIFEST)
    return root


def read_manifest(folder: Path | str) -> dict[str, Any]:
    """``model.json`` of a model directory after checking its format tag and version."""
    root = Path(folder)
    path = root / MANIFEST
    if not path.is_file():
        raise NotFoundError(f"{root} is not a curve model directory (no {MANIFEST})",
                            hint="train one with `runlab curves train --out DIR`")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not valid JSON ({exc})", hint="train the model again") from None
    if not isinstance(data, dict) or data.get("format") != MODEL_FORMAT:
        raise InputError(f"{path} is not a runlab curve model (format tag {data.get('format') if isinstance(data, dict) else None!r}, "
                         f"expected {MODEL_FORMAT!r})", hint="point --model at a folder written by `runlab curves train`")
    if data.get("version") != MODEL_VERSION:
        raise InputError(f"{root} holds curve model format version {data.get('version')!r}; this runlab reads "
                         f"version {MODEL_VERSION}", hint="train the model again with this runlab version")
    return data


def load_predictor(folder: Path | str) -> CurvePredictor:
    """The :class:`CurvePredictor` saved in ``folder``."""
    from runlab.curves._trainer import MetaAnalysisTrainer

    root = Path(folder)
    data = read_manifest(root)
    pred = CurvePredictor(CurveModelConfig.from_dict(data["config"]), FeatureSpec.from_dict(data["features"]))
    pred.encoder_ = FeatureEncoder.from_dict(data["encoder"])
    pred.scaler_ = TargetScaler.from_dict(data["scaler"])
    with np.load(root / "arrays.npz") as arrays:
        pred.correlation_ = arrays["correlation"]
        pred.grid_ = arrays["grid"]
    pred.calibration_ = float(data["calibration"])
    pred.x_axis_, pred.metric_ = data["x_axis"], data["metric"]
    pred.fit_run_ids_, pred.val_run_ids_ = list(data["fit_run_ids"]), list(data["val_run_ids"])
    for name in data["members"]:
        if "/" in name or "\\" in name or name.startswith("."):
            raise InputError(f"{root / MANIFEST}: member file name {name!r} is not a plain file name")
        pred.members_.append(MetaAnalysisTrainer.load(root / name))
    return pred
