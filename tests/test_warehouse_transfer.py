"""DuckDB version moves: the version recorded, a clear message for a newer file, export/import as Parquet,
and an older catalog migrated in place."""

from __future__ import annotations

import struct
from pathlib import Path

import duckdb
import numpy as np
import pytest
from typer.testing import CliRunner

from runlab.cli.app import app
from runlab.errors import WarehouseError
from runlab.warehouse import SCHEMA_VERSION, Warehouse


def _fill(home: Path, make_record) -> None:
    with Warehouse.open(home) as wh:
        wh.upsert_run(make_record("w:e/p/a", {"r": [(0, 1.0), (1, float("nan"))], "metric/agent_step": [(0, 5.0)]},
                                  name='=HYPERLINK("x")', config={"lr": 0.1, "nested": {"k": [1, 2]}}))
        wh.upsert_run(make_record("w:e/p/b", {"r": [(0, 2.0)]}, name="b"))
        wh.set_labels({"w:e/p/a": {"algo": "ppo"}})


def test_the_duckdb_version_is_recorded_in_meta(tmp_path: Path, make_record) -> None:
    _fill(tmp_path / "h", make_record)
    with Warehouse.open(tmp_path / "h", read_only=True) as wh:
        meta = dict(wh.con.execute("SELECT key, value FROM meta").fetchall())
    assert meta["duckdb_version"] == duckdb.__version__ == meta["duckdb_version_created"]
    assert meta["schema_version"] == str(SCHEMA_VERSION)


def _duckdb_checksum(block: bytes) -> int:
    """DuckDB's block checksum (``Checksum`` in duckdb/common/checksum.cpp): xor of word * constant."""
    words = np.frombuffer(block, dtype="<u8")
    with np.errstate(over="ignore"):
        return int(np.bitwise_xor.reduce(words * np.uint64(0xBF58476D1CE4E5B9), initial=np.uint64(5381)))


def test_a_catalog_from_a_newer_duckdb_gets_a_message_that_says_how_to_recover(tmp_path: Path,
                                                                             make_record) -> None:
    home = tmp_path / "h"
    _fill(home, make_record)
    catalog = home / "catalog.duckdb"
    data = bytearray(catalog.read_bytes())
    struct.pack_into("<Q", data, 12, 10_000)  # the main header's storage version: from the future
    struct.pack_into("<Q", data, 0, _duckdb_checksum(bytes(data[8:4096])))
    catalog.write_bytes(bytes(data))
    for read_only in (True, False):
        with pytest.raises(WarehouseError) as err:
            Warehouse.open(home, read_only=read_only)
        assert "newer than the installed DuckDB" in err.value.message
        assert duckdb.__version__ in err.value.message
        assert "runlab warehouse export" in (err.value.hint or "") and "pip install -U duckdb" in err.value.hint
        assert "permission" not in (err.value.hint or "")


def test_export_and_import_move_a_warehouse_whole(tmp_path: Path, make_record) -> None:
    src, dest, out = tmp_path / "src", tmp_path / "dest", tmp_path / "export"
    _fill(src, make_record)
    runner = CliRunner()
    res = runner.invoke(app, ["--home", str(src), "warehouse", "export", str(out)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["--home", str(dest), "warehouse", "import", str(out)])
    assert res.exit_code == 0, res.output
    assert "imported 2 run(s)" in res.output
    with Warehouse.open(src, read_only=True) as a, Warehouse.open(dest, read_only=True) as b:
        cols = ["run_id", "name", "config", "tags", "state", "history_rows", "max_step"]
        assert a.runs()[cols].to_dict("records") == b.runs()[cols].to_dict("records")
        ha, hb = a.history(), b.history()
        assert ha["step"].tolist() == hb["step"].tolist() and ha["metric"].tolist() == hb["metric"].tolist()
        np.testing.assert_array_equal(ha["value"].to_numpy(), hb["value"].to_numpy())  # NaN kept
        assert a.labels().to_dict("records") == b.labels().to_dict("records")
        assert a.metric_names().to_dict("records") == b.metric_names().to_dict("records")
    again = runner.invoke(app, ["--home", str(dest), "warehouse", "import", str(out)])
    assert again.exit_code == 1 and "already holds runs" in again.output
    wrong = runner.invoke(app, ["--home", str(tmp_path / "x"), "warehouse", "import", str(tmp_path)])
    assert wrong.exit_code == 1 and "not a runlab warehouse export" in wrong.output
    assert not (tmp_path / "x").exists()


V1_DDL = """
CREATE TABLE meta (key VARCHAR, value VARCHAR);
CREATE TABLE runs (run_id VARCHAR NOT NULL, source VARCHAR, entity VARCHAR, project VARCHAR, name VARCHAR,
    "group" VARCHAR, job_type VARCHAR, tags VARCHAR[], state VARCHAR, created_at TIMESTAMP, updated_at TIMESTAMP,
    config VARCHAR, summary VARCHAR, sweep_id VARCHAR, notes VARCHAR, origin_path VARCHAR, problems VARCHAR[],
    fingerprint VARCHAR, meta_hash VARCHAR, max_step BIGINT, history_rows BIGINT, ingested_at TIMESTAMP);
CREATE TABLE history_parts (run_id VARCHAR NOT NULL, seq INTEGER, path VARCHAR, n_rows BIGINT,
    min_step BIGINT, max_step BIGINT, x_axes VARCHAR[]);
CREATE TABLE metrics (run_id VARCHAR NOT NULL, metric VARCHAR, n_rows BIGINT, n_nonfinite BIGINT,
    min_step BIGINT, max_step BIGINT);
CREATE TABLE labels (run_id VARCHAR NOT NULL, key VARCHAR, value VARCHAR, origin VARCHAR, updated_at TIMESTAMP);
CREATE TABLE artifacts (run_id VARCHAR NOT NULL, name VARCHAR, type VARCHAR, version VARCHAR, digest VARCHAR,
    metadata VARCHAR, path VARCHAR);
CREATE TABLE run_tables (run_id VARCHAR NOT NULL, key VARCHAR, data VARCHAR);
INSERT INTO meta VALUES ('schema_version', '1');
INSERT INTO runs (run_id, source, name, state, config, summary, history_rows)
    VALUES ('w:e/p/old', 'test', 'old', 'finished', '{}', '{}', 0);
"""


def test_a_schema_1_catalog_is_read_and_migrated(tmp_path: Path, make_record) -> None:
    home = tmp_path / "h"
    home.mkdir()
    con = duckdb.connect(str(home / "catalog.duckdb"))
    con.execute(V1_DDL)
    con.close()
    with Warehouse.open(home, read_only=True) as ro:  # a reader migrates only its snapshot
        assert ro.runs()["name"].tolist() == ["old"]
        assert ro.sync_state("w:e/p/old").source_stamp == ""
    con = duckdb.connect(str(home / "catalog.duckdb"), read_only=True)
    assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall() == [("1",)]
    con.close()
    with Warehouse.open(home) as wh:
        wh.upsert_run(make_record("w:e/p/new", {"r": [(0, 1.0)]}))
        assert sorted(wh.runs()["run_id"]) == ["w:e/p/new", "w:e/p/old"]
        assert wh.con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall() == [
            (str(SCHEMA_VERSION),)]
