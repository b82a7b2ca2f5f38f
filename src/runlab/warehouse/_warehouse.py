"""The warehouse: a DuckDB catalog plus per-run Parquet history under one folder.

``Warehouse.open()`` is the one way in. No Warehouse holds the catalog file between calls
(:mod:`._catalog`): readers work on a snapshot renewed after every commit, writers take the
file for one run's commit at a time and queue behind each other on a lock file, so a notebook
can read while an ingest runs and an ingest can write while a notebook is open.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from runlab.errors import InputError, NotFoundError, WarehouseError
from runlab.sources import RunRecord, SourceItem, SyncState
from runlab.warehouse import _ingest, _queries
from runlab.warehouse._catalog import Catalog
from runlab.warehouse._ingest import IngestReport
from runlab.warehouse._layout import ARTIFACT_DIR, CATALOG, garbage, remove_quietly
from runlab.warehouse._read import history_sql
from runlab.warehouse._resolve import match_metrics, resolve_one, resolve_refs
from runlab.warehouse._schema import SCHEMA_VERSION, init_or_check
from runlab.warehouse._types import UpsertResult
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


log = logging.getLogger("runlab.warehouse")


class Warehouse:
    """Runs, history, labels and artifacts of one runlab home folder."""

    def __init__(self, home: Path, catalog: Catalog, *, read_only: bool) -> None:
        self._home = home
        self._catalog: Catalog | None = catalog
        self.read_only = read_only

    # -- lifecycle ----------------------------------------------------------------------------
    @classmethod
    def open(cls, home: Path | str | None = None, *, read_only: bool = False, wait: float = 60.0,
             on_wait: Callable[[str], None] | None = None) -> Warehouse:
        """Open (creating if needed) the warehouse at ``home`` (default ``$RUNLAB_HOME`` or ``~/.runlab``).

        Opening holds nothing: readers and writers in other processes go on working (see
        :mod:`runlab.warehouse._catalog`). ``wait`` bounds how long one access waits while another
        process briefly holds the catalog file; ``on_wait(message)`` is told when a write has to
        queue behind another process's write (default: a logged warning).
        """
        root = default_home(home)
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WarehouseError(f"cannot create warehouse folder {root}: {exc}",
                                 hint="choose a writable folder with --home or RUNLAB_HOME") from exc
        if root.exists() and not root.is_dir():
            raise WarehouseError(f"warehouse home {root} is a file, not a folder", hint="use another --home")
        path = root / CATALOG
        catalog = Catalog(root, path, wait=wait, on_wait=on_wait or log.warning)
        try:
            if not read_only or not path.exists():
                with catalog.writer():
                    with catalog.attached(write=True) as con:
                        changed = init_or_check(con, path, read_only=False)
                    if changed:
                        catalog.committed(_commit_info())
            wh = cls(root, catalog, read_only=read_only)
            wh.refresh()
            if not read_only:
                wh.collect_garbage()
        except BaseException:
            catalog.close()
            raise
        return wh

    @property
    def home(self) -> Path:
        """The warehouse folder."""
        return self._home

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The query connection: an in-memory DuckDB holding the last committed catalog tables.

        It is renewed when another process (or this one) commits, and never holds the catalog
        file, so a long-lived reader blocks no writer. History SQL runs here over Parquet.
        """
        cat = self._open_catalog()
        if cat.stale():
            self.refresh()
        return cat.con

    def refresh(self) -> None:
        """Renew the snapshot of the catalog now (reads do this on their own after a commit)."""
        cat = self._open_catalog()
        cat.snapshot(after_copy=lambda con: init_or_check(con, cat.path, read_only=True))

    @property
    def on_wait(self) -> Callable[[str], None] | None:
        """Called with a message when a write queues behind another process's write."""
        return self._open_catalog().on_wait

    @on_wait.setter
    def on_wait(self, callback: Callable[[str], None] | None) -> None:
        self._open_catalog().on_wait = callback or log.warning

    def _open_catalog(self) -> Catalog:
        if self._catalog is None:
            raise WarehouseError(f"warehouse {self._home} is closed", hint="open it again with Warehouse.open()")
        return self._catalog

    def close(self) -> None:
        """Release the query connection (the catalog file is never held between calls)."""
        if self._catalog is not None:
            self._catalog.close()
            self._catalog = None

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Warehouse({str(self._home)!r}, read_only={self.read_only})"

    @contextlib.contextmanager
    def _writing(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The writer lock and the catalog attached read-write for one change; the commit is announced."""
        self._writable()
        cat = self._open_catalog()
        with cat.writer():
            with cat.attached(write=True) as con:
                yield con
            cat.committed(_commit_info())

    def _writable(self) -> None:
        if self.read_only:
            raise WarehouseError(f"warehouse {self._home} was opened read-only",
                                 hint="open it with Warehouse.open(home) to write")

    # -- writing ------------------------------------------------------------------------------
    def ingest(self, records: Iterable[SourceItem], *, force: bool = False,
               on_progress: Callable[[int, int], None] | None = None) -> IngestReport:
        """Store what a source yields, one record at a time; returns what happened to each run.

        ``records`` is a source's batch (``WandBOfflineReader(paths).records()``,
        ``WandBCollector(selection).records(known=wh.sync_state)``) or any iterable of
        :class:`~runlab.sources.RunRecord`, :class:`~runlab.sources.RunUnchanged` and
        :class:`~runlab.sources.RunFailure` items. Each record is stored (see :meth:`upsert_run`;
        ``force`` rewrites unchanged ones) before the next is asked for; a run that cannot be stored
        becomes a failure in the report and the next one is stored. ``on_progress(done, total)``
        is called after each item (``total``: ``len(records)``, or 0 when it has no length).
        """
        self._writable()
        return _ingest.ingest(self, records, force=force, on_progress=on_progress)

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
        cat = self._open_catalog()
        with cat.writer():
            if cat.stale():
                self.refresh()  # under the lock: the snapshot is the catalog the commit builds on
            return RunWriter(cat, self._home, record, force, _commit_info).run()

    def delete_run(self, ref: str) -> str:
        """Remove a run, its history, labels and artifacts; returns its run id."""
        self._writable()
        run_id = self.resolve_run(ref)
        files = [self._home / p for (p,) in self.con.execute(
            "SELECT path FROM history_parts WHERE run_id = ?", [run_id]).fetchall()]
        with self._writing() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                for table in ("runs", "history_parts", "metrics", "labels", "artifacts", "run_tables"):
                    con.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        remove_quietly(files)
        self.collect_garbage()
        return run_id

    def collect_garbage(self) -> int:
        """Delete files no catalog row references (left by killed writes); returns how many."""
        self._writable()
        cat = self._open_catalog()
        with cat.writer():  # no other writer is between writing its files and committing them
            with cat.attached(write=False) as con:
                refs = {p for (p,) in con.execute("SELECT path FROM history_parts").fetchall()}
                art_paths = con.execute("SELECT path FROM artifacts WHERE path <> ''").fetchall()
            for (p,) in art_paths:
                parts = Path(p).parts
                if len(parts) >= 3 and parts[0] == ARTIFACT_DIR:
                    refs.add(Path(*parts[:3]).as_posix())
            junk = garbage(self._home, refs)
            remove_quietly(junk)
        return len(junk)

    def export_to(self, dest: Path | str, *, on_progress: Callable[[int, int], None] | None = None
                  ) -> dict[str, Any]:
        """Write the whole warehouse to a new folder as Parquet (catalog tables, history, artifacts),
        readable by any DuckDB version; returns the manifest. See :meth:`import_from`."""
        from runlab.warehouse._transfer import export_warehouse

        return export_warehouse(self, dest, on_progress=on_progress)

    def import_from(self, src: Path | str) -> dict[str, int]:
        """Fill this empty warehouse from a folder :meth:`export_to` wrote; returns rows per table."""
        from runlab.warehouse._transfer import import_warehouse

        self._writable()
        return import_warehouse(self, src)

    def set_labels(self, labels: Mapping[str, Mapping[str, Any]], origin: str = "manual", *,
                   replace_keys: Sequence[str] = ()) -> int:
        """Set labels ``{run_id: {key: value}}`` of one origin; a ``None`` value removes that label.

        ``replace_keys`` first removes every label of this origin with those keys (all runs), in
        the same transaction, so re-applying a rule leaves no stale labels. Returns the number of
        labels written. See :data:`LABEL_ORIGINS` for precedence.
        """
        with self._writing() as con:
            return _queries.set_labels(con, labels, origin, replace_keys=replace_keys)

    def delete_labels(self, *, run_ids: Sequence[str] | None = None, key: str | None = None,
                      origin: str | None = None) -> int:
        """Remove labels matching all given filters; returns how many were removed."""
        with self._writing() as con:
            return _queries.delete_labels(con, run_ids=run_ids, key=key, origin=origin)

    # -- reading ------------------------------------------------------------------------------
    def sync_state(self, run_id: str) -> SyncState | None:
        """What is stored of a run (fingerprint, state, extent, identity, metric names, artifact
        versions); ``None`` when absent. This is the ``known`` lookup sources are given."""
        con = self.con  # renews the snapshot after a commit, which drops the cached states
        cat = self._open_catalog()
        if cat.cache.get("sync") is None:
            cat.cache["sync"] = _queries.all_sync_states(con)
        return cat.cache["sync"].get(run_id)

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


def _commit_info() -> dict[str, Any]:
    """Written next to the catalog with each commit: which DuckDB and schema version wrote it."""
    import duckdb

    return {"duckdb": duckdb.__version__, "schema": SCHEMA_VERSION}
