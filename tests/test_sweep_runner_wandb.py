"""W&B bridge: observations into run summaries, and W&B runs back into a sweep via the warehouse."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from runlab.cli.app import app
from runlab.sources import RunRecord
from runlab.sweep import (
    RunnerOptions,
    import_from_warehouse,
    init_sweep,
    open_store,
    rebuild_optimizer,
    run_sweep,
    sweep_dir,
)
from runlab.warehouse import Warehouse

TRAINER = [sys.executable, str(Path(__file__).resolve().parents[1] / "examples" / "sweep_trainer.py")]
CONFIG = {"metric": "reward", "goal": "maximize", "method": "random",
          "parameters": {"trainer": {"lr": {"distribution": "log_normal", "min": 1e-5, "max": 1e-2}},
                         "ent": {"distribution": "uniform", "min": 0.0, "max": 0.1}}}


def _record(i: int, *, group: str = "old", state: str = "finished", summary: dict | None = None,
            config: dict | None = None) -> RunRecord:
    return RunRecord(run_id=f"wandb:team/proj/run{i}", source="wandb-api", entity="team", project="proj",
                     name=f"run \"{i}\"\n<script>🚀", group=group, state=state,
                     config=config if config is not None else {"trainer": {"lr": 1e-4 * (i + 1)}, "ent": 0.01 * i},
                     summary=summary if summary is not None else {"reward": float(i), "_runtime": 10.0 + i})


def test_import_from_a_group_in_the_warehouse(tmp_path: Path) -> None:
    with Warehouse.open(tmp_path) as wh:
        for rec in [
            _record(0), _record(1),
            _record(2, state="crashed"),
            _record(3, summary={"reward": float("nan")}),
            _record(4, summary={"sweep/score": -2.0, "sweep/cost": 7.0, "reward": 99.0,
                                "sweep/suggestion": {"trainer": {"lr": 5e-3}, "ent": 0.05}}),
            _record(5, group="other"),
            _record(6, config={"unrelated": 1}),  # not a run of this search space: skipped
            _record(7, state="running"),
        ]:
            wh.upsert_run(rec)
    init_sweep(tmp_path, "sw", CONFIG)
    with open_store(tmp_path, "sw") as st:
        added = import_from_warehouse(st, "sw", tmp_path, group="old")
        again = import_from_warehouse(st, "sw", tmp_path, group="old")
        trials = st.trials("sw")
    assert again == []
    by_source = {t.source: t for t in trials}
    assert sorted(by_source) == [f"wandb:wandb:team/proj/run{i}" for i in (0, 1, 2, 3, 4)]
    assert len(added) == 5
    ok = by_source["wandb:wandb:team/proj/run1"]
    assert (ok.state, ok.score, ok.cost, ok.suggestion) == ("success", 1.0, 11.0, {"trainer": {"lr": 2e-4},
                                                                                  "ent": 0.01})
    assert by_source["wandb:wandb:team/proj/run2"].state == "failure"
    assert "'crashed'" in by_source["wandb:wandb:team/proj/run2"].error
    assert by_source["wandb:wandb:team/proj/run3"].state == "failure"
    summ = by_source["wandb:wandb:team/proj/run4"]
    assert (summ.score, summ.cost, summ.suggestion["trainer"]["lr"]) == (-2.0, 7.0, 5e-3)
    opt = rebuild_optimizer(CONFIG, trials, seed=0)
    assert (len(opt.successes), len(opt.failures)) == (3, 2)


def test_cli_import_by_wandb_sweep_id(tmp_path: Path) -> None:
    with Warehouse.open(tmp_path) as wh:
        for i in range(3):
            rec = _record(i)
            rec.sweep_id = "abc123" if i < 2 else "zzz"
            wh.upsert_run(rec)
    init_sweep(tmp_path, "sw", CONFIG)
    result = CliRunner().invoke(app, ["--home", str(tmp_path), "sweep", "import", "sw", "--wandb-sweep", "abc123"])
    assert result.exit_code == 0, result.output
    assert "imported 2 observation(s) into sw (2 successful, 0 failed)" in result.output
    result = CliRunner().invoke(app, ["--home", str(tmp_path), "sweep", "import", "sw"])
    assert result.exit_code == 1 and "a group or a sweep id" in result.output


@pytest.mark.slow
def test_offline_wandb_trainer_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The trainer logs to an offline W&B run; the objective comes from its summary (read by the
    library's own sources: ``run_sweep`` from Python, no reader handed in), and the run, read back
    by runlab's offline reader, seeds a second sweep with the same observation."""
    from runlab.sources.wandb_offline import find_run_dirs, read_run

    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_MODE", "offline")
    init_sweep(tmp_path, "sw", {**CONFIG, "metric": "score"})
    run_sweep(tmp_path, "sw", [*TRAINER, "--report", "wandb", "--score", "0.625"],
              options=RunnerOptions(max_trials=1, heartbeat_s=0.5))
    with open_store(tmp_path, "sw") as st:
        (trial,) = st.trials("sw")
    assert (trial.state, trial.score, trial.results["_source"]) == ("success", 0.625, "wandb")
    folder = sweep_dir(tmp_path, "sw") / "runs" / trial.run_id
    record = read_run(find_run_dirs([folder / "wandb"])[0])
    assert record.summary["sweep/score"] == 0.625 and record.summary["sweep/run_id"] == trial.run_id
    assert record.summary["sweep/suggestion"] == trial.suggestion
    assert (record.group, record.name) == ("sw", trial.run_id)
    with Warehouse.open(tmp_path / "wh") as wh:
        wh.upsert_run(record)
    init_sweep(tmp_path, "again", CONFIG)
    with open_store(tmp_path, "again") as st:
        (imported,) = import_from_warehouse(st, "again", tmp_path / "wh", group="sw")
    assert (imported.score, imported.suggestion) == (0.625, trial.suggestion)
