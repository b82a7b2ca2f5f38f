"""CurvePruner: progress lines, the curve on the model grid, and prune decisions against known truth."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from scipy import stats

from runlab.curves import (
    CurveDataset,
    CurveModelConfig,
    CurvePredictor,
    CurvePruner,
    observed_on_grid,
    read_progress,
    replay_pruning,
    synthetic_mean_curve,
    synthetic_runs,
)
from runlab.errors import InputError


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("prune")
    runs, curves = synthetic_runs(80, points=20, noise=5.0, seed=11)
    runs.to_parquet(root / "runs.parquet")
    curves.to_parquet(root / "curves.parquet")
    ds = CurveDataset.from_files(root, curve_length=20)
    cfg = CurveModelConfig(ensemble_size=2, num_epochs=25, hidden_dim=32, env_latent_dim=4, agent_latent_dim=4,
                           curve_length=20, batch_size=16, seed=1)
    CurvePredictor(cfg).fit(ds).save(root / "model")
    return root / "model"


CONFIG = {"env": {"game": {"max_steps": 500, "num_agents": 1}, "physics": {"gravity": 10.0}},
          "trainer": {"optimizer": {"learning_rate": 1e-3}, "gamma": 0.95}}


def _progress(fraction: float) -> tuple[list[float], list[float]]:
    steps = np.arange(500, 10_001, 500.0)
    steps = steps[steps <= fraction * 10_000]
    return list(steps), list(synthetic_mean_curve(CONFIG, np.arange(500, 10_001, 500.0))[: len(steps)])


def test_read_progress_takes_only_lines_with_both_keys(tmp_path):
    lines = ["starting", json.dumps({"agent_step": 10, "overview/reward": 1.5}), "{broken",
             json.dumps({"agent_step": 20}), json.dumps({"agent_step": 30, "overview/reward": float("nan")}),
             json.dumps([1, 2]), json.dumps({"agent_step": 40, "overview/reward": 2, "other": "x"})]
    assert read_progress(lines, "overview/reward") == ([10.0, 40.0], [1.5, 2.0])
    (tmp_path / "stdout.log").write_text("\n".join(lines))
    assert read_progress(tmp_path / "stdout.log", "overview/reward") == ([10.0, 40.0], [1.5, 2.0])
    assert read_progress(tmp_path / "missing.log", "overview/reward") == ([], [])


def test_observed_on_grid_interpolates_up_to_the_last_step_only():
    grid = np.linspace(0, 100, 11)
    out = observed_on_grid(grid, [35, 5, 20], [3.5, 0.5, 2.0])
    ref = np.interp(grid, [5, 20, 35], [0.5, 2.0, 3.5])
    seen = (grid >= 5) & (grid <= 35)
    np.testing.assert_allclose(out[seen], ref[seen])
    assert np.isnan(out[~seen]).all()


def test_prune_decisions_follow_the_probability(model_dir):
    pruner = CurvePruner.from_dir(model_dir, threshold=0.9, min_fraction=0.3)
    steps, values = _progress(0.5)
    final_truth = synthetic_mean_curve(CONFIG, np.arange(500, 10_001, 500.0))[-1]
    assert pruner.should_prune(CONFIG, steps, values, best=final_truth + 300.0)  # hopeless
    assert not pruner.should_prune(CONFIG, steps, values, best=final_truth - 300.0)  # clearly ahead
    assert not pruner.should_prune(CONFIG, *_progress(0.2), best=final_truth + 300.0)  # too early to judge
    assert pruner.should_prune(CONFIG, steps, values, best=final_truth - 300.0, direction="minimize")
    assert pruner.probability_worse(CONFIG, [], [], best=1.0) == 0.0
    # the probability is the conditioned Gaussian's tail at the last grid point
    obs = observed_on_grid(pruner.predictor.grid_, steps, values)
    pred = pruner.predictor.predict_rest([CONFIG], obs[None])
    best = final_truth + 5.0
    ref = stats.norm.cdf((best - pred.mean[0, -1]) / pred.std[0, -1])
    assert pruner.probability_worse(CONFIG, steps, values, best) == pytest.approx(ref, rel=1e-9)
    flat = {"env.game.max_steps": 500, "env.physics.gravity": 10.0, "trainer.gamma": 0.95}
    base = CurvePruner.from_dir(model_dir, base_config={"trainer": {"optimizer": {"learning_rate": 1e-3}},
                                                        "env": {"game": {"num_agents": 1}}})
    assert base.probability_worse(flat, steps, values, best) == pytest.approx(ref, rel=1e-9)


def test_pruner_rejects_bad_settings(model_dir):
    with pytest.raises(InputError, match="threshold"):
        CurvePruner.from_dir(model_dir, threshold=0.2)
    with pytest.raises(InputError, match="direction"):
        CurvePruner.from_dir(model_dir).probability_worse(CONFIG, [500.0], [1.0], 1.0, direction="up")


def test_replay_pruning_accounts_for_every_trial(model_dir, tmp_path):
    runs, curves = synthetic_runs(30, points=20, noise=5.0, seed=12)
    runs.to_parquet(tmp_path / "runs.parquet")
    curves.to_parquet(tmp_path / "curves.parquet")
    ds = CurveDataset.from_files(tmp_path, curve_length=20)
    pruner = CurvePruner.from_dir(model_dir, threshold=0.6)
    out = replay_pruning(pruner, ds, checkpoints=(0.3, 0.6))
    # the same replay, written out by hand
    best, used, pruned = -np.inf, 0, 0
    for config, curve in zip(ds.configs, ds.curves, strict=True):
        stop = 20
        for k in (6, 12):
            if np.isfinite(best) and pruner.should_prune(config, ds.grid[:k], curve[:k], best):
                stop = k
                break
        used += stop
        pruned += stop < 20
        best = max(best, curve[-1]) if stop == 20 else best
    assert out["pruned"] == pruned > 0
    assert out["compute_saved"] == pytest.approx(1 - used / 600)
    assert out["regret"] == pytest.approx(ds.curves[:, -1].max() - best) and out["regret"] >= 0
    mean, sd = pruner.predicted_final(CONFIG, *_progress(0.5))
    assert np.isfinite(mean) and sd > 0
