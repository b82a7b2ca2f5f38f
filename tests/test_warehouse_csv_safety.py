"""CSV cells never carry formulas (OWASP CSV injection); Parquet exports stay exact."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from runlab.cli.app import app
from runlab.csvsafe import FORMULA_START, neutralise_cell, neutralise_frame
from runlab.warehouse import Warehouse

HOSTILE = '=HYPERLINK("http://x","click")'
OTHERS = ["+cmd|' /C calc'!A0", "-2+3", "@SUM(1,1)", "\tTAB", "\rCR", "plain", "a=b"]


def _cells(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8") as fh:
        return [cell for row in csv.reader(fh) for cell in row]


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _unsafe(cells: list[str]) -> list[str]:
    """Text cells a spreadsheet would run (a negative number is a number, not a formula)."""
    return [c for c in cells if c.startswith(FORMULA_START) and not _is_number(c)]


@given(st.text())
def test_a_neutralised_cell_never_starts_a_formula_and_keeps_its_text(text: str) -> None:
    out = neutralise_cell(text)
    assert not out.startswith(FORMULA_START)
    assert out == text or out == "'" + text
    assert (out != text) == text.startswith(FORMULA_START)


@given(st.one_of(st.integers(), st.floats(allow_nan=False), st.none(), st.booleans()))
def test_non_text_cells_pass_unchanged(value) -> None:
    assert neutralise_cell(value) is value


def test_a_frame_is_neutralised_in_cells_and_column_names_not_numbers() -> None:
    frame = pd.DataFrame({"=bad": [HOSTILE, "ok"], "n": [-1.5, 2.0]})
    out = neutralise_frame(frame)
    assert list(out.columns) == ["'=bad", "n"]
    assert out["'=bad"].tolist() == ["'" + HOSTILE, "ok"]
    assert out["n"].tolist() == [-1.5, 2.0]
    assert frame.columns[0] == "=bad"  # the caller's frame is untouched


def test_exports_neutralise_csv_and_keep_parquet_exact(tmp_path: Path, make_record) -> None:
    home = tmp_path / "h"
    names = [HOSTILE, *OTHERS]
    with Warehouse.open(home) as wh:
        for i, name in enumerate(names):
            wh.upsert_run(make_record(f"w:e/p/r{i}", {"=metric": [(0, -1.0)], "ok": [(0, 1.0)]}, name=name,
                                      config={"task": name}))
    runner = CliRunner()
    for what in ("history", "runs"):
        for suffix in ("csv", "parquet"):
            out = tmp_path / f"{what}.{suffix}"
            res = runner.invoke(app, ["--home", str(home), "export", what, "--out", str(out)])
            assert res.exit_code == 0, res.output
    for what in ("history", "runs"):
        cells = _cells(tmp_path / f"{what}.csv")
        assert not _unsafe(cells), _unsafe(cells)
        assert "'" + HOSTILE in cells and "plain" in cells and "a=b" in cells
    hist = pd.read_parquet(tmp_path / "history.parquet")
    assert set(hist["run_name"]) == set(names) and set(hist["metric"]) == {"=metric", "ok"}
    assert set(hist["value"]) == {-1.0, 1.0}
    runs = pd.read_parquet(tmp_path / "runs.parquet")
    assert set(runs["name"]) == set(names) and set(runs["config.task"]) == set(names)
    csv_hist = pd.read_csv(tmp_path / "history.csv")
    assert set(csv_hist["value"]) == {-1.0, 1.0}  # numbers stay numbers


def test_env_config_csv_export_uses_the_same_rule() -> None:
    from runlab import envconfig

    assert envconfig.neutralise_cell is neutralise_cell
