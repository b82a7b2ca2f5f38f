"""The warehouse: a DuckDB catalog plus per-run Parquet history under one folder.

``Warehouse.open()`` is the one way in. A writable warehouse holds DuckDB's file lock, so one
process writes at a time; a second writer gets a :class:`WarehouseError` saying who holds it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from runlab.errors import InputError, NotFoundError, WarehouseError
from runlab.sources._record import RunRecord
from runlab.warehouse import _queries
from runlab.warehouse._layout import ARTIFACT_DIR, CATALOG, garbage, remove_quietly
from runlab.warehouse._read import history_sql
from runlab.warehouse._resolve import match_metrics, resolve_one, resolve_refs
from runlab.warehouse._schema import init_or_check
from runlab.warehouse._types import SyncState, UpsertResult
from runlab.warehouse._write import RunWriter

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

#: Label origins, strongest first: a manual label beats a function's, which beats a pattern's,
#: which beats one taken from the config.
LABEL_ORIGINS: tuple[str, ...] = _queries.ORIGINS


def default_home(home: Path | str | None = None) -> Path:
    """``home`` if given, else ``$RUNLAB_HOME``, else ``~/.runlab``."""
    if home is not None:
        return Path(home).expanduser()
    env = os.environ.get("RUNLAB_HOME")
    return Path(env).expanduser() if env else Path("~/.runlab").expanduser()


def _connect(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    import duckdb

    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" in text.lower():
            raise WarehouseError(
                f"the warehouse {path.parent} is in use by another process: {text}",
                hint="wait for the other runlab command to finish, or use a different --home",
            ) from exc
        raise WarehouseError(f"cannot open catalog {path}: {text}",
                             hint="check the folder's permissions and free disk space") from exc
    except duckdb.Error as exc:
        raise WarehouseError(f"cannot open catalog {path}: {exc}",
                             hint="the file may not be a DuckDB database; use another --home") from exc


class Warehouse:
    """Runs, history, labels and artifacts of one runlab home folder."""

    def __init__(self, home: Path, con: duckdb.DuckDBPyConnection, *, read_only: bool) -> None:
        self._home = home
        self._con: duckdb.DuckDBPyConnection | None = con
        self.read_only = read_only

    # -- lifecycle ----------------------------------------------------------------------------
    @classmethod
    def open(cls, home: Path | str | None = None, *, read_only: bool = False) -> Warehouse:
        """Open (creating if needed) the warehouse at ``home`` (default ``$RUNLAB_HOME`` or ``~/.runlab``)."""
        root = default_home(home)
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WarehouseError(f"cannot create warehouse folder {root}: {exc}",
                                 hint="choose a writable folder with --home or RUNLAB_HOME") from exc
        if root.exists() and not root.is_dir():
            raise WarehouseError(f"warehouse home {root} is a file, not a folder", hint="use another --home")
        path = root / CATALOG
        if read_only and not path.exists():
            cls.open(root).close()
        con = _connect(path, read_only)
        try:
            init_or_check(con, path, read_only=read_only)
        except BaseException:
            con.close()
            raise
        wh = cls(root, con, read_only=read_only)
        if not read_only:
            wh.collect_garbage()
        return wh

    @property
    def home(self) -> Path:
        """The warehouse folder."""
        return self._home

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB connection to the catalog (``home/catalog.duckdb``)."""
        if self._con is None:
            raise WarehouseError(f"warehouse {self._home} is closed", hint="open it again with Warehouse.open()")
        return self._con

    def close(self) -> None:
        """Release the catalog (and its lock)."""
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Warehouse({str(self._home)!r}, read_only={self.read_only})"

    def _writable(self) -> None:
        if self.read_only:
            raise WarehouseError(f"warehouse {self._home} was opened read-only",
                                 hint="open it with Warehouse.open(home) to write")

    # -- writing ------------------------------------------------------------------------------
    def upsert_run(self, record: RunRecord, *, force: bool = False) -> UpsertResult:
        """Store a run atomically. Same content -> ``unchanged``; an older copy never replaces a newer one.

        With ``record.history_is_partial`` the record's history holds new steps only; rows at or
        below the stored maximum step are dropped and the rest appended (``appended``).
        ``force`` rewrites even when the content or timestamps say nothing changed.
        """
        self._writable()
        if not isinstance(record, RunRecord):
            raise InputError(f"upsert_run needs a RunRecord, got {type(record).__name__}")
        if not record.run_id:
            raise InputError("run_id must be a non-empty string, got ''",
                             hint="sources must qualify ids, e.g. 'wandb:entity/project/abc123'")
        return RunWriter(self.con, self._home, record, force).run()

    def delete_run(self, ref: str) -> str:
        """Remove a run, its history, labels and artifacts; returns its run id."""
        self._writable()
        run_id = self.resolve_run(ref)
        files = [self._home / p for (p,) in self.con.execute(
            "SELECT path FROM history_parts WHERE run_id = ?", [run_id]).fetchall()]
        self.con.execute("BEGIN TRANSACTION")
        try:
            for table in ("runs", "history_parts", "metrics", "labels", "artifacts", "run_tables"):
                self.con.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        remove_quietly(files)
        self.collect_garbage()
        return run_id

    def collect_garbage(self) -> int:
        """Delete files no catalog row references (left by killed writes); returns how many."""
        self._writable()
        refs = {p for (p,) in self.con.execute("SELECT path FROM history_parts").fetchall()}
        for (p,) in self.con.execute("SELECT path FROM artifacts WHERE path <> ''").fetchall():
            parts = Path(p).parts
            if len(parts) >= 3 and parts[0] == ARTIFACT_DIR:
                refs.add(Path(*parts[:3]).as_posix())
        junk = garbage(self._home, refs)
        remove_quietly(junk)
        return len(junk)

    def set_labels(self, labels: Mapping[str, Mapping[str, Any]], origin: str = "manual", *,
                   replace_keys: Sequence[str] = ()) -> int:
        """Set labels ``{run_id: {key: value}}`` of one origin; a ``None`` value removes that label.

        ``replace_keys`` first removes every label of this origin with those keys (all runs), in
        the same transaction, so re-applying a rule leaves no stale labels. Returns the number of
        labels written. See :data:`LABEL_ORIGINS` for precedence.
        """
        self._writable()
        return _queries.set_labels(self.con, labels, origin, replace_keys=replace_keys)

    def delete_labels(self, *, run_ids: Sequence[str] | None = None, key: str | None = None,
                      origin: str | None = None) -> int:
        """Remove labels matching all given filters; returns how many were removed."""
        self._writable()
        return _queries.delete_labels(self.con, run_ids=run_ids, key=key, origin=origin)

    # -- reading ------------------------------------------------------------------------------
    def sync_state(self, run_id: str) -> SyncState | None:
        """Fingerprint, state, timestamps and extent of a stored run; ``None`` when absent."""
        return _queries.sync_state(self.con, run_id)

    def run_index(self) -> list[tuple[str, str]]:
        """``(run_id, name)`` of every run, in catalog order."""
        return [(r, n or "") for r, n in self.con.execute(
            "SELECT run_id, name FROM runs ORDER BY created_at NULLS LAST, name, run_id").fetchall()]

    def resolve_runs(self, refs: Sequence[str] | None) -> list[str]:
        """Run ids for ids, short ids, names or glob patterns (``None`` -> all runs)."""
        index = self.run_index()
        if refs is None:
            return [rid for rid, _ in index]
        if isinstance(refs, str):
            refs = [refs]
        return resolve_refs(list(refs), index)

    def resolve_run(self, ref: str) -> str:
        """The one run id ``ref`` names (full id, short id, or a unique name)."""
        return resolve_one(ref, self.run_index())

    def runs(self, run_ids: Sequence[str] | None = None) -> pd.DataFrame:
        """One row per run with nested ``config``/``summary`` dicts and a ``tags`` list."""
        return _queries.runs_frame(self.con, self._checked_ids(run_ids))

    def get_run(self, ref: str) -> dict[str, Any]:
        """Everything about one run (ref: full id, short id, or unique name), labels included."""
        run_id = self.resolve_run(ref)
        row = _queries.runs_frame(self.con, [run_id], extra=True).iloc[0].to_dict()
        lab = self.labels([run_id])
        row["labels"] = dict(zip(lab["key"], lab["value"], strict=True))
        return row

    def metric_names(self, run_ids: Sequence[str] | None = None) -> pd.DataFrame:
        """``run_id, metric, n_rows, n_nonfinite`` (plus ``min_step``, ``max_step``) per run and metric."""
        return _queries.metric_names(self.con, self._checked_ids(run_ids))

    def expand_metrics(self, metrics: Sequence[str] | str, run_ids: Sequence[str] | None = None) -> list[str]:
        """Metric names for names and globs (``env_agent/*``), against the selected runs' metrics."""
        if isinstance(metrics, str):
            metrics = [metrics]
        names = self.metric_names(run_ids)["metric"].unique().tolist()
        return match_metrics(list(metrics), names)

    def history_relation(self, run_ids: Sequence[str] | None = None, metrics: Sequence[str] | None = None,
                         *, min_step: int | None = None, x_axis: str = "_step") -> duckdb.DuckDBPyRelation:
        """Long-form history as a lazy DuckDB relation: ``run_id, step, metric, value`` (+ ``x``).

        ``metrics`` may hold globs; ``min_step`` keeps rows with ``step >= min_step``; an
        ``x_axis`` other than ``_step`` adds its value at each row as column ``x``.
        """
        return self.con.sql(self.history_query(run_ids, metrics, min_step=min_step, x_axis=x_axis))

    def history_query(self, run_ids: Sequence[str] | None = None, metrics: Sequence[str] | None = None,
                      *, min_step: int | None = None, x_axis: str = "_step") -> str:
        """The SQL text behind :meth:`history_relation`, for composing bigger queries."""
        ids = self._checked_ids(run_ids)
        files = _queries.part_files(self.con, self._home, ids)
        names = None if metrics is None else self.expand_metrics(metrics, ids)
        return history_sql(files, names, min_step=min_step, x_axis=x_axis)

    def history(self, run_ids: Sequence[str] | None = None, metrics: Sequence[str] | None = None,
                *, min_step: int | None = None, x_axis: str = "_step") -> pd.DataFrame:
        """Long-form history as pandas, ordered by run, step, metric (see :meth:`history_relation`)."""
        rel = self.history_relation(run_ids, metrics, min_step=min_step, x_axis=x_axis)
        return rel.order("run_id, step, metric").df()

    def labels(self, run_ids: Sequence[str] | None = None, *, all_origins: bool = False) -> pd.DataFrame:
        """``run_id, key, value, origin``: the winning label per (run, key), or every label."""
        return _queries.labels_frame(self.con, self._checked_ids(run_ids), all_origins=all_origins)

    def artifacts(self, run_ids: Sequence[str] | None = None) -> pd.DataFrame:
        """``run_id, name, type, version, digest, metadata, path`` (path: copied files, or empty)."""
        return _queries.artifacts_frame(self.con, self._home, self._checked_ids(run_ids))

    def tables(self, run_id: str) -> dict[str, dict[str, Any]]:
        """W&B tables stored with the run: ``key -> {"columns": [...], "data": [[...]]}``."""
        return _queries.tables(self.con, self.resolve_run(run_id))

    def _checked_ids(self, run_ids: Sequence[str] | None) -> list[str] | None:
        """Validate explicit run ids (unknown ones are an error naming them)."""
        if run_ids is None:
            return None
        if isinstance(run_ids, str):
            run_ids = [run_ids]
        ids = list(dict.fromkeys(run_ids))
        if not ids:
            return []
        known = {r for (r,) in self.con.execute(
            "SELECT run_id FROM runs WHERE list_contains(?, run_id)", [ids]).fetchall()}
        unknown = [r for r in ids if r not in known]
        if unknown:
            raise NotFoundError(
                f"unknown run id(s): {', '.join(repr(u) for u in unknown[:5])}",
                hint="pass full run ids (see `runlab runs list`), or resolve names with resolve_runs()",
            )
        return ids
