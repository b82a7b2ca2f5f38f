"""`Warehouse.ingest`: every item a source yields is accounted for once; failures are data; progress is a callback."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import record
from runlab.errors import InputError, WarehouseError
from runlab.sources import RecordBatch, RunFailure, RunUnchanged, SyncState
from runlab.warehouse import Warehouse

# An item: a record of run `a`..`c` whose history is 1..3 steps (so re-sending a run may or may not
# change it), a failure, or a run the source skipped.
ITEM = st.one_of(
    st.tuples(st.just("record"), st.sampled_from("abc"), st.integers(1, 3)),
    st.tuples(st.just("failure"), st.sampled_from("abc"), st.just(0)),
    st.tuples(st.just("skipped"), st.sampled_from("abc"), st.just(0)),
)


def _item(kind: str, key: str, n: int):
    run_id = f"t:e/p/{key}"
    if kind == "record":
        return record(run_id, {"r": [(s, float(s)) for s in range(n)]}, name=key)
    if kind == "failure":
        return RunFailure(run_id, key, "ValueError: cannot read", origin=f"/runs/{key}")
    return RunUnchanged(run_id, key)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=st.lists(ITEM, max_size=7))
def test_every_item_is_accounted_for_once_as_a_model_says(spec) -> None:
    """Statuses follow a reference model: new id -> added, same content -> unchanged, else updated."""
    items = [_item(*s) for s in spec]
    stored: dict[str, int] = {}
    expected = {"added": [], "updated": [], "unchanged": []}
    for kind, key, n in spec:
        rid = f"t:e/p/{key}"
        if kind == "skipped":
            expected["unchanged"].append(rid)
        elif kind == "record":
            expected["added" if key not in stored else "unchanged" if stored[key] == n else "updated"].append(rid)
            stored[key] = n
    calls: list[tuple[int, int]] = []
    with tempfile.TemporaryDirectory() as home, Warehouse.open(home) as wh:
        report = wh.ingest(RecordBatch(iter(items), total=len(items)), on_progress=lambda d, t: calls.append((d, t)))
        assert sorted(report.added) == sorted(expected["added"])
        assert sorted(report.updated) == sorted(expected["updated"])
        assert sorted(report.unchanged) == sorted(expected["unchanged"])
        assert [f.origin for f in report.failures] == [f"/runs/{k}" for kind, k, _ in spec if kind == "failure"]
        assert len(report.results) + len(report.skipped) + len(report.failures) == len(items)
        assert calls == [(i, len(items)) for i in range(1, len(items) + 1)]
        assert {r: h for r, h in zip(wh.runs()["run_id"], wh.runs()["history_rows"], strict=True)} == {
            f"t:e/p/{k}": n for k, n in stored.items()
        }


def test_a_run_that_cannot_be_stored_is_a_failure_and_the_next_is_stored(wh) -> None:
    bad = record("", {"r": [(0, 1.0)]}, name="no id", origin_path="/runs/bad")
    good = record("t:e/p/good", {"r": [(0, 1.0)]}, name="good")
    report = wh.ingest([bad, good])
    assert report.added == ["t:e/p/good"]
    (failure,) = report.failures
    assert failure.origin == "/runs/bad" and "storing failed: InputError" in failure.error
    assert not report.ok
    assert report.summary() == "1 added, 0 updated, 0 appended, 0 unchanged, 1 failed"


def test_plain_lists_and_generators_have_no_batch_length(wh) -> None:
    calls: list[tuple[int, int]] = []
    wh.ingest((record(f"t:e/p/{k}", {"r": [(0, 1.0)]}) for k in "ab"), on_progress=lambda d, t: calls.append((d, t)))
    assert calls == [(1, 0), (2, 0)]  # total 0: unknown


def test_a_source_stopped_by_an_error_is_closed_and_what_was_stored_stays(wh) -> None:
    closed: list[bool] = []

    def source() -> Iterator[object]:
        try:
            yield record("t:e/p/a", {"r": [(0, 1.0)]})
            yield "not an item"
            yield record("t:e/p/b", {"r": [(0, 1.0)]})
        finally:
            closed.append(True)

    with pytest.raises(InputError, match="got str"):
        wh.ingest(source())  # type: ignore[arg-type]
    assert closed == [True]
    assert wh.runs()["run_id"].tolist() == ["t:e/p/a"]


def test_a_read_only_warehouse_reads_nothing_from_the_source(tmp_path) -> None:
    Warehouse.open(tmp_path / "h").close()
    pulled: list[int] = []

    def source() -> Iterator[object]:
        pulled.append(1)
        yield record("t:e/p/a", {"r": [(0, 1.0)]})

    with Warehouse.open(tmp_path / "h", read_only=True) as ro, pytest.raises(WarehouseError, match="read-only"):
        ro.ingest(source())  # type: ignore[arg-type]
    assert pulled == []


def test_sync_state_is_what_a_source_compares_against(wh) -> None:
    from runlab.sources import ArtifactRecord

    rec = record("t:e/p/a", {"r": [(0, 1.0), (4, 2.0)], "metric/agent_step": [(0, 0.0)]}, name="n", group="g",
                 tags=["x", "y"], state="running",
                 artifacts=[ArtifactRecord(name="env", type="environment_configs", version="v1", digest="d1")])
    wh.ingest([rec])
    st_ = wh.sync_state("t:e/p/a")
    assert isinstance(st_, SyncState)
    assert (st_.name, st_.group, st_.tags, st_.state, st_.max_step, st_.history_rows) == (
        "n", "g", ("x", "y"), "running", 4, 3)
    assert st_.metrics == frozenset({"r", "metric/agent_step"})
    assert st_.artifacts == frozenset({rec.artifacts[0].key}) == frozenset({("env", "v1", "d1")})
    assert st_.fingerprint == rec.fingerprint()
    assert wh.sync_state("t:e/p/none") is None


def test_new_metadata_without_new_steps_is_an_update_not_an_append(wh) -> None:
    wh.ingest([record("t:e/p/a", {"r": [(0, 1.0), (1, 2.0)]}, state="running")])
    refresh = record("t:e/p/a", {}, state="finished", history_is_partial=True)
    report = wh.ingest([refresh])
    assert (report.updated, report.appended) == (["t:e/p/a"], [])
    assert wh.sync_state("t:e/p/a").state == "finished"
    assert wh.sync_state("t:e/p/a").history_rows == 2
