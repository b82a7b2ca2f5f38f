"""Sweep store: atomic run ids across processes, durable observations, stale trials, bad input.

The behaviour tests run against every backend: SQLite (the default) and PostgreSQL (a throwaway
cluster started from the local ``initdb``/``pg_ctl``; skipped with the reason when absent).
"""

from __future__ import annotations

import itertools
import math
import multiprocessing as mp
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runlab.errors import InputError, NotFoundError, WarehouseError
from runlab.sweep import SweepStore

CONFIG = {"metric": "score", "goal": "maximize", "method": "random",
          "parameters": {"x": {"distribution": "uniform", "min": 0, "max": 1}}}
BACKENDS = ("sqlite", "postgresql")
_PG_BIN_DIRS = ("/usr/local/bin", "/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin")


def _pg_tool(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    return next((str(Path(d) / name) for d in _PG_BIN_DIRS if (Path(d) / name).exists()), None)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on 127.0.0.1; yields the server URL without a database.

    PostgreSQL refuses to run as root, so under root the cluster belongs to ``nobody`` and lives
    in a fresh folder under the system temp dir (pytest's own temp root is private to root).
    Durability is switched off: the cluster is deleted after the session.
    """
    initdb, pg_ctl = _pg_tool("initdb"), _pg_tool("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL tests need the initdb and pg_ctl binaries (PostgreSQL >= 13) on PATH")
    pytest.importorskip("psycopg", reason="PostgreSQL tests need the psycopg driver: pip install 'psycopg[binary]'")
    base = Path(tempfile.mkdtemp(prefix="runlab-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(base, "nobody")
        as_user = ["runuser", "-u", "nobody", "--"]
    data = base / "data"

    def run(*args: str) -> None:
        proc = subprocess.run([*as_user, *args], cwd=base, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            log = (base / "server.log").read_text() if (base / "server.log").exists() else ""
            raise RuntimeError(f"{args[0]} failed ({proc.returncode}): {proc.stderr}{proc.stdout}\n{log}")

    run(initdb, "-D", str(data), "-A", "trust", "-U", "runlab", "-E", "UTF8", "--no-sync")
    port = 0
    for _attempt in range(3):  # another process may take the free port before the server binds it
        port = _free_port()
        options = (f"-c listen_addresses=127.0.0.1 -p {port} -k {base} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        try:
            run(pg_ctl, "-D", str(data), "-l", str(base / "server.log"), "-w", "-t", "60", "-o", options, "start")
            break
        except RuntimeError:
            if _attempt == 2:
                raise
    try:
        yield f"postgresql+psycopg://runlab@127.0.0.1:{port}"
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], cwd=base,
                       capture_output=True, timeout=60, check=False)
        shutil.rmtree(base, ignore_errors=True)


_db_counter = itertools.count()


def new_database(server_url: str) -> str:
    """Create an empty database on the server and return its SQLAlchemy URL."""
    import psycopg

    name = f"t{os.getpid()}_{next(_db_counter)}"
    dsn = server_url.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    return f"{server_url}/{name}"


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty store of each backend: a SQLite file path, or a fresh PostgreSQL database URL."""
    if request.param == "sqlite":
        return str(tmp_path / "sweep.db")
    return new_database(request.getfixturevalue("postgres_server"))


@pytest.fixture(scope="session", params=BACKENDS)
def session_store_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """One store per backend for the whole session (for hypothesis tests, which need no function fixtures)."""
    if request.param == "sqlite":
        return str(tmp_path_factory.mktemp("store") / "sweep.db")
    return new_database(request.getfixturevalue("postgres_server"))


@pytest.fixture
def store(store_url: str) -> Iterator[SweepStore]:
    s = SweepStore(store_url)
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


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    SweepStore(tmp_path / "sweep.db").close()
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


def test_allocation_stops_at_the_limit(store: SweepStore) -> None:
    store.record_trial("s1", {"x": 0.9}, score=1.0, cost=1.0)  # imported trials count towards the total
    got = [store.try_allocate_trial("s1", {"x": 0.5}, limit=3, worker="w") for _ in range(4)]
    assert [t.run_id if t else None for t in got] == ["s1.r.1", "s1.r.2", None, None]
    assert store.get_sweep("s1").num_allocated == 3 and len(store.trials("s1")) == 3
    assert store.try_allocate_trial("s1", {"x": 0.5}, limit=4) is not None  # a larger budget goes on
    with pytest.raises(NotFoundError, match="no sweep named 'nope'"):
        store.try_allocate_trial("nope", {"x": 0.5}, limit=3)
    with pytest.raises(InputError, match="limit must be >= 1, got 0"):
        store.try_allocate_trial("s1", {"x": 0.5}, limit=0)


def _allocate_until_full(url: str, limit: int, barrier: object, queue: mp.Queue) -> None:
    s = SweepStore(url)
    barrier.wait(timeout=60)  # type: ignore[attr-defined]
    mine = []
    while (t := s.try_allocate_trial("s1", {"x": 0.5}, limit=limit, worker=f"p{os.getpid()}")) is not None:
        mine.append(t.run_id)
    queue.put(mine)
    s.close()


def test_concurrent_processes_never_collide_nor_pass_the_limit(store: SweepStore) -> None:
    ctx = mp.get_context("spawn")
    queue: mp.Queue = ctx.Queue()
    barrier = ctx.Barrier(3)  # all start allocating together, so they contend for every index
    procs = [ctx.Process(target=_allocate_until_full, args=(store.url, 40, barrier, queue)) for _ in range(3)]
    for p in procs:
        p.start()
    ids = [rid for _ in procs for rid in queue.get(timeout=120)]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert sorted(ids, key=lambda r: int(r.rsplit(".", 1)[1])) == [f"s1.r.{i}" for i in range(40)]
    assert len(store.trials("s1")) == 40 and store.get_sweep("s1").num_allocated == 40


def test_read_only_store_fails_clearly_and_keeps_observations(tmp_path: Path) -> None:
    store = SweepStore(tmp_path / "sweep.db")
    store.create_sweep("s1", CONFIG)
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
def test_suggestion_and_observation_round_trip(session_store_url: str, suggestion: dict, score: float,
                                               cost: float) -> None:
    name = f"rt{next(_db_counter)}"
    with SweepStore(session_store_url) as s:
        s.create_sweep(name, CONFIG)
        t = s.allocate_trial(name, suggestion, worker="w")
        s.finish_trial(t.run_id, score=score, cost=cost)
    with SweepStore(session_store_url) as s:  # reopened: the observation is durable
        back = s.trial(t.run_id)
    assert (back.suggestion, back.score, back.cost, back.state) == (suggestion, score, cost, "success")
