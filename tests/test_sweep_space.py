"""Sweep config parsing, validation and the maps between user units and the normalised box."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runlab.errors import InputError, NotFoundError
from runlab.sweep import CategoricalParam, NumericParam, ParameterSpace, load_sweep_config

SEED_YAML = """
protein:
  num_random_samples: 5
  max_suggestion_cost: 3600
  resample_frequency: 0
  global_search_scale: 1
  random_suggestions: 1024
  suggestions_per_pareto: 256
metric: reward
goal: maximize
method: bayes
parameters:
  trainer:
    optimizer:
      learning_rate:
        distribution: log_normal
        min: 0.0001
        max: 0.001
        mean: 0.0005
        scale: 0.5
    batch_size:
      distribution: uniform_pow2
      min: 16
      max: 128
      mean: 64
      scale: time
"""


def test_yaml_file_is_parsed(tmp_path: Path) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text(SEED_YAML)
    cfg = load_sweep_config(path)
    assert (cfg.metric, cfg.goal, cfg.method) == ("reward", "maximize", "bayes")
    assert cfg.protein.num_random_samples == 5 and cfg.protein.max_suggestion_cost == 3600
    assert cfg.parameters.paths == ("trainer.optimizer.learning_rate", "trainer.batch_size")
    lr, bs = cfg.parameters.params
    assert lr.scale == 0.5
    assert bs.scale == pytest.approx(1 / (math.log2(128) - math.log2(16)))
    # the reloaded plain form gives the same space
    again = load_sweep_config(cfg.to_dict())
    assert again.parameters.paths == cfg.parameters.paths


def test_scale_auto_and_default_mean() -> None:
    cfg = load_sweep_config({"parameters": {"lr": {"distribution": "log_normal", "min": 1e-4, "max": 1e-2,
                                                   "scale": "auto"}}})
    (lr,) = cfg.parameters.params
    assert lr.scale == 0.5
    assert lr.mean == pytest.approx(1e-3)  # the centre of a log scale is the geometric mean
    assert (cfg.metric, cfg.goal, cfg.method) == ("score", "maximize", "bayes")


def test_programmatic_form_lifts_metric_and_goal() -> None:
    doc = {"sweep": {"protein": {"max_suggestion_cost": 3600, "num_random_samples": 50},
                     "parameters": {"metric": "reward", "goal": "minimize",
                                    "trainer": {"optimizer": {"learning_rate": {
                                        "distribution": "log_normal", "min": 1e-5, "max": 1e-2,
                                        "scale": "auto", "mean": 3e-4}},
                                        "batch_size": {"distribution": "uniform_pow2", "min": 16,
                                                       "max": 128, "scale": "auto", "mean": 64}}}}}
    cfg = load_sweep_config(doc)
    assert (cfg.metric, cfg.goal) == ("reward", "minimize")
    assert cfg.protein.num_random_samples == 50
    assert cfg.parameters.paths == ("trainer.optimizer.learning_rate", "trainer.batch_size")


def test_omegaconf_interpolations_resolve_against_the_whole_document() -> None:
    from omegaconf import OmegaConf

    doc = OmegaConf.create({
        "limits": {"lr_max": 0.01},
        "sweep": {"metric": "${oc.env:RUNLAB_TEST_METRIC,reward}",
                  "parameters": {"lr": {"distribution": "log_normal", "min": 1e-5, "max": "${limits.lr_max}",
                                        "mean": 1e-3}}},
    })
    cfg = load_sweep_config(doc)
    assert cfg.parameters.params[0].max == 0.01
    assert cfg.metric == "reward"


def test_dotlist_overrides_apply_before_validation() -> None:
    base = {"goal": "maximize", "parameters": {"x": {"distribution": "uniform", "min": 0, "max": 1}}}
    cfg = load_sweep_config(base, overrides=["goal=minimize", "parameters.x.max=4", "protein.acquisition=ucb"])
    assert cfg.goal == "minimize" and cfg.parameters.params[0].max == 4 and cfg.protein.acquisition == "ucb"


@pytest.mark.parametrize(
    ("leaf", "needle"),
    [
        ({"distribution": "uniform", "min": 1, "max": 1}, "min must be < max"),
        ({"distribution": "uniform", "min": 2, "max": 1}, "min must be < max"),
        ({"distribution": "log_normal", "min": 0, "max": 1}, "min must be > 0"),
        ({"distribution": "uniform_pow2", "min": -4, "max": 16}, "min must be > 0"),
        ({"distribution": "logit_normal", "min": 0.1, "max": 1.0}, "0 < min < max < 1"),
        ({"distribution": "uniform", "min": 0, "max": 1, "mean": 2}, "mean must lie in"),
        ({"distribution": "gaussian", "min": 0, "max": 1}, "unknown distribution 'gaussian'"),
        ({"distribution": "uniform", "min": 0, "max": float("nan")}, "must be finite"),
        ({"distribution": "uniform", "min": 0, "max": 1, "scale": "time"}, "scale 'time'"),
        ({"distribution": "uniform", "min": 0, "max": 1, "scale": -1}, "scale must be positive"),
        ({"distribution": "uniform", "max": 1}, "'min' is required"),
        ({"distribution": "int_uniform", "min": 0.2, "max": 0.8}, "no integer"),
        ({"distribution": "uniform", "min": 0, "max": 1, "maen": 0.5}, "unknown keys"),
        ({"values": []}, "non-empty list"),
        ({"values": ["a", "a"]}, "distinct"),
    ],
)
def test_invalid_leaves_name_the_parameter(leaf: dict, needle: str) -> None:
    with pytest.raises(InputError) as err:
        load_sweep_config({"parameters": {"trainer": {"lr": leaf}}})
    assert "trainer.lr" in str(err.value) and needle in str(err.value)


@pytest.mark.parametrize(
    ("doc", "needle"),
    [
        ({"goal": "max", "parameters": {"x": {"values": [1]}}}, "'goal' must be maximize or minimize"),
        ({"method": "hyperband", "parameters": {"x": {"values": [1]}}}, "'method' must be one of"),
        ({"protein": {"num_random_sample": 3}, "parameters": {"x": {"values": [1]}}}, "unknown keys"),
        ({"protein": {"num_random_samples": 0}, "parameters": {"x": {"values": [1]}}}, "integer >= 1"),
        ({"protein": {"acquisition": "pi"}, "parameters": {"x": {"values": [1]}}}, "acquisition must be"),
        ({"protein": {"max_suggestion_cost": -5}, "parameters": {"x": {"values": [1]}}}, "must be positive"),
        ({"metric": "m"}, "no 'parameters:' tree"),
        ({"parameters": {}}, "no parameters"),
        ({"parameters": {"x": 3}}, "must be a mapping"),
        ({"parameters": {"x": {"y": {}}}}, "'x.y' is empty"),
    ],
)
def test_invalid_configs_are_explained(doc: dict, needle: str) -> None:
    with pytest.raises(InputError, match=None) as err:
        load_sweep_config(doc)
    assert needle in str(err.value)


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        load_sweep_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("parameters: [unclosed\n")
    with pytest.raises(InputError, match="cannot be read"):
        load_sweep_config(bad)
    dangling = tmp_path / "dangling.yaml"
    dangling.write_text("parameters:\n  x:\n    distribution: uniform\n    min: 0\n    max: ${nowhere}\n")
    with pytest.raises(InputError, match="interpolation"):
        load_sweep_config(dangling)


_BOUNDS = {
    "uniform": (-3.0, 7.0),
    "int_uniform": (-4.0, 9.0),
    "log_normal": (1e-5, 1e-1),
    "uniform_pow2": (16.0, 1024.0),
    "logit_normal": (0.01, 0.99),
}


def _param(dist: str) -> NumericParam:
    space = ParameterSpace.from_tree({"p": {"distribution": dist, "min": _BOUNDS[dist][0],
                                            "max": _BOUNDS[dist][1]}})
    param = space.params[0]
    assert isinstance(param, NumericParam)
    return param


@settings(max_examples=60, deadline=None)
@given(dist=st.sampled_from(sorted(_BOUNDS)), u=st.floats(0.0, 1.0))
def test_normalise_round_trip(dist: str, u: float) -> None:
    p = _param(dist)
    value = float(p.unnormalize(2 * u - 1))  # a legal value (rounded where the distribution is discrete)
    assert p.min <= value <= p.max
    z = float(p.normalize(value))
    assert -1.0 - 1e-9 <= z <= 1.0 + 1e-9
    assert float(p.unnormalize(z)) == pytest.approx(value, rel=1e-9, abs=1e-12)
    py = p.to_python(value)
    assert type(py) is (int if dist in ("int_uniform", "uniform_pow2") else float)
    if dist == "uniform_pow2":
        assert py & (py - 1) == 0


@settings(max_examples=40, deadline=None)
@given(dist=st.sampled_from(sorted(_BOUNDS)), a=st.floats(-1, 1), b=st.floats(-1, 1))
def test_unnormalise_is_monotone(dist: str, a: float, b: float) -> None:
    p = _param(dist)
    lo, hi = sorted((a, b))
    assert float(p.unnormalize(lo)) <= float(p.unnormalize(hi))


HOSTILE = ["it's \"quoted\"", "line\nbreak", "<script>alert(1)</script>", "🚀 emoji", "../../etc/passwd", 3, 2.5,
           True, None]


def test_categorical_round_trip_with_hostile_values() -> None:
    space = ParameterSpace.from_tree({"env": {"name": {"values": HOSTILE, "mean": "🚀 emoji"}}})
    (param,) = space.params
    assert isinstance(param, CategoricalParam) and param.mean == "🚀 emoji"
    for value in HOSTILE:
        unit = space.to_unit({"env": {"name": value}})
        back = space.from_unit(unit)["env.name"]
        assert back == value and type(back) is type(value)
    with pytest.raises(InputError, match="must be one of"):
        space.to_unit({"env": {"name": "other"}})


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_flatten_nest_and_snap_round_trip(seed: int) -> None:
    space = ParameterSpace.from_tree({
        "trainer": {"lr": {"distribution": "log_normal", "min": 1e-5, "max": 1e-2},
                    "bs": {"distribution": "uniform_pow2", "min": 16, "max": 256},
                    "epochs": {"distribution": "int_uniform", "min": 1, "max": 5}},
        "act": {"values": ["relu", "tanh", "gelu"]},
    })
    rng = np.random.default_rng(seed)
    z = space.snap(space.sample_uniform(rng, 8))
    np.testing.assert_allclose(space.snap(z), z)  # snapping is idempotent
    for row in z:
        flat = space.from_unit(row)
        nested = space.nest(flat)
        assert space.flatten(nested) == flat
        np.testing.assert_allclose(space.to_unit(nested), row, atol=1e-12)


def test_sample_respects_scale_and_bounds() -> None:
    space = ParameterSpace.from_tree({"x": {"distribution": "uniform", "min": 0, "max": 10, "mean": 5,
                                            "scale": 0.2}})
    rng = np.random.default_rng(0)
    near = space.sample(rng, 500)
    assert np.all(np.abs(near - space.center) <= 0.2 + 1e-12)
    wide = space.sample(rng, 500, scale=100.0)
    assert wide.min() >= -1 and wide.max() <= 1 and np.ptp(wide) > 1.9


def test_names_with_dots_are_rejected() -> None:
    with pytest.raises(InputError, match="without dots"):
        ParameterSpace.from_tree({"a.b": {"values": [1, 2]}})


def test_observed_values_are_validated() -> None:
    space = ParameterSpace.from_tree({"x": {"distribution": "uniform", "min": 0, "max": 1}})
    for bad, needle in [(2.0, "must lie in"), (float("nan"), "must be finite"), ("0.5", "must be a number")]:
        with pytest.raises(InputError, match=needle):
            space.to_unit({"x": bad})
    with pytest.raises(InputError, match="'x' is missing"):
        space.to_unit({"y": 0.5})
