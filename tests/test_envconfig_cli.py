"""`runlab env-configs` on the shipped curriculum runs in a real warehouse, and on hostile names."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from runlab.cli.app import app
from runlab.envconfig import ConfigTracker, read_sequence
from runlab.samples import shipped_samples_dir
from runlab.warehouse import Warehouse

CURRICULUM = shipped_samples_dir() / "curriculum"
runner = CliRunner()


def _raw(name: str) -> dict:
    (path,) = CURRICULUM.glob(f"wandb/*-{name}/files/artifacts/*/env_config_history.json")
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("wh")
    result = runner.invoke(app, ["--home", str(home), "ingest", str(CURRICULUM),
                                 str(shipped_samples_dir() / "benchmark")])
    assert result.exit_code == 0, result.output
    return home


def cli(home: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--home", str(home), "env-configs", *args])
    return result.exit_code, result.output


def test_text_report_and_json_summary(home: Path) -> None:
    raw = _raw("curr-lp-s0")
    freq = Counter(t for item in raw["history"] for t in item["tasks"])
    code, out = cli(home, "curr-lp-s0")
    assert code == 0, out
    assert f"Total configurations logged: {sum(freq.values())}" in out and "Unique tasks: 6" in out
    assert "=== Configuration Changes ===" in out and "Change 1: Epoch 1, Step 2048, Task:" in out
    assert "=== Sample Key Parameters ===" in out and "max_steps: 200" in out
    code, out = cli(home, "curr-lp-s0", "--json")
    s = json.loads(out)
    assert s["task_frequencies"] == dict(freq) and s["unique_tasks"] == len(freq)
    assert s["unique_configs"] == len(raw["snapshots"]) and s["total_configurations_logged"] == sum(freq.values())
    # a change is an epoch whose set of (task, config) differs from the epoch before
    sets = [frozenset((t, v["config"]) for t, v in item["tasks"].items()) for item in raw["history"]]
    want = [raw["history"][0]["epoch"]] + [raw["history"][i]["epoch"] for i in range(1, len(sets))
                                           if sets[i] != sets[i - 1]]
    assert [c["epoch"] for c in s["changes"]] == want


def test_at_epoch(home: Path) -> None:
    item = next(i for i in _raw("curr-uniform-s0")["history"] if i["epoch"] == 10)
    code, out = cli(home, "curr-uniform-s0", "--at-epoch", "10", "--json")
    assert code == 0, out
    got = json.loads(out)
    assert got["epoch"] == 10 and got["agent_step"] == item["agent_step"]
    assert {t["task"]: (t["num_envs"], t["probability"]) for t in got["tasks"]} == {
        k: (v["num_envs"], v["probability"]) for k, v in item["tasks"].items()}
    assert all(t["config"]["name"] == t["task"] for t in got["tasks"])
    code, out = cli(home, "curr-uniform-s0", "--at-epoch", "10")
    assert code == 0 and "=== Epoch 10" in out and "physics.gravity" in out
    code, out = cli(home, "curr-uniform-s0", "--at-epoch", "-3")
    assert code == 1 and "nothing was recorded at or before epoch -3" in out


def test_exports_and_output_dir(home: Path, tmp_path: Path) -> None:
    csv_path, seq_path, out_dir = tmp_path / "k.csv", tmp_path / "seq.jsonl", tmp_path / "report"
    code, out = cli(home, "curr-lp-s1", "--export-csv", str(csv_path), "--export-sequence", str(seq_path),
                    "--output-dir", str(out_dir), "--key-param", "gravity=physics.gravity,max_steps=max_steps")
    assert code == 0, out
    raw = _raw("curr-lp-s1")
    rows = list(csv.DictReader(csv_path.open()))
    assert {"epoch_start", "epoch_end", "task", "num_envs", "probability", "gravity", "max_steps"} <= set(rows[0])
    assert sum(int(r["epochs_recorded"]) for r in rows) == sum(len(i["tasks"]) for i in raw["history"])
    for r in rows:
        assert float(r["gravity"]) == raw["snapshots"][r["config_hash"]]["physics"]["gravity"]
    seq = read_sequence(seq_path)
    assert sum(item["count"] for item in seq) == len(raw["history"])
    assert sorted(p.name for p in out_dir.iterdir()) == ["key_parameters.png", "probabilities.png", "report.txt",
                                                         "summary.json", "timeline.png"]
    assert all((out_dir / n).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for n in ("timeline.png", "probabilities.png"))
    assert "Total configurations logged" in (out_dir / "report.txt").read_text()


def test_where_lists_matching_runs(home: Path) -> None:
    code, out = cli(home, "--runs", "*", "--where", "physics.gravity>20", "--where", "max_steps=500", "--json")
    assert code == 0, out
    got = json.loads(out)
    want = sorted(n for n in ("curr-lp-s0", "curr-lp-s1", "curr-lp-s2", "curr-uniform-s0", "curr-uniform-s1",
                              "curr-uniform-s2")
                  if any(c["physics"]["gravity"] > 20 and c["game"]["max_steps"] == 500
                         for c in _raw(n)["snapshots"].values()))
    assert sorted(r["run_id"].rsplit("/", 1)[-1] for r in got["runs"]) == want
    assert all(m["task"] == "cartpole/jupiter+strong*push" for r in got["runs"] for m in r["matches"])
    assert len(got["runs_without_history"]) == 15  # the benchmark runs log no env configs
    code, out = cli(home, "--runs", "curr-*", "--where", "max_steps>1000")
    assert code == 0 and "0 run(s) match" in out
    code, out = cli(home, "--runs", "curr-*", "--where", "max_steps~1")
    assert code == 1 and "--where must look like KEY OP VALUE" in out


def test_correlate_matches_a_direct_computation(home: Path) -> None:
    code, out = cli(home, "curr-lp-s0", "--correlate", "overview/reward", "--json")
    assert code == 0, out
    res = json.loads(out)
    with Warehouse.open(home, read_only=True) as wh:
        rid = wh.resolve_run("curr-lp-s0")
        h = wh.history([rid], ["overview/reward", "metric/epoch"]).pivot_table(
            index="step", columns="metric", values="value")
    epochs, reward = h["metric/epoch"].to_numpy(), h["overview/reward"].to_numpy()
    ch = res["changes"]
    for i in range(1, len(ch) - 1):
        lo, at, hi = ch[i - 1]["epoch"], ch[i]["epoch"], ch[i + 1]["epoch"]
        assert np.isclose(ch[i]["before"], reward[(epochs >= lo) & (epochs < at)].mean())
        assert np.isclose(ch[i]["after"], reward[(epochs >= at) & (epochs < hi)].mean())
    code, out = cli(home, "curr-lp-s0", "--correlate", "overview/rewrd")
    assert code == 1 and "overview/reward" in out  # did-you-mean


def test_runs_without_history_and_missing_runs_are_explained(home: Path) -> None:
    code, out = cli(home, "bench-ppo-s0")
    assert code == 1 and "no environment_configs artifact" in out and "ConfigTracker" in out
    code, out = cli(home, "no-such-run")
    assert code == 1 and "no-such-run" in out


HOSTILE = ["=HYPERLINK(\"http://x\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tlead", "<script>alert(1)</script>",
           "../../etc/passwd", "$\\alpha$ math", "esc\x1b[31mred\nnewline"]


def test_hostile_task_names_stay_data(tmp_path: Path) -> None:
    tracker = ConfigTracker(rank=0, key_params={"max_steps": "max_steps", "=evil*": "evil.*"})
    for e in range(4):
        envs = [(name, {"max_steps": 100 + i + e // 2, "evil": {"=x": 1}}) for i, name in enumerate(HOSTILE)]
        tracker.record(epoch=e, agent_step=e, envs=envs, task_probabilities={n: 1 / len(HOSTILE) for n in HOSTILE})
    path = tracker.save(tmp_path / "h.json")
    out_dir, csv_path = tmp_path / "out", tmp_path / "h.csv"
    result = runner.invoke(app, ["--home", str(tmp_path / "nowh"), "env-configs", str(path), "--output-dir",
                                 str(out_dir), "--export-csv", str(csv_path)])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "esc\\x1b[31mred\\nnewline" in result.output
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == sorted(
        ["h.json", "h.csv", "key_parameters.png", "probabilities.png", "report.txt", "summary.json", "timeline.png"])
    cells = [c for row in csv.reader(csv_path.open(newline="")) for c in row]
    assert all(not c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in cells)
    assert "'=HYPERLINK(\"http://x\")" in cells and "'-2+3" in cells and "'=evil_x" not in cells
    assert any(c.startswith("'=evil") for c in cells)  # a hostile config key in a column header
    assert json.loads((out_dir / "summary.json").read_text())["unique_tasks"] == len(HOSTILE)
