"""W&B sweeps: fetch a sweep's runs through the real client, then import them as sweep observations.

The runs were written by the real wandb client in offline mode as members of a sweep
(``WANDB_SWEEP_ID``); the test server serves them and the sweep (``GetSweep``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from runlab.cli.app import app
from runlab.errors import InputError, NotFoundError
from runlab.sources import RunRecord
from runlab.sources.wandb_api import FetchOptions, RunSelection, WandBCollector
from runlab.sweep import open_store
from runlab.warehouse import Warehouse
from wandb_server import StoredSweep, WandbTestServer, stored_run_from_record
from wandb_server.fixtures import (  # noqa: F401  (fixtures: sweep_records, wandb_server)
    SWEEP_ID,
    sweep_records_fixture,
    wandb_server_fixture,
)

PROJECT = "metta"
SWEEP_CONFIG = """
metric: score
goal: maximize
method: random
parameters:
  trainer:
    optimizer:
      learning_rate: {distribution: log_normal, min: 1.0e-5, max: 1.0e-2, mean: 3.0e-4, scale: auto}
"""


def serve_sweep(server: WandbTestServer, records: list[RunRecord]) -> None:
    for rec in records:
        server.add_run(PROJECT, stored_run_from_record(rec))
    server.add_sweep(PROJECT, StoredSweep(id=SWEEP_ID, display_name="lr sweep", state="FINISHED",
                                          config={"metric": {"name": "score", "goal": "maximize"},
                                                  "method": "bayes"}))


def test_fetched_sweep_runs_become_sweep_observations(
    wandb_server: WandbTestServer, sweep_records: list[RunRecord], tmp_path: Path
) -> None:
    serve_sweep(wandb_server, sweep_records)
    home = tmp_path / "home"
    runner = CliRunner()
    fetched = runner.invoke(app, ["--home", str(home), "fetch", f"{wandb_server.entity}/{PROJECT}",
                                  "--sweep", SWEEP_ID, "--no-progress"])
    assert fetched.exit_code == 0, fetched.output
    assert "3 added" in fetched.output
    assert f"sweep {SWEEP_ID} (lr sweep, finished, metric 'score')" in fetched.output
    with Warehouse.open(home, read_only=True) as wh:
        runs = wh.runs()
    assert sorted(runs["name"]) == ["sweep_run_0", "sweep_run_1", "sweep_run_2"]  # sweep_run_3 is not in it
    assert set(runs["sweep_id"]) == {SWEEP_ID}

    (tmp_path / "sweep.yaml").write_text(SWEEP_CONFIG)
    init = runner.invoke(app, ["--home", str(home), "sweep", "init", "lr", "--config", str(tmp_path / "sweep.yaml")])
    assert init.exit_code == 0, init.output
    imported = runner.invoke(app, ["--home", str(home), "sweep", "import", "lr", "--wandb-sweep", SWEEP_ID])
    assert imported.exit_code == 0, imported.output
    assert "imported 3 observation(s) into lr (2 successful, 1 failed)" in imported.output
    with open_store(home, "lr") as store:
        trials = {t.results["wandb_run_id"]: t for t in store.trials("lr")}
    by_name = {r.name: r for r in sweep_records}
    name_of = dict(zip(runs["run_id"], runs["name"], strict=True))
    for run_id, trial in trials.items():
        rec = by_name[name_of[run_id]]
        lr = rec.config["trainer"]["optimizer"]["learning_rate"]
        assert trial.suggestion["trainer"]["optimizer"]["learning_rate"] == pytest.approx(lr)
        if rec.name == "sweep_run_2":  # exited with code 1
            assert trial.state != "success" and trial.score is None
        else:
            assert trial.state == "success" and trial.score == rec.summary["score"]
    again = runner.invoke(app, ["--home", str(home), "sweep", "import", "lr", "--wandb-sweep", SWEEP_ID])
    assert "imported 0 observation(s)" in again.output  # re-importing adds nothing


def test_sweep_info_comes_with_the_result(wandb_server: WandbTestServer, sweep_records: list[RunRecord]) -> None:
    serve_sweep(wandb_server, sweep_records)
    c = WandBCollector(RunSelection(wandb_server.entity, PROJECT, sweep=SWEEP_ID, pattern="*_1"),
                       FetchOptions(retry_base_delay=0.01))
    assert [s.name for s in c.select()] == ["sweep_run_1"]  # the sweep and the other options combine
    assert c.sweep_info is not None
    assert (c.sweep_info.id, c.sweep_info.name, c.sweep_info.metric, c.sweep_info.run_count) == (
        SWEEP_ID, "lr sweep", "score", 3)
    assert wandb_server.count("GetSweep") == 1 and wandb_server.count("Runs") == 1


def test_unknown_sweep_is_not_found_before_any_listing(wandb_server: WandbTestServer,
                                                       sweep_records: list[RunRecord]) -> None:
    serve_sweep(wandb_server, sweep_records)
    with pytest.raises(NotFoundError, match="W&B sweep 'nope1234' not found") as info:
        WandBCollector(RunSelection(wandb_server.entity, PROJECT, sweep="nope1234"),
                       FetchOptions(retry_base_delay=0.01)).select()
    assert "sweeps/<id>" in (info.value.hint or "")
    assert wandb_server.count("Runs") == 0


@pytest.mark.parametrize("bad", ["", "a/b", "x y", "id\n", "../etc"])
def test_bad_sweep_ids_name_the_fix(bad: str) -> None:
    with pytest.raises(InputError, match="--sweep must be a W&B sweep id"):
        RunSelection("e", "p", sweep=bad)
