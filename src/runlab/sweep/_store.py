"""The sweep store: sweeps and their trials in one SQL database (SQLAlchemy Core).

Why a database and not files: several workers (threads, processes, controllers on other
machines) allocate run ids and record observations at once. The store gives them three
guarantees: run ids ``<sweep>.r.<N>`` are allocated atomically (one ``UPDATE ... RETURNING``
on the sweep's counter inside a write transaction), an observation is durable the moment
:meth:`SweepStore.finish_trial` returns (a controller killed with SIGKILL right after loses
nothing), and a trial is claimed by at most one worker at a time (a conditional ``UPDATE``).

SQLite is the default (one file per sweep under the warehouse: ``<home>/sweeps/<name>/sweep.db``),
opened in WAL mode with a busy timeout so that readers never block writers. Any SQLAlchemy URL
works too (``postgresql+psycopg://...``) when controllers on several machines share one sweep.

Trial states: ``pending`` (allocated, not yet started), ``running`` (a worker holds it and
heartbeats), ``success`` / ``failure`` (finished; the observation), ``pruned`` (stopped early by a
pruner: finished, never a success; ``results['_predicted_final']`` holds the final score it was
predicted to reach, which the optimiser observes in its place), ``stale`` (its worker stopped
heartbeating or died; any controller may claim it again and resume it).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import socket
import time
import typing
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from runlab.errors import InputError, NotFoundError, WarehouseError

#: Every state a trial can be in; ``success`` and ``failure`` are final.
TRIAL_STATES: tuple[str, ...] = ("pending", "running", "success", "failure", "pruned", "stale")
FINISHED_STATES: frozenset[str] = frozenset({"success", "failure", "pruned"})
ACTIVE_STATES: frozenset[str] = frozenset({"pending", "running"})

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_SCHEMA_VERSION = 1
_DDL_LOCK_KEY = 0x72756E6C6162  # "runlab": the PostgreSQL advisory lock held while creating tables

_metadata = sa.MetaData()
_sweeps = sa.Table(
    "runlab_sweeps",
    _metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("config", sa.Text, nullable=False),
    sa.Column("command", sa.Text, nullable=True),
    sa.Column("next_index", sa.Integer, nullable=False, default=0),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("schema_version", sa.Integer, nullable=False, default=_SCHEMA_VERSION),
)
_trials = sa.Table(
    "runlab_trials",
    _metadata,
    sa.Column("run_id", sa.String(160), primary_key=True),
    sa.Column("sweep", sa.String(128), sa.ForeignKey("runlab_sweeps.name"), nullable=False),
    sa.Column("idx", sa.Integer, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("suggestion", sa.Text, nullable=False),
    sa.Column("score", sa.Float, nullable=True),
    sa.Column("cost", sa.Float, nullable=True),
    sa.Column("results", sa.Text, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("worker", sa.String(200), nullable=True),
    sa.Column("source", sa.String(300), nullable=False, default="runner"),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("started_at", sa.Float, nullable=True),
    sa.Column("heartbeat_at", sa.Float, nullable=True),
    sa.Column("finished_at", sa.Float, nullable=True),
    sa.UniqueConstraint("sweep", "idx", name="uq_runlab_trials_sweep_idx"),
    sa.Index("ix_runlab_trials_sweep_state", "sweep", "state"),
)


def check_sweep_name(name: str) -> str:
    """Sweep names become folder names and run-id prefixes: letters, digits, ``_ . -`` only."""
    if not isinstance(name, str) or not _NAME_RE.match(name) or ".." in name:
        raise InputError(
            f"sweep name must be 1-128 characters of letters, digits, '_', '.', '-' "
            f"(starting with a letter or digit, no '..'), got {name!r}",
            hint="pick a name like 'ppo_lr_2025' (it becomes a folder and the run-id prefix)",
        )
    return name


def run_id_for(sweep: str, index: int) -> str:
    """The run id of trial ``index`` of ``sweep``: ``<sweep>.r.<index>``."""
    return f"{sweep}.r.{index}"


def new_worker_id() -> str:
    """``host:pid:random`` — identifies a controller so a restarted one can tell its dead peers."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _worker_is_dead(worker: str | None) -> bool:
    """True when ``worker`` ran on this host and its process is gone (so its trials are orphans)."""
    if not worker:
        return False
    parts = worker.split(":")
    if len(parts) < 3 or parts[0] != socket.gethostname():
        return False
    try:
        pid = int(parts[1])
    except ValueError:
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    """A killed child not yet reaped still answers ``kill(pid, 0)``; /proc says it is dead."""
    with contextlib.suppress(OSError, IndexError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] == "Z"
    return False


@dataclass(frozen=True, kw_only=True)
class SweepInfo:
    """A sweep as stored: its (resolved) config and the training command last used to run it."""

    name: str
    config: dict[str, Any]
    """The sweep config as a plain nested dict (``metric``, ``goal``, ``method``, ``parameters``...)."""
    command: list[str] | None
    """The training command of the last ``sweep run`` (without overrides), if any."""
    created_at: float
    """Unix seconds."""
    num_allocated: int
    """How many run ids have been allocated (the next trial gets this index)."""


@dataclass(frozen=True, kw_only=True)
class Trial:
    """One trial of a sweep: the suggestion tried and, once finished, what came back."""

    run_id: str
    """``<sweep>.r.<index>``."""
    sweep: str
    index: int
    state: str
    """One of :data:`TRIAL_STATES`."""
    suggestion: dict[str, Any]
    """Nested parameter dict with plain Python values, as the optimiser suggested it."""
    score: float | None = None
    """The objective (finite) for ``success``; ``None`` otherwise."""
    cost: float | None = None
    """Reported cost, else wall time in seconds; may be set for failures too."""
    results: dict[str, Any] = field(default_factory=dict)
    """What the trainer reported (the results file, JSON line or W&B summary), plus metadata."""
    error: str | None = None
    """Why the trial failed (names the trial and the cause)."""
    attempts: int = 0
    """How many times the trial was started (retries and resumes count)."""
    worker: str | None = None
    source: str = "runner"
    """``runner`` for trials run here, ``wandb:<run_id>`` for observations imported from W&B."""
    created_at: float = 0.0
    started_at: float | None = None
    heartbeat_at: float | None = None
    finished_at: float | None = None

    @property
    def is_finished(self) -> bool:
        """Whether this trial is an observation (success or failure)."""
        return self.state in FINISHED_STATES


def _json_dumps(value: Any, what: str) -> str:
    try:
        return json.dumps(value, sort_keys=False, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"{what} must be JSON-serialisable (plain numbers, strings, lists, dicts), got {exc}",
            hint="convert numpy scalars with float()/int() before storing",
        ) from exc


def _finite_or_none(value: float | None, what: str) -> float | None:
    if value is None:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{what} must be a number, got {value!r}") from exc
    if not math.isfinite(out):
        raise InputError(
            f"{what} must be finite, got {out!r}",
            hint="record a non-finite objective as a failed trial (fail_trial), never as a success",
        )
    return out


class SweepStore:
    """Sweeps and trials in one database. Safe to use from many threads and processes.

    ``url`` is a SQLAlchemy URL; a plain filesystem path means a SQLite file there. Each
    process must open its own store (engines are not shared across ``fork``).
    """

    def __init__(self, url: str | Path, *, busy_timeout_s: float = 60.0) -> None:
        self.url = _normalise_url(url)
        self._engine = _make_engine(self.url, busy_timeout_s)
        with self._errors("create the sweep tables"), self._engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Two controllers starting at once would race on CREATE TABLE; serialise them.
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _DDL_LOCK_KEY})
            _metadata.create_all(conn)

    # -- plumbing ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        try:
            yield
        except sa.exc.OperationalError as exc:
            is_file = self.url.startswith("sqlite")
            raise WarehouseError(
                f"sweep store {self.url_display} could not {doing}: {exc.orig}",
                hint="check the path exists and is writable (a read-only path or full disk cannot "
                "hold a sweep), or pass another store URL" if is_file else
                "check the database server is running and reachable, and that the URL's user, "
                "password and database are right",
            ) from exc

    @property
    def url_display(self) -> str:
        """The URL with any password hidden."""
        return sa.engine.make_url(self.url).render_as_string(hide_password=True)

    @contextlib.contextmanager
    def _write(self, doing: str) -> Iterator[Connection]:
        with self._errors(doing), self._engine.begin() as conn:
            yield conn

    @contextlib.contextmanager
    def _read(self, doing: str) -> Iterator[Connection]:
        with self._errors(doing), self._engine.connect() as conn:
            conn = conn.execution_options(runlab_read_only=True)
            yield conn

    def close(self) -> None:
        """Release pooled connections (the store can be reopened by constructing it again)."""
        self._engine.dispose()

    def __enter__(self) -> SweepStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- sweeps -----------------------------------------------------------------------------
    def create_sweep(self, name: str, config: Mapping[str, Any], *, exist_ok: bool = False) -> SweepInfo:
        """Register a sweep. With ``exist_ok`` an existing sweep with the same config is returned."""
        check_sweep_name(name)
        text = _json_dumps(dict(config), f"config of sweep {name!r}")
        with self._write(f"create sweep {name!r}") as conn:
            row = conn.execute(sa.select(_sweeps).where(_sweeps.c.name == name)).first()
            if row is None:
                conn.execute(
                    sa.insert(_sweeps).values(
                        name=name, config=text, next_index=0, created_at=time.time(),
                        schema_version=_SCHEMA_VERSION,
                    )
                )
            elif not exist_ok or json.loads(row.config) != json.loads(text):
                raise InputError(
                    f"sweep {name!r} already exists in {self.url_display}"
                    + ("" if not exist_ok else " with a different config"),
                    hint="pick another name, or keep running the existing sweep with 'runlab sweep run'",
                )
        return self.get_sweep(name)

    def get_sweep(self, name: str) -> SweepInfo:
        """The sweep called ``name``; :class:`NotFoundError` if there is none."""
        with self._read(f"read sweep {name!r}") as conn:
            row = conn.execute(sa.select(_sweeps).where(_sweeps.c.name == name)).first()
        if row is None:
            raise NotFoundError(
                f"no sweep named {name!r} in {self.url_display}",
                hint=f"create it with 'runlab sweep init {name} --config sweep.yaml'",
            )
        return SweepInfo(
            name=row.name, config=json.loads(row.config),
            command=json.loads(row.command) if row.command else None,
            created_at=row.created_at, num_allocated=row.next_index,
        )

    def sweep_names(self) -> list[str]:
        """All sweeps in this store, sorted."""
        with self._read("list sweeps") as conn:
            return sorted(conn.execute(sa.select(_sweeps.c.name)).scalars())

    def set_command(self, name: str, command: list[str]) -> None:
        """Remember the training command (for ``sweep best``'s complete command)."""
        with self._write(f"update sweep {name!r}") as conn:
            res = conn.execute(
                sa.update(_sweeps).where(_sweeps.c.name == name).values(command=json.dumps(command))
            )
        if res.rowcount == 0:
            self.get_sweep(name)

    # -- trials -----------------------------------------------------------------------------
    def allocate_trial(
        self, sweep: str, suggestion: Mapping[str, Any], *, worker: str | None = None,
        source: str = "runner",
    ) -> Trial:
        """Allocate the next run id atomically and store ``suggestion`` as a trial.

        With ``worker`` the trial is created ``running`` and held by it (no other worker can
        claim it); without, it is ``pending``.
        """
        trial = self.try_allocate_trial(sweep, suggestion, limit=None, worker=worker, source=source)
        assert trial is not None  # without a limit the sweep is never full
        return trial

    def try_allocate_trial(
        self, sweep: str, suggestion: Mapping[str, Any], *, limit: int | None,
        worker: str | None = None, source: str = "runner",
    ) -> Trial | None:
        """Like :meth:`allocate_trial`, but only while the sweep holds fewer than ``limit`` trials.

        Returns ``None`` when the sweep is full. The check and the allocation are one
        conditional ``UPDATE`` of the sweep's counter, so controllers sharing a sweep never
        run more than ``limit`` trials in all, whatever the interleaving.
        """
        if limit is not None and limit < 1:
            raise InputError(f"the trial limit must be >= 1, got {limit}")
        text = _json_dumps(dict(suggestion), f"suggestion for sweep {sweep!r}")
        now = time.time()
        with self._write(f"allocate a trial of sweep {sweep!r}") as conn:
            index = self._next_index(conn, sweep, limit=limit)
            if index is None:
                return None
            run_id = run_id_for(sweep, index)
            row = conn.execute(
                sa.insert(_trials).values(
                    run_id=run_id, sweep=sweep, idx=index, suggestion=text, created_at=now,
                    state="running" if worker else "pending", worker=worker, source=source,
                    attempts=1 if worker else 0, started_at=now if worker else None,
                    heartbeat_at=now if worker else None,
                ).returning(*_trials.c)
            ).one()
        return _row_to_trial(row)

    def record_trial(
        self, sweep: str, suggestion: Mapping[str, Any], *, score: float | None, cost: float | None,
        is_failure: bool = False, results: Mapping[str, Any] | None = None, error: str | None = None,
        source: str = "import",
    ) -> Trial:
        """Store a finished observation in one transaction (used to import W&B history)."""
        text = _json_dumps(dict(suggestion), f"suggestion for sweep {sweep!r}")
        score = None if is_failure else _finite_or_none(score, f"score of a {source} trial")
        if not is_failure and score is None:
            raise InputError(f"a successful trial of sweep {sweep!r} needs a score, got None")
        now = time.time()
        with self._write(f"record a trial of sweep {sweep!r}") as conn:
            index = self._next_index(conn, sweep)
            run_id = run_id_for(sweep, index)
            conn.execute(
                sa.insert(_trials).values(
                    run_id=run_id, sweep=sweep, idx=index, suggestion=text, created_at=now,
                    state="failure" if is_failure else "success", score=score,
                    cost=_finite_or_none(cost, "cost"), results=json.dumps(dict(results or {})),
                    error=error, attempts=1, source=source, finished_at=now,
                )
            )
        return self.trial(run_id)

    @typing.overload
    def _next_index(self, conn: Connection, sweep: str, *, limit: None = None) -> int: ...
    @typing.overload
    def _next_index(self, conn: Connection, sweep: str, *, limit: int | None) -> int | None: ...

    def _next_index(self, conn: Connection, sweep: str, *, limit: int | None = None) -> int | None:
        """Take the next index; ``None`` when ``limit`` indices are already taken.

        One ``UPDATE ... RETURNING`` on the sweep's row: SQLite runs it under the write lock
        taken at ``BEGIN IMMEDIATE``; PostgreSQL row-locks the sweep and re-checks the
        ``WHERE`` after a concurrent writer commits, so the counter never passes ``limit``.
        Every trial (imported ones too) takes an index, so the counter is the sweep's size.
        """
        query = sa.update(_sweeps).where(_sweeps.c.name == sweep)
        if limit is not None:
            query = query.where(_sweeps.c.next_index < limit)
        row = conn.execute(
            query.values(next_index=_sweeps.c.next_index + 1).returning(_sweeps.c.next_index)
        ).first()
        if row is None and limit is not None and conn.execute(
            sa.select(_sweeps.c.name).where(_sweeps.c.name == sweep)
        ).first() is not None:
            return None
        if row is None:
            raise NotFoundError(
                f"no sweep named {sweep!r} in {self.url_display}",
                hint=f"create it with 'runlab sweep init {sweep} --config sweep.yaml'",
            )
        return int(row[0]) - 1

    def claim_trial(self, run_id: str, worker: str) -> bool:
        """Take a ``pending`` or ``stale`` trial for ``worker``; False if someone else got it first."""
        now = time.time()
        with self._write(f"claim trial {run_id!r}") as conn:
            res = conn.execute(
                sa.update(_trials)
                .where(_trials.c.run_id == run_id, _trials.c.state.in_(("pending", "stale")))
                .values(state="running", worker=worker, started_at=now, heartbeat_at=now,
                        attempts=_trials.c.attempts + 1, error=None)
            )
        return res.rowcount == 1

    def restart_trial(self, run_id: str, worker: str, *, error: str) -> None:
        """Count another attempt of a trial ``worker`` holds (a retry after ``error``)."""
        with self._write(f"retry trial {run_id!r}") as conn:
            conn.execute(
                sa.update(_trials)
                .where(_trials.c.run_id == run_id, _trials.c.worker == worker)
                .values(attempts=_trials.c.attempts + 1, heartbeat_at=time.time(), error=error)
            )

    def release_trials(self, run_ids: Iterable[str], worker: str) -> None:
        """Give back running trials ``worker`` holds (it is stopping): they become ``stale``."""
        ids = list(run_ids)
        with self._write("release trials") as conn:
            conn.execute(
                sa.update(_trials)
                .where(_trials.c.run_id.in_(ids), _trials.c.worker == worker,
                       _trials.c.state.in_(tuple(ACTIVE_STATES)))
                .values(state="stale")
            )

    def heartbeat(self, run_ids: Iterable[str], worker: str) -> None:
        """Tell other controllers these trials are alive (call well within the stale timeout)."""
        ids = list(run_ids)
        if not ids:
            return
        with self._write("heartbeat trials") as conn:
            conn.execute(
                sa.update(_trials)
                .where(_trials.c.run_id.in_(ids), _trials.c.worker == worker,
                       _trials.c.state == "running")
                .values(heartbeat_at=time.time())
            )

    def finish_trial(
        self, run_id: str, *, score: float, cost: float | None,
        results: Mapping[str, Any] | None = None,
    ) -> Trial:
        """Record a successful observation; durable when this returns. ``score`` must be finite."""
        score_f = _finite_or_none(score, f"score of trial {run_id!r}")
        return self._finish(run_id, state="success", score=score_f, cost=cost, results=results, error=None)

    def fail_trial(
        self, run_id: str, *, error: str, cost: float | None = None,
        results: Mapping[str, Any] | None = None,
    ) -> Trial:
        """Record a failed observation with the reason; it is never counted as a success."""
        return self._finish(run_id, state="failure", score=None, cost=cost, results=results, error=error)

    def prune_trial(
        self, run_id: str, *, predicted: float, cost: float | None, results: Mapping[str, Any] | None = None,
    ) -> Trial:
        """Record a trial stopped early; ``predicted`` (finite) is kept as ``_predicted_final`` in its
        results, its score stays empty, so it is never ranked as a success."""
        pred = _finite_or_none(predicted, f"predicted final score of trial {run_id!r}")
        merged = {**dict(results or {}), "_predicted_final": pred}
        return self._finish(run_id, state="pruned", score=None, cost=cost, results=merged, error=None)

    def _finish(
        self, run_id: str, *, state: str, score: float | None, cost: float | None,
        results: Mapping[str, Any] | None, error: str | None,
    ) -> Trial:
        cost_f = None if cost is None or not math.isfinite(float(cost)) else float(cost)
        with self._write(f"record the result of trial {run_id!r}") as conn:
            row = conn.execute(
                sa.update(_trials)
                .where(_trials.c.run_id == run_id, _trials.c.state.notin_(tuple(FINISHED_STATES)))
                .values(state=state, score=score, cost=cost_f, error=error,
                        results=json.dumps(dict(results or {}), default=str), finished_at=time.time())
                .returning(*_trials.c)
            ).first()
        if row is not None:
            return _row_to_trial(row)
        trial = self.trial(run_id)  # raises NotFoundError for an unknown run id
        raise InputError(
            f"trial {run_id!r} is already finished ({trial.state}); its observation is kept",
            hint="allocate a new trial to try the suggestion again",
        )

    def mark_stale(self, sweep: str, *, timeout_s: float) -> list[str]:
        """Mark running/pending trials whose worker died or stopped heartbeating as ``stale``.

        A worker is dead when its heartbeat is older than ``timeout_s``, or when it ran on this
        host and its process no longer exists (a controller killed with SIGKILL).
        """
        cutoff = time.time() - timeout_s
        active = [t for t in self.trials(sweep) if t.state in ACTIVE_STATES]
        stale = [
            t.run_id for t in active
            if _worker_is_dead(t.worker) or (t.heartbeat_at or t.created_at) < cutoff
        ]
        if stale:
            with self._write(f"mark stale trials of sweep {sweep!r}") as conn:
                conn.execute(
                    sa.update(_trials)
                    .where(_trials.c.run_id.in_(stale), _trials.c.state.in_(tuple(ACTIVE_STATES)))
                    .values(state="stale")
                )
        return stale

    def trial(self, run_id: str) -> Trial:
        """One trial by run id."""
        with self._read(f"read trial {run_id!r}") as conn:
            row = conn.execute(sa.select(_trials).where(_trials.c.run_id == run_id)).first()
        if row is None:
            raise NotFoundError(f"no trial {run_id!r} in {self.url_display}")
        return _row_to_trial(row)

    def trials(self, sweep: str, *, states: Iterable[str] | None = None) -> list[Trial]:
        """Trials of ``sweep`` in allocation order, optionally only those in ``states``."""
        query = sa.select(_trials).where(_trials.c.sweep == sweep).order_by(_trials.c.idx)
        if states is not None:
            wanted = tuple(states)
            bad = sorted(set(wanted) - set(TRIAL_STATES))
            if bad:
                raise InputError(f"trial states must be among {TRIAL_STATES}, got {bad}")
            query = query.where(_trials.c.state.in_(wanted))
        with self._read(f"read the trials of sweep {sweep!r}") as conn:
            return [_row_to_trial(r) for r in conn.execute(query)]


def _row_to_trial(row: Any) -> Trial:
    return Trial(
        run_id=row.run_id, sweep=row.sweep, index=row.idx, state=row.state,
        suggestion=json.loads(row.suggestion), score=row.score, cost=row.cost,
        results=json.loads(row.results) if row.results else {}, error=row.error,
        attempts=row.attempts, worker=row.worker, source=row.source, created_at=row.created_at,
        started_at=row.started_at, heartbeat_at=row.heartbeat_at, finished_at=row.finished_at,
    )


def _normalise_url(url: str | Path) -> str:
    text = str(url)
    if "://" in text:
        return text
    path = Path(text).expanduser().absolute()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WarehouseError(
            f"sweep store folder {str(path.parent)!r} cannot be created: {exc.strerror}",
            hint="choose a writable location with --home / RUNLAB_HOME, or pass --store URL",
        ) from exc
    return f"sqlite:///{path}"


def _make_engine(url: str, busy_timeout_s: float) -> Engine:
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise InputError(
            f"sweep store URL must be a SQLAlchemy URL or a file path, got {url!r}",
            hint="e.g. sqlite:////path/sweep.db or postgresql+psycopg://user@host/db",
        ) from exc
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_pre_ping=True)
    engine = sa.create_engine(
        url, connect_args={"timeout": busy_timeout_s, "check_same_thread": False}
    )
    _configure_sqlite(engine, busy_timeout_s)
    return engine


def _configure_sqlite(engine: Engine, busy_timeout_s: float) -> None:
    """WAL + busy timeout, and ``BEGIN IMMEDIATE`` for writes.

    pysqlite's own transaction handling starts transactions lazily (deferred), so two writers
    that both read first can deadlock on the lock upgrade and one fails at once instead of
    waiting. Taking the write lock at ``BEGIN`` makes concurrent writers queue on the busy
    timeout. Reads use a plain deferred ``BEGIN`` and never block writers under WAL.
    """

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        read_only = conn.get_execution_options().get("runlab_read_only", False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


__all__ = [
    "ACTIVE_STATES",
    "FINISHED_STATES",
    "TRIAL_STATES",
    "SweepInfo",
    "SweepStore",
    "Trial",
    "check_sweep_name",
    "new_worker_id",
    "run_id_for",
]
