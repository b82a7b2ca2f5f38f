"""Reading commands create nothing and name near misses; `runlab sweep list`; suggestions print short."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from runlab.cli.app import app
from runlab.errors import NotFoundError
from runlab.sweep import (
    format_override_value,
    hydra_overrides,
    init_sweep,
    list_sweeps,
    load_sweep_config,
    make_optimizer,
    open_existing_store,
    open_store,
    override_args,
)

CONFIG = {"metric": "score", "goal": "minimize", "method": "random",
          "parameters": {"trainer": {"ent_coef": {"distribution": "log_normal", "min": 1e-4, "max": 1e-1,
                                                  "mean": 1e-2},
                                     "gamma": {"distribution": "logit_normal", "min": 0.9, "max": 0.999,
                                               "mean": 0.98}}}}


def _cli(home: Path, *args: str):
    return CliRunner().invoke(app, ["--home", str(home), "sweep", *args])


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*")) if root.exists() else []


@pytest.mark.parametrize("command", [["status"], ["best"], ["plot", "--out", "{tmp}/plots"],
                                     ["export-optuna", "--storage", "sqlite:///{tmp}/o.db"], ["import"]])
def test_reading_a_missing_sweep_creates_nothing(tmp_path: Path, command: list[str]) -> None:
    home = tmp_path / "home"
    init_sweep(home, "cartpole_ppo", CONFIG)
    before = _files(home)
    args = [a.format(tmp=tmp_path) for a in command]
    result = _cli(home, args[0], "cartpole_pp0", *args[1:])
    assert result.exit_code == 1, result.output
    assert "sweep 'cartpole_pp0' does not exist" in result.output
    assert "did you mean: 'cartpole_ppo'" in result.output and "Traceback" not in result.output
    assert _files(home) == before
    assert not (tmp_path / "plots").exists() and not (tmp_path / "o.db").exists()


def test_missing_sweep_without_any_sweeps_says_so(tmp_path: Path) -> None:
    result = _cli(tmp_path / "home", "status", "x")
    assert result.exit_code == 1 and "there are no sweeps yet" in result.output
    assert not (tmp_path / "home" / "sweeps").exists()
    with pytest.raises(NotFoundError, match="does not exist"):
        open_existing_store(tmp_path / "home", "x", f"sqlite:///{tmp_path}/shared.db")
    assert not (tmp_path / "shared.db").exists()


def test_a_shared_store_url_names_its_sweeps(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/shared.db"
    init_sweep(tmp_path / "home", "alpha", CONFIG, store_url=url)
    with pytest.raises(NotFoundError) as err:
        open_existing_store(tmp_path / "home", "alpah", url)
    assert "did you mean: 'alpha'" in (err.value.hint or "")
    with open_existing_store(tmp_path / "home", "alpha", url) as store:
        assert store.get_sweep("alpha").name == "alpha"


def test_sweep_list_counts_trials_by_state_and_the_best(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert _cli(home, "list").exit_code == 0 and not (home / "sweeps").exists()
    init_sweep(home, "b_sweep", CONFIG)
    init_sweep(home, "a_sweep", {**CONFIG, "goal": "maximize"})
    for name, scores in (("a_sweep", [1.0, 3.0, None]), ("b_sweep", [2.0, 0.5])):
        with open_store(home, name) as store:
            for score in scores:
                trial = store.allocate_trial(name, {"trainer": {"ent_coef": 0.01, "gamma": 0.95}})
                if score is None:
                    store.fail_trial(trial.run_id, error="boom")
                else:
                    store.finish_trial(trial.run_id, score=score, cost=1.0)
            store.allocate_trial(name, {"trainer": {"ent_coef": 0.02, "gamma": 0.95}})  # pending
    rows = json.loads(_cli(home, "list", "--json").output)
    assert [r["name"] for r in rows] == ["a_sweep", "b_sweep"]
    a, b = rows
    assert a["best"] == 3.0 and b["best"] == 0.5  # each under its own goal
    assert a["trials"] == {"pending": 1, "running": 0, "success": 2, "failure": 1, "pruned": 0, "stale": 0}
    assert a["goal"] == "maximize" and a["created"].endswith("+00:00")
    table = _cli(home, "list")
    assert table.exit_code == 0 and "a_sweep" in table.output and "2 success" in table.output
    assert [s.name for s in list_sweeps(home)] == ["a_sweep", "b_sweep"]


def test_first_suggestion_prints_at_the_parameters_precision(tmp_path: Path) -> None:
    opt = make_optimizer({**CONFIG, "method": "bayes"}, seed=0)
    suggestion, _ = opt.suggest()  # the search centre: the means
    assert suggestion["trainer"]["ent_coef"] == 0.01
    assert hydra_overrides(suggestion) == ["trainer.ent_coef=0.01", "trainer.gamma=0.98"]
    assert override_args(suggestion) == ["trainer.ent_coef=0.01", "trainer.gamma=0.98"]


def test_the_started_event_and_overrides_file_show_short_values(tmp_path: Path) -> None:
    home = tmp_path / "home"
    init_sweep(home, "s", {**CONFIG, "method": "bayes"})
    trainer = tmp_path / "t.py"
    trainer.write_text("import json; print(json.dumps({'score': 1.0}))\n")
    result = _cli(home, "run", "s", "--max-trials", "1", "--", sys.executable, str(trainer))
    assert result.exit_code == 0, result.output
    assert "trainer.ent_coef=0.01 trainer.gamma=0.98" in result.output
    written = (home / "sweeps" / "s" / "runs" / "s.r.0" / "train_config_overrides.yaml").read_text()
    assert "0.010000000000000002" not in written and yaml.safe_load(written)["trainer"]["ent_coef"] == 0.01


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_every_suggestion_round_trips_exactly_and_stays_short(seed: int) -> None:
    opt = make_optimizer(CONFIG, seed=seed)
    suggestion, _ = opt.suggest()
    space = load_sweep_config(CONFIG).parameters
    flat = space.flatten(suggestion)
    for arg in hydra_overrides(suggestion):
        key, text = arg.split("=", 1)
        assert float(text) == flat[key] and yaml.safe_load(text) == flat[key]
        mantissa = text.split("e")[0].replace("-", "").replace(".", "").lstrip("0")
        assert len(mantissa) <= 6  # six significant digits
        assert format_override_value(flat[key]) == text
