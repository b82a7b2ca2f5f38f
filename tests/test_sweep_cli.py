"""`runlab sweep` end to end through the real CLI: init, run, status, best, plot, import."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from runlab.cli.app import app
from runlab.sweep import open_store

TRAINER = [sys.executable, str(Path(__file__).resolve().parents[1] / "examples" / "sweep_trainer.py")]
CONFIG = """
metric: reward
goal: minimize
method: random
parameters:
  trainer:
    optimizer:
      learning_rate: {distribution: log_normal, min: 1.0e-5, max: 1.0e-2, mean: 3.0e-4, scale: auto}
    gamma: {distribution: logit_normal, min: 0.8, max: 0.999, mean: 0.95}
"""


@pytest.fixture
def cli(tmp_path: Path):
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, ["--home", str(tmp_path / "home"), "sweep", *args])

    (tmp_path / "sweep.yaml").write_text(CONFIG)
    return invoke


def test_every_sweep_command_has_help(cli) -> None:
    from runlab.cli.sweep import sweep_app

    names = [c.name for c in sweep_app.registered_commands]
    assert set(names) == {"init", "run", "list", "status", "plot", "best", "import", "export-optuna"}
    for c in sweep_app.registered_commands:
        assert (c.callback.__doc__ or "").strip(), c.name
        result = cli(c.name, "--help")
        assert result.exit_code == 0 and "Usage" in result.output


def test_init_run_status_best_plot(cli, tmp_path: Path) -> None:
    result = cli("init", "demo", "--config", str(tmp_path / "sweep.yaml"), "protein.num_random_samples=3")
    assert result.exit_code == 0, result.output
    assert "2 parameter(s), minimize 'reward'" in result.output
    result = cli("run", "demo", "--max-trials", "3", "--parallel", "2", "--seed", "5", "--",
                 *TRAINER, "--report", "stdout")
    assert result.exit_code == 0, result.output
    assert "3 succeeded, 0 failed" in result.output
    status = cli("status", "demo")
    assert status.exit_code == 0 and "3 success" in status.output and "demo.r.2" in status.output
    patches = tmp_path / "patches"
    best = cli("best", "demo", "--top-n", "2", "--show-scores", "--output-dir", str(patches))
    assert best.exit_code == 0, best.output
    with open_store(tmp_path / "home", "demo") as st:
        trials = st.trials("demo")
    winner = min(trials, key=lambda t: t.score)
    assert f"Best run: {winner.run_id}" in best.output
    patch = patches / "demo_best.yaml"
    assert patch.read_text().startswith("# @package _global_\n")
    assert yaml.safe_load(patch.read_text())["trainer"]["gamma"] == pytest.approx(
        winner.suggestion["trainer"]["gamma"], rel=1e-5)
    assert (patches / "demo_top2.yaml").exists()
    assert "+trainer/patch=demo_best" in best.output
    assert "sweep_trainer.py --report stdout trainer.optimizer.learning_rate=" in best.output
    no_patch = cli("best", "demo", "--no-patch", "--output-dir", str(tmp_path / "none"))
    assert no_patch.exit_code == 0 and not (tmp_path / "none").exists()
    plots = cli("plot", "demo", "--out", str(tmp_path / "plots"))
    assert plots.exit_code == 0, plots.output
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == ["objective.png", "pareto.png"]
    assert all(p.stat().st_size > 1000 for p in (tmp_path / "plots").iterdir())


def test_bad_config_names_the_parameter(cli, tmp_path: Path) -> None:
    result = cli("init", "bad", "--config", str(tmp_path / "sweep.yaml"),
                 "parameters.trainer.gamma.min=0.9999")
    assert result.exit_code == 1
    assert "trainer.gamma" in result.output and "Traceback" not in result.output
    missing = cli("status", "bad")
    assert missing.exit_code == 1 and "sweep 'bad' does not exist" in missing.output


def test_failing_trainer_stops_with_a_report_and_best_says_why(cli, tmp_path: Path) -> None:
    assert cli("init", "f", "--config", str(tmp_path / "sweep.yaml")).exit_code == 0
    result = cli("run", "f", "--max-trials", "9", "--", *TRAINER, "--report", "none")
    assert result.exit_code == 1
    assert "3 consecutive failed trials" in result.output and "f.r.2" in result.output
    assert "fix:" in result.output
    best = cli("best", "f")
    assert best.exit_code == 1 and "no successful trial" in best.output


def test_run_without_a_command_is_a_clear_error(cli, tmp_path: Path) -> None:
    assert cli("init", "e", "--config", str(tmp_path / "sweep.yaml")).exit_code == 0
    result = cli("run", "e", "--max-trials", "1")
    assert result.exit_code == 1 and "training command is empty" in result.output
    bad = cli("run", "e", "--backend", "slurm", "--", *TRAINER)
    assert bad.exit_code == 1 and "--backend must be 'local' or 'ray'" in bad.output
