"""Sweep store: atomic run ids across processes, durable observations, stale trials, bad input."""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runlab.errors import InputError, NotFoundError, WarehouseError
from runlab.sweep import SweepStore

CONFIG = {"metric": "score", "goal": "maximize", "method": "random",
          "parameters": {"x": {"distribution": "uniform", "min": 0, "max": 1}}}


@pytest.fixture
def store(tmp_path: Path) -> SweepStore:
    s = SweepStore(tmp_path / "sweep.db")
    s.create_sweep("s1", CONFIG)
    yield s
    s.close()


def test_create_and_get_round_trip(store: SweepStore) -> None:
    info = store.get_sweep("s1")
    assert info.config == CONFIG
    assert info.num_allocated == 0
    assert store.sweep_names() == ["s1"]
    with pytest.raises(InputError, match="already exists"):
        store.create_sweep("s1", CONFIG)
    assert store.create_sweep("s1", CONFIG, exist_ok=True).config == CONFIG
    with pytest.raises(InputError, match="different config"):
        store.create_sweep("s1", {**CONFIG, "goal": "minimize"}, exist_ok=True)
    with pytest.raises(NotFoundError, match="no sweep named 'nope'"):
        store.get_sweep("nope")


@pytest.mark.parametrize("name", ["", "../escape", "a/b", "a b", "<script>", "x\ny", "😀", ".hidden", "a..b",
                                  "q'uote"])
def test_hostile_sweep_names_are_refused(store: SweepStore, name: str) -> None:
    with pytest.raises(InputError, match="sweep name must be"):
        store.create_sweep(name, CONFIG)
    assert store.sweep_names() == ["s1"]


def test_sqlite_runs_in_wal_mode(store: SweepStore, tmp_path: Path) -> None:
    con = sqlite3.connect(tmp_path / "sweep.db")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()


def test_trial_life_cycle(store: SweepStore) -> None:
    a = store.allocate_trial("s1", {"x": 0.25}, worker="w1")
    b = store.allocate_trial("s1", {"x": 0.75})
    assert (a.run_id, a.state, a.attempts) == ("s1.r.0", "running", 1)
    assert (b.run_id, b.state, b.attempts) == ("s1.r.1", "pending", 0)
    assert store.claim_trial(b.run_id, "w2") is True
    assert store.claim_trial(b.run_id, "w3") is False  # held by w2
    done = store.finish_trial(a.run_id, score=-2.5, cost=3.0, results={"score": -2.5})
    assert (done.state, done.score, done.cost, done.results) == ("success", -2.5, 3.0, {"score": -2.5})
    failed = store.fail_trial(b.run_id, error="trial s1.r.1: boom", cost=1.0)
    assert (failed.state, failed.score, failed.error) == ("failure", None, "trial s1.r.1: boom")
    assert [t.state for t in store.trials("s1", states=["success"])] == ["success"]
    with pytest.raises(InputError, match="trial states must be among"):
        store.trials("s1", states=["done"])


def test_non_finite_score_is_refused_and_the_trial_kept(store: SweepStore) -> None:
    t = store.allocate_trial("s1", {"x": 0.5}, worker="w")
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(InputError, match="must be finite"):
            store.finish_trial(t.run_id, score=bad, cost=1.0)
    assert store.trial(t.run_id).state == "running"


def test_a_finished_observation_is_never_overwritten(store: SweepStore) -> None:
    t = store.allocate_trial("s1", {"x": 0.5}, worker="w")
    store.finish_trial(t.run_id, score=1.0, cost=1.0)
    with pytest.raises(InputError, match="already finished"):
        store.fail_trial(t.run_id, error="late failure")
    kept = store.trial(t.run_id)
    assert (kept.state, kept.score) == ("success", 1.0)


def test_numpy_scalars_in_a_suggestion_are_refused(store: SweepStore) -> None:
    np = pytest.importorskip("numpy")
    with pytest.raises(InputError, match="JSON-serialisable"):
        store.allocate_trial("s1", {"x": np.float32(0.5)})
    assert store.trials("s1") == []


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_trials_by_heartbeat_and_by_dead_worker(store: SweepStore) -> None:
    live = store.allocate_trial("s1", {"x": 0.1}, worker=f"{socket.gethostname()}:{os.getpid()}:aa")
    dead = store.allocate_trial("s1", {"x": 0.2}, worker=f"{socket.gethostname()}:{_dead_pid()}:bb")
    remote = store.allocate_trial("s1", {"x": 0.3}, worker="elsewhere:1:cc")
    assert store.mark_stale("s1", timeout_s=60) == [dead.run_id]
    time.sleep(0.05)
    store.heartbeat([live.run_id], live.worker)  # type: ignore[list-item]
    assert store.mark_stale("s1", timeout_s=0.04) == [remote.run_id]
    assert store.trial(live.run_id).state == "running"
    assert store.claim_trial(dead.run_id, "new") and store.trial(dead.run_id).attempts == 2


def _allocate_many(url: str, n: int, queue: mp.Queue) -> None:
    s = SweepStore(url)
    queue.put([s.allocate_trial("s1", {"x": 0.5}, worker=f"p{os.getpid()}").run_id for _ in range(n)])
    s.close()


def test_concurrent_processes_never_collide(store: SweepStore, tmp_path: Path) -> None:
    ctx = mp.get_context("spawn")
    queue: mp.Queue = ctx.Queue()
    procs = [ctx.Process(target=_allocate_many, args=(str(tmp_path / "sweep.db"), 12, queue)) for _ in range(4)]
    for p in procs:
        p.start()
    ids = [rid for _ in procs for rid in queue.get(timeout=120)]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert sorted(ids, key=lambda r: int(r.rsplit(".", 1)[1])) == [f"s1.r.{i}" for i in range(48)]
    assert store.get_sweep("s1").num_allocated == 48


def test_read_only_store_fails_clearly_and_keeps_observations(store: SweepStore, tmp_path: Path) -> None:
    t = store.allocate_trial("s1", {"x": 0.5}, worker="w")
    store.finish_trial(t.run_id, score=0.7, cost=2.0)
    store.close()
    ro = SweepStore(f"sqlite:///file:{tmp_path / 'sweep.db'}?mode=ro&uri=true")
    with pytest.raises(WarehouseError, match="could not allocate a trial of sweep 's1'") as err:
        ro.allocate_trial("s1", {"x": 0.1})
    assert err.value.hint and "writable" in err.value.hint
    assert [(x.run_id, x.score) for x in ro.trials("s1")] == [("s1.r.0", 0.7)]
    ro.close()


def test_store_under_a_file_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("x")
    with pytest.raises(WarehouseError, match="cannot be created"):
        SweepStore(blocker / "sweeps" / "sweep.db")


leaf = st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-(2**53), 2**53), st.booleans(),
                 st.text(max_size=20), st.none())
tree = st.recursive(leaf, lambda kids: st.dictionaries(st.text(min_size=1, max_size=8), kids, max_size=4),
                    max_leaves=12)


@settings(max_examples=40, deadline=None)
@given(suggestion=st.dictionaries(st.text(min_size=1, max_size=8), tree, min_size=1, max_size=4),
       score=st.floats(allow_nan=False, allow_infinity=False), cost=st.floats(0.001, 1e9))
def test_suggestion_and_observation_round_trip(tmp_path_factory: pytest.TempPathFactory, suggestion: dict,
                                               score: float, cost: float) -> None:
    path = tmp_path_factory.mktemp("rt") / "sweep.db"
    with SweepStore(path) as s:
        s.create_sweep("rt", CONFIG)
        t = s.allocate_trial("rt", suggestion, worker="w")
        s.finish_trial(t.run_id, score=score, cost=cost)
    with SweepStore(path) as s:  # reopened: the observation is durable
        back = s.trial(t.run_id)
    assert (back.suggestion, back.score, back.cost, back.state) == (suggestion, score, cost, "success")
