"""A new user's mistakes with the CLI: one clear message naming the thing and the fix, no traceback.

Runs the real Typer app on real warehouses (ingested from the shipped W&B offline sample runs) and
the real ``runlab`` process for Ctrl-C.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import typer
from typer.main import get_command
from typer.testing import CliRunner

from runlab.cli.app import app
from runlab.warehouse import Warehouse
from runlab.warehouse._write import rollback

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "benchmark" / "wandb"
RUNLAB = Path(sys.executable).with_name("runlab")


def cli(home: Path, *args: str, input: str | None = None):
    return CliRunner().invoke(app, ["--home", str(home), *args], input=input)


def assert_clean_error(res, *needles: str) -> None:
    """Exit != 0, an ``error:`` and a ``fix:`` line, every needle present, no traceback."""
    assert res.exit_code != 0, res.output
    assert "error:" in res.output and "fix:" in res.output, res.output
    assert "Traceback" not in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    for needle in needles:
        assert needle in res.output, res.output


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse of five real benchmark runs, labelled by algorithm."""
    src = tmp_path_factory.mktemp("src") / "wandb"
    for run_dir in sorted(SAMPLES.iterdir())[:5]:
        shutil.copytree(run_dir, src / run_dir.name)
    home = tmp_path_factory.mktemp("ux") / "home"
    assert cli(home, "ingest", str(src)).exit_code == 0
    assert cli(home, "label", "config", "trainer.algorithm", "--column", "method").exit_code == 0
    return home


@pytest.fixture
def scratch(home: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "home"
    shutil.copytree(home, copy)
    return copy


# -- the warehouse folder ---------------------------------------------------------------------------
@pytest.mark.parametrize("args", [["runs", "list"], ["runs", "show", "x"], ["label", "list"],
                                  ["label", "config", "trainer.algorithm"], ["export", "runs", "--out", "r.csv"],
                                  ["compare", "group_by=method"], ["report", "--out", "rep", "group_by=method"]])
def test_missing_warehouse_is_an_error_and_creates_nothing(tmp_path: Path, args: list[str]) -> None:
    missing = tmp_path / "typo-home"
    res = cli(missing, *args)
    assert_clean_error(res, "no runlab warehouse at", str(missing), "runlab ingest")
    assert not missing.exists()


def test_home_that_is_a_file(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("not a warehouse")
    for args in (["runs", "list"], ["ingest", str(SAMPLES)]):
        assert_clean_error(cli(afile, *args), "is a file, not a folder", "--home")
    assert afile.read_text() == "not a warehouse"


def test_empty_warehouse_says_how_to_fill_it(tmp_path: Path) -> None:
    Warehouse.open(tmp_path / "h").close()
    res = cli(tmp_path / "h", "runs", "list")
    assert res.exit_code == 0 and "no runs in this warehouse yet" in res.output and "runlab ingest" in res.output


# -- ingest -----------------------------------------------------------------------------------------
def test_ingest_mistyped_path_stops_before_touching_the_warehouse(tmp_path: Path) -> None:
    res = cli(tmp_path / "h", "ingest", str(SAMPLES), str(tmp_path / "wandbb"))
    assert_clean_error(res, "no such file or folder", "wandbb")
    assert not (tmp_path / "h").exists()


def test_ingest_random_file_and_non_run_folder(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 4)
    assert_clean_error(cli(tmp_path / "h", "ingest", str(junk)), "junk.bin")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("hello")
    assert_clean_error(cli(tmp_path / "h", "ingest", str(tmp_path / "notes")), "no W&B run")


@pytest.mark.parametrize("make", ["random", "cut_to_10_bytes"])
def test_ingest_bad_wandb_file_names_the_file_and_why(tmp_path: Path, make: str) -> None:
    """A ``.wandb`` file that is not a readable W&B log is named itself, with the reason, not its folder."""
    bad = tmp_path / "garbage.wandb"
    if make == "random":
        bad.write_bytes(os.urandom(4096).replace(b":W&B", b"xxxx"))
        why = "is not a W&B transaction log"
    else:
        real = next(sorted(SAMPLES.iterdir())[0].glob("run-*.wandb"))
        bad.write_bytes(real.read_bytes()[:10])
        why = "holds no complete record"
    res = cli(tmp_path / "h", "ingest", str(bad))
    out = " ".join(res.output.split())
    assert res.exit_code != 0 and "Traceback" not in res.output, res.output
    assert f"failed: {bad}" in out and why in out, res.output
    assert "has no run-<id>.wandb file" not in out, res.output
    with Warehouse.open(tmp_path / "h", read_only=True) as wh:
        assert wh.runs().empty


def test_ingest_truncated_log_keeps_complete_records(tmp_path: Path) -> None:
    run_dir = sorted(SAMPLES.iterdir())[0]
    copy = tmp_path / "wandb" / run_dir.name
    shutil.copytree(run_dir, copy)
    log = next(copy.glob("*.wandb"))
    log.write_bytes(log.read_bytes()[: log.stat().st_size // 2])
    res = cli(tmp_path / "h", "ingest", str(tmp_path / "wandb"))
    assert res.exit_code == 0 and "truncated" in res.output, res.output
    with Warehouse.open(tmp_path / "h", read_only=True) as wh:
        runs = wh.runs()
    assert runs["state"].tolist() == ["crashed"] and runs["history_rows"][0] > 0


def _parts_complete(home: Path) -> tuple[int, list[str]]:
    with Warehouse.open(home, read_only=True) as wh:
        paths = [p for (p,) in wh.con.execute("SELECT path FROM history_parts").fetchall()]
        n = len(wh.runs())
    return n, [p for p in paths if not (home / p).exists()]


def test_ctrl_c_during_ingest_then_resume_loses_nothing(tmp_path: Path) -> None:
    home = tmp_path / "h"
    args = [str(RUNLAB), "--home", str(home), "ingest", str(SAMPLES)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "COLUMNS": "80"})
    deadline = time.monotonic() + 60
    while not (home / "catalog.duckdb").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert "Traceback" not in err, err
    assert proc.returncode in (0, 130, -signal.SIGINT), (out, err)
    if proc.returncode == 130:
        assert "run the same command again to resume" in err
    n_total = len(list(SAMPLES.iterdir()))
    again = cli(home, "ingest", str(SAMPLES))
    assert again.exit_code == 0, again.output
    n, missing = _parts_complete(home)
    assert n == n_total and missing == []
    assert "0 updated" in again.output  # resumed runs were complete: nothing rewritten


def test_rollback_after_the_transaction_ended_does_not_mask_the_interrupt(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "c.duckdb"))
    con.execute("CREATE TABLE t (x INT)")
    con.execute("BEGIN TRANSACTION")
    con.execute("INSERT INTO t VALUES (1)")
    con.execute("COMMIT")  # an interrupt arriving here used to surface as "no transaction is active"
    rollback(con)
    assert con.execute("SELECT count(*) FROM t").fetchone() == (1,)
    con.execute("BEGIN TRANSACTION")
    con.execute("INSERT INTO t VALUES (2)")
    rollback(con)
    assert con.execute("SELECT count(*) FROM t").fetchone() == (1,)


# -- names, metrics, config paths -------------------------------------------------------------------
def test_run_name_typo_and_ambiguous_name(home: Path) -> None:
    assert_clean_error(cli(home, "runs", "show", "runlab.benchmark.dqn.s9"), "no run matches", "did you mean")
    assert_clean_error(cli(home, "runs", "show", "runlab.benchmark.*"), "matches", "full run id")


def test_markup_in_a_mistyped_name_prints_literally(home: Path) -> None:
    res = cli(home, "runs", "show", "[red]nope[/red]")
    assert_clean_error(res, "'[red]nope[/red]'")


def test_metric_typo_in_export_is_an_error_with_suggestions(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "h.csv"
    res = cli(home, "export", "history", "--out", str(out), "--metrics", "overview/rewrad")
    assert_clean_error(res, "'overview/rewrad'", "did you mean", "overview/reward")
    assert not out.exists()
    res = cli(home, "export", "history", "--out", str(out), "--metrics", "eval_*/*")
    assert res.exit_code == 0 and out.exists()


def test_x_axis_typo_in_export_frame(home: Path, tmp_path: Path) -> None:
    res = cli(home, "export", "frame", "--out", str(tmp_path / "f.csv"), "--metrics", "overview/reward",
              "--x-axis", "metric/agent_stp")
    assert_clean_error(res, "x axis 'metric/agent_stp'", "metric/agent_step")


@pytest.mark.parametrize("name", ["x.xlsx", "x.json", "x"])
def test_export_unknown_format(home: Path, tmp_path: Path, name: str) -> None:
    for kind in ("history", "runs"):
        res = cli(home, "export", kind, "--out", str(tmp_path / name))
        assert_clean_error(res, ".csv or .parquet", name)
    assert list(tmp_path.iterdir()) == []


def test_config_path_typo_in_label_config_changes_nothing(scratch: Path) -> None:
    res = cli(scratch, "label", "config", "trainer.algorythm", "--column", "method")
    assert_clean_error(res, "'trainer.algorythm'", "did you mean", "trainer.algorithm")
    with Warehouse.open(scratch, read_only=True) as wh:
        assert set(wh.labels()["value"]) == {"dqn"}


def test_label_pattern_matching_nothing(scratch: Path) -> None:
    assert_clean_error(cli(scratch, "label", "pattern", "bench-*", "x"), "no run name matches", "runs list")
    assert cli(scratch, "label", "pattern", "runlab.benchmark.*", "x").exit_code == 0


def test_label_interactive_with_piped_stdin_echoes_and_reports_early_end(scratch: Path) -> None:
    res = cli(scratch, "label", "interactive", "--column", "algo", input="first\n\n")
    assert res.exit_code == 0, res.output
    assert ": first\n" in res.output and "(kept)" in res.output
    assert "input ended after 2 of 5 run(s)" in res.output and "saved 1 label change(s)" in res.output


# -- runs list in 80 columns ------------------------------------------------------------------------
def test_runs_list_fits_80_columns_with_whole_names_and_ids(home: Path) -> None:
    res = cli(home, "runs", "list")
    assert res.exit_code == 0
    lines = res.output.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80
    with Warehouse.open(home, read_only=True) as wh:
        runs = wh.runs()
    for name, run_id in zip(runs["name"], runs["run_id"], strict=True):
        row = next(line for line in lines if name in line)
        assert run_id.rsplit("/", 1)[-1] in row
        assert sum(name in line for line in lines) == 1  # one line per run: tags never wrap
    listed = [next(i for i, line in enumerate(lines) if n in line) for n in sorted(runs["name"])]
    assert listed == sorted(listed)  # sorted by name


def test_runs_list_wide_shows_full_ids_group_and_tags(home: Path) -> None:
    res = cli(home, "runs", "list", "--wide")
    assert res.exit_code == 0
    with Warehouse.open(home, read_only=True) as wh:
        runs = wh.runs()
    for run_id, group in zip(runs["run_id"], runs["group"], strict=True):
        row = next(line for line in res.output.splitlines() if run_id in line)
        assert group in row and "sb3" in row


# -- help ---------------------------------------------------------------------------------------------
def _walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    if getattr(command, "commands", None):  # a group (typer ships its own copy of click's classes)
        for name, sub in command.commands.items():
            yield from _walk(sub, (*path, name))


def test_every_command_and_option_has_help() -> None:
    root = get_command(app)
    missing: list[str] = []
    for path, command in _walk(root):
        if path and not (command.help or command.short_help):
            missing.append(" ".join(path))
        for param in command.params:
            if param.param_type_name == "option" and not param.hidden and not param.help:
                missing.append(f"{' '.join(path)} {param.opts[0]}")
            if param.param_type_name == "argument" and not getattr(param, "help", None):
                missing.append(f"{' '.join(path)} {param.name}")
    assert missing == []
    assert len(list(_walk(root))) > 20


def test_help_of_every_command_renders() -> None:
    for path, _ in _walk(get_command(app)):
        res = CliRunner().invoke(app, [*path, "--help"])
        assert res.exit_code == 0 and "Usage" in res.output, path


def test_exit_codes_survive_and_unexpected_errors_are_one_message(tmp_path: Path) -> None:
    # `cli_errors` turns unexpected exceptions into one message, but a command's own exit code stays.
    from runlab.cli._common import cli_errors

    with pytest.raises(typer.Exit) as info, cli_errors():
        raise typer.Exit(2)
    assert info.value.exit_code == 2
    with pytest.raises(typer.Exit) as info, cli_errors():
        {}["missing"]
    assert info.value.exit_code == 1
