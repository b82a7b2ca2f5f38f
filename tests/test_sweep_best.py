"""Best parameters: ranking under goal, number formatting, patch files, overrides, commands."""

from __future__ import annotations

import math
import shlex
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from runlab.errors import InputError, NotFoundError
from runlab.sweep import (
    Trial,
    best_trials,
    format_number,
    override_args,
    params_yaml,
    patch_text,
    rank_trials,
    train_command,
    write_patch,
)


def _trial(i: int, score: float | None, state: str = "success", **params: object) -> Trial:
    return Trial(run_id=f"s.r.{i}", sweep="s", index=i, state=state, score=score, cost=1.0,
                 suggestion={"trainer": {"optimizer": {"learning_rate": 7.31e-4 * (i + 1)}}, **params})


TRIALS = [_trial(0, -3.0), _trial(1, -0.5), _trial(2, None, "failure"), _trial(3, -7.25), _trial(4, None, "running")]


def test_rank_respects_goal_and_negative_scores() -> None:
    assert [r.trial.run_id for r in rank_trials(TRIALS, "maximize")] == ["s.r.1", "s.r.0", "s.r.3"]
    assert [r.trial.run_id for r in rank_trials(TRIALS, "minimize")] == ["s.r.3", "s.r.0", "s.r.1"]
    top = best_trials(TRIALS, "minimize", top_n=2)
    assert [(r.rank, r.score) for r in top] == [(1, -7.25), (2, -3.0)]


def test_failures_and_non_finite_scores_never_rank() -> None:
    odd = [_trial(0, math.nan), _trial(1, 5.0, "failure"), _trial(2, math.inf)]
    with pytest.raises(NotFoundError, match="has no successful trial"):
        best_trials(odd, "maximize", sweep="s")
    with pytest.raises(InputError, match="--top-n must be >= 1"):
        best_trials(TRIALS, "maximize", top_n=0)
    with pytest.raises(InputError, match="goal must be"):
        rank_trials(TRIALS, "up")


@pytest.mark.parametrize(("value", "text"), [
    (7.31e-4, "7.31e-04"), (-0.005, "-5.0e-03"), (0.01, "0.01"), (0.99, "0.99"), (3.0, "3.0"),
    (1e7, "10000000.0"), (1e17, "1.0e+17"), (0.0, "0.0"), (64, "64"), (True, "true"), ("adam", "adam"),
    (0.000731234567, "7.31234567e-04"),
])
def test_format_number(value: object, text: str) -> None:
    assert format_number(value) == text


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_formatted_floats_read_back_as_floats(value: float) -> None:
    back = yaml.safe_load(format_number(value))
    assert isinstance(back, float)
    assert back == value  # exactly: a pasted override must reproduce the trial


hostile = st.one_of(st.sampled_from(["it's", 'say "hi"', "a\nb", "<script>alert(1)</script>", "🚀 rocket", "true",
                                     "null", "1e-5", " padded "]), st.text(max_size=15))


@settings(max_examples=60, deadline=None)
@given(key=st.text(min_size=1, max_size=10).filter(lambda k: "." not in k), value=hostile,
       number=st.floats(-1e6, 1e6, allow_nan=False))
def test_params_yaml_round_trips_hostile_strings(key: str, value: str, number: float) -> None:
    params = {"env": {key: value}, "lr": number}
    back = yaml.safe_load(params_yaml(params))
    assert back["env"] == {key: value}
    assert back["lr"] == number


def test_patch_file(tmp_path: Path) -> None:
    (best,) = best_trials(TRIALS, "maximize")
    text = patch_text(best, "my_sweep")
    lines = text.splitlines()
    assert lines[0] == "# @package _global_"
    assert "# Apply with: +trainer/patch=my_sweep_best" in lines
    assert "learning_rate: 1.462e-03" in text
    path = write_patch(best, "my_sweep", tmp_path / "patches")
    assert path == tmp_path / "patches" / "my_sweep_best.yaml"
    assert yaml.safe_load(path.read_text()) == {"trainer": {"optimizer": {"learning_rate": 1.462e-3}}}
    (_, second) = best_trials(TRIALS, "maximize", top_n=2)
    assert write_patch(second, "my_sweep", tmp_path).name == "my_sweep_top2.yaml"


def test_overrides_and_training_command() -> None:
    params = {"trainer": {"optimizer": {"learning_rate": 7.31e-4}, "batch_size": 64}, "env": {"name": "it's x"},
              "use_gae": True}
    args = override_args(params)
    assert args[:3] == ["trainer.optimizer.learning_rate=7.31e-04", "trainer.batch_size=64", "env.name='it\\'s x'"]
    assert args[3] == "use_gae=true"
    cmd = train_command(["python", "train.py", "run=x"], params)
    assert shlex.split(cmd)[:3] == ["python", "train.py", "run=x"]
    assert shlex.split(cmd)[3:] == args
