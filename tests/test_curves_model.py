"""The VAE model, trainer and predictor: seeded reproducibility, save/load, no scaler leak, bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from runlab.curves import (
    CurveDataset,
    CurveModelConfig,
    CurvePredictor,
    FeatureEncoder,
    FeatureSpec,
    MetaAnalysisModel,
    MetaAnalysisTrainer,
    evaluate,
    make_loader,
    model_factories,
    synthetic_runs,
)
from runlab.errors import InputError, NotFoundError

FAST = CurveModelConfig(ensemble_size=2, num_epochs=8, hidden_dim=32, env_latent_dim=4, agent_latent_dim=4,
                        curve_length=20, batch_size=16, patience=4, seed=3)


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("syn")
    runs, curves = synthetic_runs(60, points=30, noise=10.0, seed=5)
    runs.to_parquet(root / "runs.parquet")
    curves.to_parquet(root / "curves.parquet")
    return root


@pytest.fixture(scope="module")
def dataset(data_dir):
    return CurveDataset.from_files(data_dir, curve_length=20)


@pytest.fixture(scope="module")
def fitted(dataset):
    return CurvePredictor(FAST).fit(dataset)


def _weights(p: CurvePredictor) -> list[np.ndarray]:
    return [v.numpy().copy() for m in p.members_ for v in m.model.state_dict().values()]


def test_same_seed_same_model_other_seed_other_model(dataset, fitted):
    torch.manual_seed(12345)  # the global RNG must not matter
    again = CurvePredictor(FAST).fit(dataset)
    for a, b in zip(_weights(fitted), _weights(again), strict=True):
        np.testing.assert_array_equal(a, b)
    other = CurvePredictor(CurveModelConfig(**{**FAST.to_dict(), "seed": 4})).fit(dataset)
    assert any(not np.array_equal(a, b) for a, b in zip(_weights(fitted), _weights(other), strict=True))


@pytest.mark.slow
def test_same_seed_same_prediction_in_another_process(data_dir, dataset, fitted, tmp_path):
    code = (
        "import json, sys, torch; torch.set_num_threads(1)\n"
        "from runlab.curves import CurveDataset, CurveModelConfig, CurvePredictor\n"
        "cfg = CurveModelConfig.from_dict(json.loads(sys.argv[2]))\n"
        "ds = CurveDataset.from_files(sys.argv[1], curve_length=20)\n"
        "p = CurvePredictor(cfg).fit(ds)\n"
        "print(json.dumps(p.predict(ds.configs[:3]).mean.tolist()))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(data_dir), json.dumps(FAST.to_dict())],
                         capture_output=True, text=True, check=True, timeout=300)
    np.testing.assert_array_equal(np.asarray(json.loads(out.stdout)), fitted.predict(dataset.configs[:3]).mean)


def test_save_load_round_trip_and_format_check(fitted, dataset, tmp_path):
    fitted.save(tmp_path / "m")
    back = CurvePredictor.load(tmp_path / "m")
    a, b = fitted.predict(dataset.configs), back.predict(dataset.configs)
    np.testing.assert_array_equal(a.mean, b.mean)
    np.testing.assert_array_equal(a.std, b.std)
    obs = dataset.curves.copy()
    obs[:, 8:] = np.nan
    np.testing.assert_array_equal(fitted.predict_rest(dataset.configs, obs).mean,
                                  back.predict_rest(dataset.configs, obs).mean)
    manifest = json.loads((tmp_path / "m" / "model.json").read_text())
    manifest["version"] = 99
    (tmp_path / "m" / "model.json").write_text(json.dumps(manifest))
    with pytest.raises(InputError, match=r"version 99.*reads version 1"):
        CurvePredictor.load(tmp_path / "m")
    manifest["format"] = "something.else"
    (tmp_path / "m" / "model.json").write_text(json.dumps(manifest))
    with pytest.raises(InputError, match=r"format tag 'something.else'"):
        CurvePredictor.load(tmp_path / "m")
    with pytest.raises(NotFoundError, match="not a curve model directory"):
        CurvePredictor.load(tmp_path)


def test_encoder_and_target_scaler_see_only_the_fit_split(fitted, dataset):
    """Fails if held-back validation runs (or anything else) touch the scaler fit."""
    fit_rows = [dataset.run_ids.index(r) for r in fitted.fit_run_ids_]
    val_rows = [dataset.run_ids.index(r) for r in fitted.val_run_ids_]
    assert val_rows and not set(fit_rows) & set(val_rows)
    assert sorted(fit_rows + val_rows) == list(range(len(dataset)))
    g = np.array([dataset.configs[i]["env"]["physics"]["gravity"] for i in fit_rows])
    col = next(c for c in fitted.encoder_.env_columns if c.path == "env.physics.gravity")
    assert col.center == pytest.approx(g.mean(), rel=1e-12) and col.scale == pytest.approx(g.std(), rel=1e-12)
    assert col.low == g.min() and col.high == g.max()
    lr = np.array([dataset.configs[i]["trainer"]["optimizer"]["learning_rate"] for i in fit_rows])
    col = next(c for c in fitted.encoder_.agent_columns if c.path == "trainer.optimizer.learning_rate")
    assert col.log and col.center == pytest.approx(np.log(lr).mean(), rel=1e-12)
    np.testing.assert_allclose(fitted.scaler_.point_mean_, dataset.curves[fit_rows].mean(axis=0), rtol=1e-12)
    everything = dataset.curves.mean(axis=0)
    assert not np.allclose(fitted.scaler_.point_mean_, everything)


def test_evaluation_never_fits_on_held_out_runs(dataset, monkeypatch):
    seen: list[tuple[set, set]] = []
    real = model_factories

    class Spy:
        def __init__(self, inner):
            self.inner = inner

        def fit(self, ds):
            seen.append((set(ds.run_ids), set()))
            self.inner.fit(ds)
            return self

        def predict(self, configs):
            seen[-1][1].update(c["_id"] for c in configs)
            return self.inner.predict(configs)

    def spying(config, features):
        f = real(config, features)
        return {**f, "mean-curve": lambda: Spy(f["mean-curve"]())}

    tagged = CurveDataset(dataset.run_ids, tuple({**c, "_id": r} for c, r in zip(dataset.configs, dataset.run_ids,
                                                                                strict=True)),
                          dataset.grid, dataset.curves, dataset.report)
    monkeypatch.setattr("runlab.curves._evaluate.model_factories", spying)
    evaluate(tagged, folds=3, models=["mean-curve"], prefix_models=["last-value"])
    assert len(seen) == 3
    for train, test in seen:
        assert test and not train & test


def test_trainer_early_stopping_keeps_the_best_epoch_and_saves(tmp_path):
    rng = np.random.default_rng(0)
    e, a, y = rng.normal(size=(40, 3)), rng.normal(size=(40, 2)), rng.normal(size=(40, 10))
    model = MetaAnalysisModel(3, 2, 4, 4, 10, 16, seed=0)
    trainer = MetaAnalysisTrainer(model, learning_rate=0.05, patience=2, seed=0)
    val = make_loader(e[:10], a[:10], y[:10], batch_size=10, shuffle=False)
    hist = trainer.train(make_loader(e[10:], a[10:], y[10:], batch_size=8, shuffle=True), val, 200)
    assert len(hist["val_loss"]) < 200  # pure noise: stopped early
    assert trainer.evaluate(val) == pytest.approx(min(hist["val_loss"]), rel=1e-5)
    env_z, agent_z = trainer.sample_latent_space(5)
    assert env_z.shape == (5, 4) and trainer.model.predict_curve(env_z, agent_z).shape == (5, 10)
    trainer.save(tmp_path / "t.pt")
    back = MetaAnalysisTrainer.load(tmp_path / "t.pt")
    torch.testing.assert_close(back.predict_curve(e, a), trainer.predict_curve(e, a))
    (tmp_path / "bad.pt").write_bytes(b"not a model")
    with pytest.raises(InputError, match="not a runlab curve model file"):
        MetaAnalysisTrainer.load(tmp_path / "bad.pt")


def test_feature_errors_and_flags(dataset, fitted):
    with pytest.raises(InputError, match=r"env\.physics\.gravty.*(?s:.*)did you mean.*env\.physics\.gravity"):
        FeatureEncoder.fit(dataset.configs, FeatureSpec.of(env=["env.physics.gravty"]))
    with pytest.raises(InputError, match="no agent feature path"):
        FeatureEncoder.fit(dataset.configs, FeatureSpec(agent=("nothing.*",)))
    cfg = json.loads(json.dumps(dataset.configs[0]))
    cfg["env"]["physics"]["gravity"] = 99.0
    del cfg["trainer"]["gamma"]
    cfg["env"]["game"]["max_steps"] = 1000
    pred = fitted.predict([cfg])
    flags = " | ".join(pred.flags[0])
    assert "env.physics.gravity: 99 is outside the training range" in flags
    assert "trainer.gamma: missing" in flags
    assert "env.game.max_steps: 1000 is outside" in flags
    with pytest.raises(InputError, match="not a feature of this model"):
        fitted.encoder_.check_paths(["env.physics.gravty"])
    bad = json.loads(json.dumps(dataset.configs[0]))
    bad["trainer"]["optimizer"]["learning_rate"] = "fast"
    with pytest.raises(InputError, match="learning_rate: expected a finite number"):
        fitted.predict([bad])
    bad["trainer"]["optimizer"]["learning_rate"] = 0.0
    assert "learning_rate: 0 is not positive (log scale)" in fitted.predict([bad]).flags[0][0]


def test_one_hot_and_missing_indicator_columns():
    configs = [{"env": {"id": "A", "size": 1.0}, "agent": {"lr": 1e-3}},
               {"env": {"id": "B"}, "agent": {"lr": 1e-2}},
               {"env": {"id": "A", "size": 3.0}, "agent": {"lr": 1e-4}}]
    enc = FeatureEncoder.fit(configs, FeatureSpec.of(env=["env.*"], agent=["agent.lr"]))
    env_x, agent_x, flags = enc.transform(configs)
    assert env_x.shape == (3, 4)  # id one-hot (A, B) + size value + size-missing indicator
    np.testing.assert_array_equal(env_x[:, :2], [[1, 0], [0, 1], [1, 0]])
    np.testing.assert_allclose(env_x[:, 2], [-1, 0, 1], atol=1e-6)
    np.testing.assert_array_equal(env_x[:, 3], [0, 1, 0])
    ref = np.log([1e-3, 1e-2, 1e-4])
    np.testing.assert_allclose(agent_x[:, 0], (ref - ref.mean()) / ref.std(), rtol=1e-5)
    assert flags[1] == ["env.size: missing (filled with the training mean)"]
    _, _, f = enc.transform([{"env": {"id": "C", "size": 2.0}, "agent": {"lr": 1e-3}}])
    assert f[0] == ["env.id: 'C' was not seen in training"]
