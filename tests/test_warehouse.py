"""Warehouse: upsert semantics, reads, resolution, labels, artifacts, schema, locks, crash safety."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from runlab.errors import InputError, NotFoundError, WarehouseError
from runlab.sources import ArtifactRecord
from runlab.warehouse import SCHEMA_VERSION, Warehouse
from runlab.warehouse import _write as write_mod

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def steps(n: int, f=lambda s: float(s), start: int = 0) -> list[tuple[int, float]]:
    return [(s, f(s)) for s in range(start, start + n)]


def test_add_then_unchanged_then_updated(wh, make_record):
    rec = make_record("w:e/p/a1", {"r": steps(5)}, name="a", updated_at=T0)
    assert wh.upsert_run(rec).status == "added"
    assert wh.upsert_run(rec).status == "unchanged"
    newer = make_record("w:e/p/a1", {"r": steps(8)}, name="a", updated_at=T0 + timedelta(hours=1))
    res = wh.upsert_run(newer)
    assert (res.status, res.history_rows) == ("updated", 8)
    assert wh.history()["step"].tolist() == list(range(8))
    assert len(list((wh.home / "history").rglob("*.parquet"))) == 1  # the replaced part is gone


def test_older_copy_never_replaces_newer(wh, make_record):
    wh.upsert_run(make_record("w:e/p/a", {"r": steps(8)}, updated_at=T0 + timedelta(days=1)))
    res = wh.upsert_run(make_record("w:e/p/a", {"r": steps(3)}, updated_at=T0))
    assert res.status == "unchanged" and "newer" in res.note
    assert wh.sync_state("w:e/p/a").history_rows == 8
    assert wh.upsert_run(make_record("w:e/p/a", {"r": steps(3)}, updated_at=T0), force=True).status == "updated"
    assert wh.sync_state("w:e/p/a").history_rows == 3


def test_partial_history_appends_only_new_steps(wh, make_record):
    wh.upsert_run(make_record("w:e/p/a", {"r": steps(5), "metric/agent_step": steps(5, lambda s: 10.0 * s)}))
    part = make_record("w:e/p/a", {"r": steps(6, start=3)}, history_is_partial=True)  # steps 3..8, 3 and 4 known
    res = wh.upsert_run(part)
    assert (res.status, res.new_rows, res.history_rows) == ("appended", 4, 14)
    st = wh.sync_state("w:e/p/a")
    assert (st.max_step, st.history_rows) == (8, 14)
    h = wh.history(metrics=["r"], x_axis="metric/agent_step")
    assert h["step"].tolist() == list(range(9))
    # x-axis carried over from the earlier part: last agent_step was 40 at step 4
    assert h["x"].tolist() == [0.0, 10.0, 20.0, 30.0, 40.0, 40.0, 40.0, 40.0, 40.0]
    names = wh.metric_names()
    assert names.set_index("metric").loc["r", "n_rows"] == 9
    assert wh.upsert_run(make_record("w:e/p/a", {"r": steps(2)}, history_is_partial=True)).status == "unchanged"


def test_many_appends_are_compacted(wh, make_record):
    wh.upsert_run(make_record("w:e/p/a", {"r": steps(1)}))
    for i in range(1, write_mod.MAX_PARTS + 3):
        wh.upsert_run(make_record("w:e/p/a", {"r": [(i, float(i))]}, history_is_partial=True))
    parts = wh.con.execute("SELECT count(*) FROM history_parts").fetchall()[0][0]
    assert parts <= write_mod.MAX_PARTS
    assert wh.history()["step"].tolist() == list(range(write_mod.MAX_PARTS + 3))


def test_history_filters_and_x_axes(wh, make_record):
    wh.upsert_run(make_record("w:e/p/a", {
        "losses/pi": steps(4), "losses/v": steps(4), "overview/reward": steps(4, lambda s: s * 2.0),
        "metric/agent_step": [(1, 100.0), (3, 300.0)], "custom/x": [(0, 5.0), (2, 7.0)],
    }))
    h = wh.history(metrics=["losses/*"], min_step=2)
    assert sorted(h["metric"].unique()) == ["losses/pi", "losses/v"] and h["step"].min() == 2
    h = wh.history(metrics=["overview/reward"], x_axis="metric/agent_step")
    assert h["x"].isna().tolist() == [True, False, False, False]  # nothing logged before step 1
    assert h["x"].tolist()[1:] == [100.0, 100.0, 300.0]
    h = wh.history(metrics=["overview/reward"], x_axis="custom/x")  # not a stored axis: same-step join
    assert h.sort_values("step")["x"].tolist()[0] == 5.0 and math.isnan(h.sort_values("step")["x"].tolist()[1])
    rel = wh.history_relation(metrics=["overview/reward"])
    assert rel.aggregate("sum(value)").fetchall()[0][0] == 12.0
    assert wh.history(metrics=["nope"]).empty


def test_nonfinite_values_are_kept_and_counted(wh, make_record):
    wh.upsert_run(make_record("w:e/p/a", {"bad": [(0, math.nan), (1, math.inf), (2, -math.inf), (3, 1.0)]}))
    h = wh.history()
    v = h["value"].tolist()
    assert math.isnan(v[0]) and v[1] == math.inf and v[2] == -math.inf and v[3] == 1.0
    assert wh.metric_names()["n_nonfinite"].tolist() == [3]


def test_wide_empty_and_summary_only_runs(wh, make_record):
    wide = {f"env_agent/m{k:04d}.std_dev": [(0, float(k)), (1, float(k))] for k in range(1200)}
    wh.upsert_run(make_record("w:e/p/wide", wide, name="wide"))
    wh.upsert_run(make_record("w:e/p/empty", name="empty"))
    wh.upsert_run(make_record("w:e/p/summ", name="summ", summary={"score": 3.5, "nan": math.nan}))
    assert len(wh.metric_names(["w:e/p/wide"])) == 1200
    assert wh.history(["w:e/p/empty"]).empty
    runs = wh.runs().set_index("name")
    assert runs.loc["empty", "history_rows"] == 0
    assert math.isnan(runs.loc["summ", "summary"]["nan"]) and runs.loc["summ", "summary"]["score"] == 3.5
    assert len(wh.history(metrics=["env_agent/*"])) == 2400


def test_runs_frame_fields(wh, make_record):
    cfg = {"trainer": {"optimizer": {"lr": 3e-4}}, "seed": 1}
    wh.upsert_run(make_record("wandb:e/p/abc", {"r": steps(2)}, name="n", group="g", job_type="train",
                              tags=["t1", "t2"], state="finished", created_at=T0, config=cfg, sweep_id="sw",
                              notes="hi"))
    row = wh.runs().iloc[0]
    assert row["config"] == cfg and row["tags"] == ["t1", "t2"] and row["created_at"] == T0
    for col in ("run_id", "source", "entity", "project", "name", "group", "job_type", "tags", "state",
                "created_at", "updated_at", "config", "summary", "sweep_id", "notes", "history_rows"):
        assert col in row.index


def test_resolution_by_id_short_id_name_glob(wh, make_record):
    for rid, name in [("wandb:e/p/aaa", "base_1"), ("wandb:e/p/bbb", "base_2"), ("wandb:e/p/ccc", "dup"),
                      ("wandb:e/p/ddd", "dup")]:
        wh.upsert_run(make_record(rid, name=name))
    assert wh.get_run("aaa")["name"] == "base_1"
    assert wh.get_run("base_2")["run_id"] == "wandb:e/p/bbb"
    assert wh.get_run("wandb:e/p/ccc")["name"] == "dup"
    with pytest.raises(InputError, match="matches 2 runs"):
        wh.get_run("dup")
    with pytest.raises(NotFoundError) as err:
        wh.get_run("base_3")
    assert "base_" in (err.value.hint or "")
    assert wh.resolve_runs(["base_*"]) == ["wandb:e/p/aaa", "wandb:e/p/bbb"]
    assert set(wh.resolve_runs(["dup"])) == {"wandb:e/p/ccc", "wandb:e/p/ddd"}
    assert len(wh.resolve_runs(None)) == 4
    with pytest.raises(NotFoundError):
        wh.history(["wandb:e/p/zzz"])


def test_labels_precedence_and_removal(wh, make_record):
    wh.upsert_run(make_record("w:e/p/a"))
    wh.set_labels({"w:e/p/a": {"method": "from-config"}}, origin="config")
    wh.set_labels({"w:e/p/a": {"method": "from-pattern"}}, origin="pattern")
    assert wh.labels()["value"].tolist() == ["from-pattern"]
    wh.set_labels({"w:e/p/a": {"method": "mine"}}, origin="manual")
    assert wh.labels()[["value", "origin"]].values.tolist() == [["mine", "manual"]]
    assert len(wh.labels(all_origins=True)) == 3
    wh.set_labels({"w:e/p/a": {"method": None}}, origin="manual")
    assert wh.labels()["value"].tolist() == ["from-pattern"]
    with pytest.raises(InputError, match="origin"):
        wh.set_labels({"w:e/p/a": {"k": "v"}}, origin="magic")
    with pytest.raises(NotFoundError):
        wh.set_labels({"w:e/p/nope": {"k": "v"}})


def test_artifacts_are_copied_without_path_traversal(wh, make_record, tmp_path):
    src = tmp_path / "payload.json"
    src.write_text('{"a": 1}')
    art = ArtifactRecord(name="env_configs", type="environment_configs", version="v0", digest="d1",
                         metadata={"epochs": 3},
                         files={"../../escape.json": str(src), "ok/inner.json": str(src),
                                "gone.json": str(tmp_path / "missing")})
    wh.upsert_run(make_record("w:e/p/a", artifacts=[art], tables={"eval/t": {"columns": ["x"], "data": [[1]]}}))
    arts = wh.artifacts()
    folder = Path(arts.loc[0, "path"])
    assert folder.is_relative_to(wh.home / "artifacts")
    copied = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert copied == ["escape.json", "ok/inner.json"]
    assert arts.loc[0, "metadata"] == {"epochs": 3}
    assert wh.tables("w:e/p/a") == {"eval/t": {"columns": ["x"], "data": [[1]]}}


def test_newer_schema_version_is_refused(tmp_path):
    home = tmp_path / "h"
    Warehouse.open(home).close()
    con = duckdb.connect(str(home / "catalog.duckdb"))
    con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION + 1)])
    con.close()
    with pytest.raises(WarehouseError, match="schema version") as err:
        Warehouse.open(home)
    assert "upgrade" in (err.value.hint or "")


def test_foreign_duckdb_file_is_refused(tmp_path):
    (tmp_path / "h").mkdir()
    con = duckdb.connect(str(tmp_path / "h" / "catalog.duckdb"))
    con.execute("CREATE TABLE other (x INT)")
    con.close()
    with pytest.raises(WarehouseError, match="not a runlab catalog"):
        Warehouse.open(tmp_path / "h")


def test_read_only_on_new_home_and_no_writes(tmp_path, make_record):
    with Warehouse.open(tmp_path / "new", read_only=True) as ro:
        assert ro.runs().empty
        with pytest.raises(WarehouseError, match="read-only"):
            ro.upsert_run(make_record("w:e/p/a"))


def test_crash_mid_write_keeps_previous_state_and_rerun_resumes(tmp_path, make_record, monkeypatch):
    home = tmp_path / "h"
    with Warehouse.open(home) as wh:
        wh.upsert_run(make_record("w:e/p/a", {"r": steps(3)}, updated_at=T0))
    newer = make_record("w:e/p/a", {"r": steps(6)}, updated_at=T0 + timedelta(hours=1))

    def boom(self, *args, **kwargs):
        raise KeyboardInterrupt  # like Ctrl-C between the file writes and the catalog commit

    monkeypatch.setattr(write_mod.RunWriter, "_insert_metrics", boom)
    with Warehouse.open(home) as wh, pytest.raises(KeyboardInterrupt):
        wh.upsert_run(newer)
    monkeypatch.undo()
    with Warehouse.open(home) as wh:
        assert wh.history()["step"].tolist() == [0, 1, 2]
        assert len(list((home / "history").rglob("*.parquet"))) == 1
        assert wh.upsert_run(newer).status == "updated"
        assert wh.history()["step"].tolist() == list(range(6))


def test_orphan_files_are_ignored_and_collected(tmp_path, make_record):
    home = tmp_path / "h"
    with Warehouse.open(home) as wh:
        wh.upsert_run(make_record("w:e/p/a", {"r": steps(3)}))
    part = next((home / "history").rglob("*.parquet"))
    orphan = part.with_name("part-0099-deadbeef.parquet")
    orphan.write_bytes(part.read_bytes())  # a finished file the catalog never recorded
    tmp = part.with_name(".tmp-123-part.parquet")
    tmp.write_bytes(b"half a file")
    with Warehouse.open(home, read_only=True) as ro:
        assert len(ro.history()) == 3  # orphans never read
    with Warehouse.open(home) as wh:
        assert not orphan.exists() and not tmp.exists() and part.exists()
        assert len(wh.history()) == 3


def test_delete_run_removes_everything(wh, make_record):
    wh.upsert_run(make_record("w:e/p/a", {"r": steps(3)}, name="gone"))
    wh.set_labels({"w:e/p/a": {"k": "v"}})
    assert wh.delete_run("gone") == "w:e/p/a"
    assert wh.runs().empty and wh.labels().empty
    assert not list((wh.home / "history").rglob("*.parquet"))


def test_bad_history_is_rejected_with_a_clear_message(wh, make_record):
    import pyarrow as pa

    rec = make_record("w:e/p/a")
    rec.history = pa.table({"step": [1], "value": [1.0]})
    with pytest.raises(InputError, match="missing"):
        wh.upsert_run(rec)
    assert wh.runs().empty
