"""`runlab curves ...` round trip: train -> predict (file and --set) -> evaluate -> demo, and bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from browser import render_dom
from runlab.cli.app import app
from runlab.curves import CurvePredictor, synthetic_runs

FAST = ["ensemble_size=2", "num_epochs=5", "hidden_dim=16", "env_latent_dim=3", "agent_latent_dim=3",
        "curve_length=12", "batch_size=16"]
HOSTILE = "<script>alert('x')</script>../=cmd"
SHORT = "<img src=x onerror=alert(1)>"


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    runs, curves = synthetic_runs(40, points=24, noise=5.0, seed=9)
    runs.loc[0, "run_id"] = HOSTILE
    curves.loc[curves.run_id == "syn-0000", "run_id"] = HOSTILE
    # a run too short to use: it must be reported (escaped in HTML), not dropped silently
    runs = pd.concat([runs, pd.DataFrame({"run_id": [SHORT], "config": [runs.config[1]]})], ignore_index=True)
    curves = pd.concat([curves, pd.DataFrame({"run_id": [SHORT] * 2, "agent_step": [100, 200], "reward": [1.0, 2.0]})])
    runs.to_parquet(root / "runs.parquet")
    curves.to_parquet(root / "curves.parquet")
    return root


@pytest.fixture(scope="module")
def model_dir(data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("model") / "m"
    cfg = tmp_path_factory.mktemp("cfg") / "model.yaml"
    cfg.write_text("env_latent_dim: 3\nagent_latent_dim: 3\nhidden_dim: 16\nlearning_rate: 0.002\n")
    res = CliRunner().invoke(app, ["curves", "train", "--data", str(data_dir), "--out", str(out), str(cfg), *FAST])
    assert res.exit_code == 0, res.output
    assert "40 of 41 run(s) kept" in res.output and "model written to" in res.output
    return out


def test_train_writes_a_model_with_the_yaml_and_overrides(model_dir):
    manifest = json.loads((model_dir / "model.json").read_text())
    assert manifest["format"] == "runlab.curves.model" and manifest["version"] == 1
    assert manifest["config"]["learning_rate"] == 0.002 and manifest["config"]["curve_length"] == 12
    assert len(manifest["members"]) == 2


def test_predict_from_runs_file_and_set_round_trip(model_dir, data_dir, tmp_path):
    out = tmp_path / "pred.parquet"
    res = CliRunner().invoke(app, ["curves", "predict", "--model", str(model_dir), "--runs",
                                   str(data_dir / "runs.parquet"), "--out", str(out), "--interval", "0.5",
                                   "--set", "env.game.max_steps=500", "--set", "env.physics.gravity=30",
                                   "--set", "trainer.gamma=0.95"])
    assert res.exit_code == 0, res.output
    frame = pd.read_parquet(out)
    assert list(frame.columns) == ["run_id", "agent_step", "mean", "lower", "upper"]
    assert frame.run_id.nunique() == 42 and len(frame) == 42 * 12 and HOSTILE in set(frame.run_id)
    assert (frame.lower <= frame["mean"]).all() and (frame["mean"] <= frame.upper).all()
    # the library gives the same numbers
    model = CurvePredictor.load(model_dir)
    runs = pd.read_parquet(data_dir / "runs.parquet")
    pred = model.predict([json.loads(c) for c in runs.config])
    np.testing.assert_allclose(frame[frame.run_id != "config"]["mean"].to_numpy(), pred.mean.ravel(), rtol=1e-6)
    assert "env.physics.gravity: 30 is outside the training range" in res.output
    assert "trainer.optimizer.learning_rate: missing" in res.output


def test_predict_bad_input_is_one_clear_message(model_dir, tmp_path):
    r = CliRunner()
    res = r.invoke(app, ["curves", "predict", "--model", str(model_dir), "--out", str(tmp_path / "p.parquet"),
                         "--set", "env.physics.gravty=3"])
    assert res.exit_code == 1 and "not a feature of this model" in res.output and "env.physics.gravity" in res.output
    res = r.invoke(app, ["curves", "predict", "--model", str(tmp_path), "--out", str(tmp_path / "p.parquet"),
                         "--set", "a=1"])
    assert res.exit_code == 1 and "not a curve model directory" in res.output
    other = tmp_path / "other"
    shutil.copytree(model_dir, other)
    manifest = json.loads((other / "model.json").read_text())
    manifest["version"] = 0
    (other / "model.json").write_text(json.dumps(manifest))
    res = r.invoke(app, ["curves", "predict", "--model", str(other), "--out", str(tmp_path / "p.parquet"),
                         "--set", "a=1"])
    assert res.exit_code == 1 and "version 0" in res.output and "Traceback" not in res.output


def test_train_bad_input(data_dir, tmp_path):
    r = CliRunner()
    res = r.invoke(app, ["curves", "train", "--data", str(data_dir), "--out", str(tmp_path / "m"), "num_epoch=3"])
    assert res.exit_code == 1 and "unknown curve model setting 'num_epoch'" in res.output and "num_epochs" in res.output
    res = r.invoke(app, ["curves", "train", "--data", str(data_dir), "--out", str(tmp_path / "m"),
                         "--env-features", "env.physics.gravty", *FAST])
    assert res.exit_code == 1 and "matches no training config" in res.output
    res = r.invoke(app, ["curves", "train", "--out", str(tmp_path / "m")])
    assert res.exit_code == 1 and "--data DIR" in res.output
    res = r.invoke(app, ["curves", "evaluate", "--data", str(data_dir), "--out", str(tmp_path / "e"),
                         "--folds", "50", *FAST])
    assert res.exit_code == 1 and "cannot be split into 50 folds" in res.output


def test_evaluate_writes_json_markdown_and_inert_html(data_dir, tmp_path):
    out = tmp_path / "eval"
    res = CliRunner().invoke(app, ["curves", "evaluate", "--data", str(data_dir), "--out", str(out),
                                   "--split", "group:env.game.max_steps", "--folds", "3", *FAST])
    assert res.exit_code == 0, res.output
    data = json.loads((out / "evaluation.json").read_text())
    assert data["split"] == "group:env.game.max_steps" and len(data["folds"]) == 2
    assert set(data["scores"]["config"]) == {"vae-ensemble", "mean-curve", "nearest-configs", "boosted-trees"}
    assert set(data["scores"]["prefix"]) == {"vae-ensemble", "last-value", "pow3"}
    for row in data["scores"]["config"].values():
        assert row["rmse"] > 0 and 0 <= (row["coverage"] if row["coverage"] is not None else 0) <= 1
    md = (out / "report.md").read_text()
    assert "| vae-ensemble |" in md and "## Notes" in md
    html = (out / "report.html").read_text()
    assert "<script>" not in html and html.count("<img") == 2
    assert "&lt;img src=x onerror=alert(1)&gt;: only 2 finite point(s)" in html
    assert "- <img src=x onerror=alert(1)>: only 2 finite point(s), need 5" in md
    assert (out / "predicted_vs_actual.png").stat().st_size > 1000


@pytest.mark.browser
@pytest.mark.skipif(not (shutil.which("chromium") or Path("/usr/bin/chromium").exists()), reason="no chromium")
def test_evaluation_html_renders_in_chromium(data_dir, tmp_path):
    out = tmp_path / "eval"
    res = CliRunner().invoke(app, ["curves", "evaluate", "--data", str(data_dir), "--out", str(out), "--folds", "2",
                                   "--models", "mean-curve,nearest-configs", *FAST])
    assert res.exit_code == 0, res.output
    dom = render_dom((out / "report.html").as_uri(), tmp_path / "profile")
    assert "<table>" in dom and dom.count("<img") == 1  # the figure only: the hostile name stayed text
    assert "&lt;img src=x onerror=alert(1)&gt;" in dom


@pytest.mark.slow
def test_demo_runs_all_steps(tmp_path):
    samples = Path(__file__).resolve().parents[1] / "samples"
    res = CliRunner().invoke(app, ["curves", "demo", "--out", str(tmp_path / "d"), "--samples", str(samples),
                                   "collect_data=true", "train_model=true", "demo_predictions=true",
                                   "ensemble_size=2", "num_epochs=5", "hidden_dim=32"])
    assert res.exit_code == 0, res.output
    for name in ("predictions.parquet", "latent_space.png", "held_out_curves.png", "dataset_report.txt",
                 "model/model.json"):
        assert (tmp_path / "d" / name).is_file(), name
    assert "vae-ensemble: held-out RMSE" in res.output
    res = CliRunner().invoke(app, ["curves", "demo", "--out", str(tmp_path / "d"), "--samples", str(samples),
                                   "collect_data=false", "train_model=false"])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(app, ["curves", "demo", "--out", str(tmp_path / "e"), "train_model=maybe"])
    assert res.exit_code == 1 and "true or false" in res.output


def test_train_and_predict_from_warehouse_runs(tmp_path):
    samples = Path(__file__).resolve().parents[1] / "samples" / "curves"
    home = str(tmp_path / "wh")
    r = CliRunner()
    assert r.invoke(app, ["--home", home, "ingest", str(samples / "wandb")]).exit_code == 0
    res = r.invoke(app, ["--home", home, "curves", "train", "--runs", "*curve-000*", "--out", str(tmp_path / "m"),
                         "--max-step", "99000", *FAST])
    assert res.exit_code == 0, res.output
    assert "6 of 6 run(s) kept" in res.output
    manifest = json.loads((tmp_path / "m" / "model.json").read_text())
    assert manifest["metric"] == "overview/reward" and manifest["x_axis"] == "metric/agent_step"
    res = r.invoke(app, ["--home", home, "curves", "train", "--runs", "*", "--metric", "overview/rewrd",
                         "--out", str(tmp_path / "m2"), *FAST])
    assert res.exit_code == 1 and "did you mean" in res.output
