"""CLI: ingest of real wandb offline runs, runs list/show, label, export — through the Typer app."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from runlab.cli.app import app
from runlab.warehouse import Warehouse

HOSTILE_NAME = 'it\'s "quoted"\n<script>alert(1)</script> ../../etc 🚀 ünïcode'


def cli(home: Path, *args: str, input: str | None = None):
    return CliRunner().invoke(app, ["--home", str(home), *args], input=input)


@pytest.fixture(scope="module")
def ingested(offline_runs, tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("cli") / "home"
    wandb_dir = offline_runs["main"].parent
    res = cli(home, "ingest", str(wandb_dir))
    assert res.exit_code == 0, res.output
    return home


def test_ingest_folder_then_idempotent(offline_runs, ingested):
    with Warehouse.open(ingested, read_only=True) as wh:
        runs = wh.runs()
    assert len(runs) == 3 and HOSTILE_NAME in runs["name"].tolist()
    assert set(runs["state"]) >= {"finished", "failed"}
    res = cli(ingested, "ingest", str(offline_runs["main"]), str(offline_runs["long"]))
    assert res.exit_code == 0 and "2 unchanged" in res.output


def test_ingest_bad_run_is_reported_and_good_ones_stored(offline_runs, tmp_path):
    src = tmp_path / "wandb"
    shutil.copytree(offline_runs["long"], src / offline_runs["long"].name)
    bad = src / "offline-run-20250101_000000-badbad"
    bad.mkdir()
    (bad / "run-badbad.wandb").write_bytes(b"this is not a wandb log at all" * 10)
    home = tmp_path / "home"
    res = cli(home, "ingest", str(src))
    assert res.exit_code == 1
    assert "1 failed" in res.output and "badbad" in res.output
    with Warehouse.open(home, read_only=True) as wh:
        assert wh.runs()["name"].tolist() == ["long"]
        assert wh.sync_state(wh.runs()["run_id"][0]).history_rows > 1500


def test_ingest_nothing_found_is_an_error(tmp_path):
    (tmp_path / "empty").mkdir()
    res = cli(tmp_path / "home", "ingest", str(tmp_path / "empty"))
    assert res.exit_code == 1 and "no W&B run" in res.output and "fix:" in res.output


def test_runs_list_json(ingested):
    res = cli(ingested, "runs", "list", "--json")
    assert res.exit_code == 0, res.output
    items = json.loads(res.output)
    main = next(i for i in items if i["name"] == HOSTILE_NAME)
    for key in ("run_id", "name", "group", "tags", "job_type", "state", "config", "summary", "source"):
        assert key in main
    assert main["tags"] == ["<b>bold</b>", "new\nline", "🚀", "q'uo\"te"]
    assert main["config"]["trainer"]["optimizer"]["learning_rate"] == 1e-3
    assert main["group"] == "grp <1>" and main["job_type"] == "train"


def test_runs_list_table_and_show_render_names_as_text(ingested, tmp_path, make_record):
    res = cli(ingested, "runs", "show", "long")
    assert res.exit_code == 0 and "overview/reward" in res.output
    res = cli(ingested, "runs", "show", "no-such-run")
    assert res.exit_code == 1 and "no run matches" in res.output
    home = tmp_path / "home"
    with Warehouse.open(home) as wh:  # rich markup in a name must print literally
        wh.upsert_run(make_record("w:e/p/m", {"r": [(0, 1.0)]}, name="[red]x[/red]<i>", tags=["[b]t"]))
    for args in (["runs", "list"], ["runs", "show", "m"]):
        res = cli(home, *args)
        assert res.exit_code == 0 and "[red]x[/red]<i>" in res.output and "[b]t" in res.output


def test_label_commands(ingested, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(ingested, home)
    assert cli(home, "label", "config", "trainer.optimizer.learning_rate", "--column", "lr").exit_code == 0
    assert cli(home, "label", "pattern", "lo*", "longrun").exit_code == 0
    res = cli(home, "label", "set", "failing", "broken", "--column", "status")
    assert res.exit_code == 0, res.output
    items = json.loads(cli(home, "label", "list", "--json").output)
    got = {(i["run_name"], i["key"]): (i["value"], i["origin"]) for i in items}
    assert got[(HOSTILE_NAME, "lr")] == ("0.001", "config")
    assert got[("long", "label")] == ("longrun", "pattern")
    assert got[("failing", "status")] == ("broken", "manual")
    assert cli(home, "label", "set", "nope", "x").exit_code == 1


def test_label_interactive_with_piped_input(ingested, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(ingested, home)
    with Warehouse.open(home, read_only=True) as wh:
        order = wh.runs()["name"].tolist()
    answers = {name: f"L{i}" for i, name in enumerate(order)}
    answers[order[1]] = ""  # Enter keeps (no label)
    res = cli(home, "label", "interactive", "--column", "method", input="\n".join(answers[n] for n in order) + "\n")
    assert res.exit_code == 0, res.output
    with Warehouse.open(home, read_only=True) as wh:
        lab = wh.labels()
        names = dict(wh.run_index())
    got = {names[r]: v for r, v in zip(lab["run_id"], lab["value"], strict=True)}
    assert got == {n: v for n, v in answers.items() if v}
    # fewer answers than runs: the rest stay as they are
    res = cli(home, "label", "interactive", "--column", "method", input="-\n")
    assert res.exit_code == 0
    with Warehouse.open(home, read_only=True) as wh:
        assert len(wh.labels()) == len(got) - 1


def test_export_history_and_runs(ingested, tmp_path):
    out = tmp_path / "h.csv"
    res = cli(ingested, "export", "history", "--out", str(out), "--runs", "long", "--metrics", "overview/*")
    assert res.exit_code == 0, res.output
    h = pd.read_csv(out)
    assert list(h.columns) == ["run_id", "run_name", "step", "metric", "value"]
    assert set(h["metric"]) == {"overview/reward", "overview/sps"} and len(h) == 3000
    res = cli(ingested, "export", "runs", "--out", str(tmp_path / "r.parquet"))
    assert res.exit_code == 0, res.output
    r = pd.read_parquet(tmp_path / "r.parquet")
    row = r[r["name"] == HOSTILE_NAME].iloc[0]
    assert row["config.trainer.optimizer.learning_rate"] == 1e-3 and row["config.seed"] == 7
    res = cli(ingested, "export", "frame", "--out", str(tmp_path / "f.csv"), "--runs", "long",
              "--metrics", "overview/reward", "--downsample", "lttb:20")
    assert res.exit_code == 0, res.output
    assert len(pd.read_csv(tmp_path / "f.csv")) == 20


def test_nonfinite_history_survives_ingest(ingested):
    with Warehouse.open(ingested, read_only=True) as wh:
        rid = wh.resolve_run(HOSTILE_NAME)
        h = wh.history([rid], ["bad/*"])
    by = h.groupby("metric")["value"].apply(list).to_dict()
    assert all(math.isnan(v) for v in by["bad/nan"]) and set(by["bad/inf"]) == {math.inf}
    assert set(by["bad/ninf"]) == {-math.inf}


def test_every_core_command_has_help():
    for args in (["ingest"], ["runs", "list"], ["runs", "show"], ["label", "config"], ["label", "pattern"],
                 ["label", "set"], ["label", "list"], ["label", "interactive"], ["export", "history"],
                 ["export", "runs"], ["export", "frame"]):
        res = CliRunner().invoke(app, [*args, "--help"])
        assert res.exit_code == 0 and "Usage" in res.output
