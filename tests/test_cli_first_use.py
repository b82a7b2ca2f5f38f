"""First use of the CLI: global options anywhere, flags without a type, `runs metrics`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from runlab.cli.app import app, hoist_global_options

RUNLAB = Path(sys.executable).with_name("runlab")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from runlab.sources import RunRecord
    from runlab.warehouse import Warehouse
    from test_report_fixtures import history

    home = tmp_path_factory.mktemp("first") / "home"
    with Warehouse.open(home) as wh:
        for i in range(3):
            curves = {"overview/reward": [float(i + s) for s in range(4)]}
            if i < 2:
                curves["losses/pi"] = [0.1, float("nan"), 0.3]
            wh.upsert_run(RunRecord(run_id=f"w:e/p/r{i}", source="test", name=f"run{i}", history=history(curves),
                                    tags=[f"t{j}" for j in range(6)]))
    return home


@pytest.mark.parametrize(("argv", "expected"), [
    (["demo", "--debug"], ["--debug", "demo"]),
    (["runs", "list", "--home", "/h", "-v"], ["--home", "/h", "-v", "runs", "list"]),
    (["runs", "list", "--home=/h"], ["--home=/h", "runs", "list"]),
    (["sweep", "run", "s", "--debug", "--", "python", "t.py", "--debug", "--home", "x"],
     ["--debug", "sweep", "run", "s", "--", "python", "t.py", "--debug", "--home", "x"]),
])
def test_global_options_are_accepted_after_the_sub_command(argv, expected) -> None:
    assert hoist_global_options(argv) == expected


def test_a_real_process_takes_home_after_the_sub_command(home: Path) -> None:
    out = subprocess.run([str(RUNLAB), "runs", "metrics", "--json", "--home", str(home), "--verbose"],
                         capture_output=True, text=True, check=True)
    rows = {r["metric"]: r for r in json.loads(out.stdout)}
    assert rows["overview/reward"]["runs"] == 3 and rows["overview/reward"]["rows"] == 12
    assert rows["losses/pi"]["runs"] == 2 and rows["losses/pi"]["of_runs"] == 3
    assert rows["losses/pi"]["nonfinite"] == 2 and rows["losses/pi"]["max_step"] == 20


def test_runs_metrics_table_and_selection(home: Path) -> None:
    res = CliRunner().invoke(app, ["--home", str(home), "runs", "metrics", "run0"])
    assert res.exit_code == 0, res.output
    assert "2 metric(s) in 1 run(s)" in res.output and "1/1" in res.output


def test_flags_show_no_type_in_help() -> None:
    res = CliRunner().invoke(app, ["runs", "list", "--help"], env={"COLUMNS": "100"})
    assert res.exit_code == 0
    assert "<bool>" not in res.output and "--json" in res.output


def test_runs_list_is_one_line_per_run_at_80_columns(home: Path) -> None:
    res = CliRunner().invoke(app, ["--home", str(home), "runs", "list"], env={"COLUMNS": "80"})
    lines = [line for line in res.output.splitlines() if line.strip().startswith("run")]
    assert [line.split()[0] for line in lines] == ["run0", "run1", "run2"]
    assert all(len(line) <= 80 for line in res.output.splitlines())
    assert all("+" in line for line in lines)  # six tags: two shown, "+4"
