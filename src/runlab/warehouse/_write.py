"""Writing one run: history parts, artifact copies, and the catalog rows, in that order.

Files are written first (atomically, under fresh names), then the catalog changes in one
transaction, then superseded files are deleted. A crash before the commit leaves unreferenced
files (garbage, collected on the next open); a crash after it leaves stale files (same). Either
way the catalog describes a complete, consistent previous or new state.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from runlab.errors import RunlabError
from runlab.sources import ArtifactRecord, RunRecord
from runlab.warehouse._catalog import Catalog
from runlab.warehouse._codec import digest, dumps, one, sql_str, utc_naive
from runlab.warehouse._layout import (
    ARTIFACT_DIR,
    HISTORY_DIR,
    TMP_PREFIX,
    new_token,
    remove_quietly,
    run_key,
    safe_relpath,
)
from runlab.warehouse._parts import build_part, normalize_history, write_part
from runlab.warehouse._types import UpsertResult

if TYPE_CHECKING:
    import duckdb

#: The catalog tables that hold rows of one run (what one upsert may change).
RUN_TABLES = ("runs", "history_parts", "metrics", "artifacts", "run_tables")

#: Appending more parts than this rewrites the run's history into one part.
MAX_PARTS = 16


@dataclass(frozen=True)
class Stored:
    """The catalog's view of a stored run, for deciding what an upsert must do."""

    fingerprint: str
    meta_hash: str
    updated_at: datetime | None
    max_step: int | None
    history_rows: int
    parts: list[tuple[int, str]]
    """(seq, relative path) of each history part."""
    artifact_dirs: list[str]
    source_stamp: str = ""
    artifact_state: frozenset[tuple[str, str, str, str]] = frozenset()
    """``(name, version, digest, error)`` of each stored artifact."""


def rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back, unless the transaction already ended (committed just before an interrupt, or
    aborted by DuckDB itself): the error being handled must surface, not "no transaction is active"."""
    import duckdb

    with contextlib.suppress(duckdb.TransactionException):
        con.execute("ROLLBACK")


def stored(con: duckdb.DuckDBPyConnection, run_id: str) -> Stored | None:
    """The stored state of ``run_id``, or ``None`` when it is not in the catalog."""
    row = one(con, "SELECT fingerprint, meta_hash, updated_at, max_step, history_rows, source_stamp FROM runs "
              "WHERE run_id = ?", [run_id])
    if row is None:
        return None
    parts = con.execute(
        "SELECT seq, path FROM history_parts WHERE run_id = ? ORDER BY seq", [run_id]
    ).fetchall()
    arts = con.execute("SELECT path FROM artifacts WHERE run_id = ? AND path <> ''", [run_id]).fetchall()
    state = frozenset((n or "", v or "", d or "", e or "") for n, v, d, e in con.execute(
        "SELECT name, version, digest, error FROM artifacts WHERE run_id = ?", [run_id]).fetchall())
    return Stored(row[0], row[1], row[2], row[3], int(row[4] or 0), [(int(s), p) for s, p in parts],
                  [a[0] for a in arts], row[5] or "", state)


def meta_hash(record: RunRecord) -> str:
    """Hash of everything but history: decides whether a history-less refresh changed anything."""
    fields = {
        k: getattr(record, k)
        for k in ("source", "entity", "project", "name", "group", "job_type", "tags", "notes", "state",
                  "config", "summary", "sweep_id", "tables", "created_at", "updated_at")
    }
    arts = [(a.name, a.type, a.version, a.digest, a.metadata, a.error) for a in record.artifacts]
    return digest(dumps(fields), dumps(arts))


def metric_stats(history: pa.Table) -> dict[str, tuple[int, int, int, int]]:
    """Per metric: (rows, non-finite rows, min step, max step). NaN, ±inf and nulls count as non-finite."""
    if history.num_rows == 0:
        return {}
    nonfinite = pc.invert(pc.fill_null(pc.is_finite(history["value"]), False)).cast(pa.int64())
    t = pa.table({"metric": history["metric"], "step": history["step"], "nf": nonfinite})
    agg = t.group_by("metric").aggregate([("step", "count"), ("nf", "sum"), ("step", "min"), ("step", "max")])
    return {
        m: (int(c), int(nf), int(lo), int(hi))
        for m, c, nf, lo, hi in zip(
            agg["metric"].to_pylist(), agg["step_count"].to_pylist(), agg["nf_sum"].to_pylist(),
            agg["step_min"].to_pylist(), agg["step_max"].to_pylist(), strict=True,
        )
    }


def merge_stats(old: dict[str, tuple[int, int, int, int]],
                new: dict[str, tuple[int, int, int, int]]) -> dict[str, tuple[int, int, int, int]]:
    """Metric stats of two sets of rows as one: counts add up, step ranges widen."""
    merged = dict(old)
    for m, (n, nf, lo, hi) in new.items():
        if m in merged:
            on, onf, olo, ohi = merged[m]
            merged[m] = (on + n, onf + nf, min(olo, lo), max(ohi, hi))
        else:
            merged[m] = (n, nf, lo, hi)
    return merged


def last_x_values(history: pa.Table) -> dict[str, float]:
    """Each x-axis metric's last value in ``history`` (ordered by step): the carry into the next part."""
    from runlab.sources import X_AXES

    out: dict[str, float] = {}
    metrics = history["metric"]
    for axis in X_AXES:
        mask = pc.equal(metrics, axis).to_numpy(zero_copy_only=False)
        if mask.any():
            out[axis] = float(history["value"].to_numpy(zero_copy_only=False)[mask][-1])
    return out


def copy_artifacts(home: Path, run_id: str, artifacts: list[ArtifactRecord]) -> tuple[list[str], Path | None]:
    """Copy artifact files that still exist into the warehouse; returns each artifact's folder.

    Everything is copied into a temporary folder that is renamed into place at the end, so a
    crash never leaves a half-copied artifact that the catalog points at.
    """
    if not any(a.files for a in artifacts):
        return ["" for _ in artifacts], None
    token = new_token()
    base = home / ARTIFACT_DIR / run_key(run_id)
    tmp = base / f"{TMP_PREFIX}{token}"
    final = base / token
    out: list[str] = []
    for i, art in enumerate(artifacts):
        folder = safe_relpath(f"{i:03d}-{art.name}")
        copied = 0
        for logical, local in art.files.items():
            src = Path(local)
            if not src.is_file():
                continue
            dest = tmp / folder / safe_relpath(logical)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
            copied += 1
        out.append((final / folder).relative_to(home).as_posix() if copied else "")
    if not tmp.exists():
        return ["" for _ in artifacts], None
    tmp.rename(final)
    return out, final


def _last_x_values(con: duckdb.DuckDBPyConnection, files: list[Path]) -> dict[str, float]:
    """Each x-axis metric's last value in earlier parts (carried into an appended part)."""
    from runlab.sources import X_AXES

    if not files:
        return {}
    lst = ", ".join(sql_str(str(f)) for f in files)
    axes = ", ".join(sql_str(a) for a in X_AXES)
    rows = con.execute(
        f"SELECT metric, arg_max(value, step) FROM read_parquet([{lst}], union_by_name=true) "
        f"WHERE metric IN ({axes}) GROUP BY metric"
    ).fetchall()
    return {m: float(v) for m, v in rows if v is not None}


class RunWriter:
    """One upsert: plans the change, writes files, commits the catalog, cleans up."""

    def __init__(self, catalog: Catalog, home: Path, record: RunRecord, force: bool,
                 commit_info: Callable[[], dict[str, Any]]) -> None:
        self.catalog, self.home, self.record, self.force = catalog, home, record, force
        self.con = catalog.con  # the snapshot (fresh: the caller holds the writer lock) and query engine
        self.commit_info = commit_info
        self.new_files: list[Path] = []

    def run(self) -> UpsertResult:
        rec = self.record
        fp = rec.fingerprint()
        mh = meta_hash(rec)
        history = normalize_history(rec.history, rec.run_id)
        prev = stored(self.con, rec.run_id)
        if prev is not None and not self.force:
            if prev.fingerprint == fp and prev.meta_hash == mh and not rec.history_is_partial:
                self._restamp(prev)
                return UpsertResult(run_id=rec.run_id, status="unchanged", fingerprint=fp,
                                    history_rows=prev.history_rows)
            new_ts, old_ts = utc_naive(rec.updated_at), prev.updated_at
            if new_ts is not None and old_ts is not None and new_ts < old_ts:
                return UpsertResult(run_id=rec.run_id, status="unchanged", fingerprint=fp,
                                    history_rows=prev.history_rows,
                                    note=f"stored copy is newer ({old_ts.isoformat()} > {new_ts.isoformat()})")
        if rec.history_is_partial and prev is not None:
            return self._append(prev, history, fp, mh)
        return self._replace(prev, history, fp, mh)

    # -- full replace -------------------------------------------------------------------------
    def _replace(self, prev: Stored | None, history: pa.Table, fp: str, mh: str) -> UpsertResult:
        rec = self.record
        with self._discarding_on_failure(fp):
            if rec.history_batches is not None:
                part_rows, stats, n_rows = self._write_chunks(rec.history_chunks())
            else:
                part_rows = self._write_part(history, seq=0, carry={}) if history.num_rows else []
                stats, n_rows = metric_stats(history), history.num_rows
            art_paths, art_dir = copy_artifacts(self.home, rec.run_id, rec.artifacts)
            if art_dir is not None:
                self.new_files.append(art_dir)
            max_step = max((s[3] for s in stats.values()), default=None)
            with self._transaction():
                for table in ("runs", "history_parts", "metrics", "artifacts", "run_tables"):
                    self.con.execute(f"DELETE FROM {table} WHERE run_id = ?", [rec.run_id])
                self._insert_run(fp, mh, max_step, n_rows)
                self._insert_parts(part_rows)
                self._insert_metrics(stats)
                self._insert_artifacts(art_paths)
                self._insert_tables()
        if prev is not None:
            remove_quietly([self.home / p for _, p in prev.parts])
            remove_quietly({(self.home / a).parent for a in prev.artifact_dirs})
        return UpsertResult(run_id=rec.run_id, status="added" if prev is None else "updated",
                            fingerprint=fp, history_rows=n_rows, new_rows=n_rows)

    def _write_chunks(self, chunks: Iterator[pa.Table]) -> tuple[list[Any], dict[str, tuple[int, int, int, int]], int]:
        """One part per chunk of a spilled history (chunks in step order), the x-axis values carried
        from one part to the next; returns the part rows, the merged metric stats and the row count."""
        part_rows: list[Any] = []
        stats: dict[str, tuple[int, int, int, int]] = {}
        carry: dict[str, float] = {}
        rows = 0
        for chunk in chunks:
            history = normalize_history(chunk, self.record.run_id)
            if not history.num_rows:
                continue
            part_rows += self._write_part(history, seq=len(part_rows), carry=carry)
            stats = merge_stats(stats, metric_stats(history))
            carry.update(last_x_values(history))
            rows += history.num_rows
        return part_rows, stats, rows

    # -- append new steps ---------------------------------------------------------------------
    def _append(self, prev: Stored, history: pa.Table, fp: str, mh: str) -> UpsertResult:
        rec = self.record
        if rec.history_batches is not None:  # appends are small: the new steps are held whole
            history = normalize_history(rec.history_batches.read_all(), rec.run_id)
        if prev.max_step is not None and history.num_rows:
            history = history.filter(pc.greater(history["step"], prev.max_step))
        if history.num_rows == 0 and prev.meta_hash == mh:
            return UpsertResult(run_id=rec.run_id, status="unchanged", fingerprint=fp,
                                history_rows=prev.history_rows)
        appended = history.num_rows
        old_files = [self.home / p for _, p in prev.parts]
        compact = history.num_rows > 0 and len(prev.parts) + 1 > MAX_PARTS
        # Artifacts that failed to download before and came now (or failed differently) are
        # replaced; the stored ones are kept when the record brings the same state.
        state = frozenset((a.name, a.version, a.digest, a.error) for a in rec.artifacts)
        swap_artifacts = bool(rec.artifacts) and state != prev.artifact_state
        with self._discarding_on_failure(fp):
            art_paths: list[str] = []
            if swap_artifacts:
                art_paths, art_dir = copy_artifacts(self.home, rec.run_id, rec.artifacts)
                if art_dir is not None:
                    self.new_files.append(art_dir)
            if compact:
                merged = self._read_parts(old_files)
                history = pa.concat_tables([merged, history])
                part_rows = self._write_part(history, seq=0, carry={})
            elif history.num_rows:
                seq = max((s for s, _ in prev.parts), default=-1) + 1
                part_rows = self._write_part(history, seq=seq, carry=_last_x_values(self.con, old_files))
            else:
                part_rows = []
            stats = metric_stats(history)
            with self._transaction():
                if compact:
                    self.con.execute("DELETE FROM history_parts WHERE run_id = ?", [rec.run_id])
                    self.con.execute("DELETE FROM metrics WHERE run_id = ?", [rec.run_id])
                    total = history.num_rows
                else:
                    stats = self._merge_stats(stats)
                    self.con.execute("DELETE FROM metrics WHERE run_id = ?", [rec.run_id])
                    total = prev.history_rows + history.num_rows
                max_step = max((s[3] for s in stats.values()), default=prev.max_step)
                self.con.execute("DELETE FROM runs WHERE run_id = ?", [rec.run_id])
                self.con.execute("DELETE FROM run_tables WHERE run_id = ?", [rec.run_id])
                self._insert_run(fp, mh, max_step, total)
                self._insert_parts(part_rows)
                self._insert_metrics(stats)
                self._insert_tables()
                if swap_artifacts:
                    self.con.execute("DELETE FROM artifacts WHERE run_id = ?", [rec.run_id])
                    self._insert_artifacts(art_paths)
        if compact:
            remove_quietly(old_files)
        if swap_artifacts:
            remove_quietly({(self.home / a).parent for a in prev.artifact_dirs})
        # New metadata without new steps (a heartbeat, a state change) replaces; it appends nothing.
        return UpsertResult(run_id=rec.run_id, status="appended" if appended else "updated", fingerprint=fp,
                            history_rows=total, new_rows=appended)

    # -- helpers ------------------------------------------------------------------------------
    def _restamp(self, prev: Stored) -> None:
        """Same content from touched files: store the new source stamp, so the next pass skips them."""
        stamp = self.record.source_stamp
        if stamp and stamp != prev.source_stamp:
            with self._transaction():
                self.con.execute("UPDATE runs SET source_stamp = ? WHERE run_id = ?", [stamp, self.record.run_id])

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """One catalog transaction, the only time the catalog file is held: committed when the block
        ends, rolled back if it raises; readers in other processes are told of the commit."""
        with self.catalog.attached(write=True) as con:
            con.execute("BEGIN TRANSACTION")
            try:
                yield
                con.execute("COMMIT")
            except BaseException:
                rollback(con)
                raise
            self.catalog.sync_run(self.record.run_id, RUN_TABLES)
        self.catalog.committed(self.commit_info(), snapshot_current=True)

    @contextlib.contextmanager
    def _discarding_on_failure(self, fp: str) -> Iterator[None]:
        """Files written inside the block are removed if anything in it fails (see below)."""
        try:
            yield
        except BaseException:
            self._discard_new_files(fp)
            raise

    def _discard_new_files(self, fp: str) -> None:
        """Remove this write's files unless the catalog already committed them.

        Ctrl-C can land just after COMMIT returned: deleting the files then would leave the
        catalog pointing at nothing. When in doubt the files stay; garbage collection on the
        next open removes files that no catalog row references.
        """
        import duckdb

        try:
            self.catalog.invalidate()
            self.catalog.snapshot()
            now = stored(self.con, self.record.run_id)
        except (duckdb.Error, RunlabError):
            return
        if now is None or now.fingerprint != fp:
            remove_quietly(self.new_files)

    def _read_parts(self, files: list[Path]) -> pa.Table:
        lst = ", ".join(sql_str(str(f)) for f in files)
        merged = self.con.sql(
            f"SELECT step, metric, value FROM read_parquet([{lst}], union_by_name=true) ORDER BY step"
        ).to_arrow_table()
        return normalize_history(merged, self.record.run_id)

    def _write_part(self, history: pa.Table, *, seq: int, carry: dict[str, float]) -> list[Any]:
        rec = self.record
        table = build_part(rec.run_id, history, carry)
        rel = Path(HISTORY_DIR) / run_key(rec.run_id)[:2] / run_key(rec.run_id) / f"part-{seq:04d}-{new_token()}.parquet"
        final = self.home / rel
        self.new_files.append(final)
        write_part(table, final)
        steps = history["step"]
        axes = [n for n in table.column_names if n not in ("run_id", "step", "metric", "value")]
        return [(rec.run_id, seq, rel.as_posix(), history.num_rows, pc.min(steps).as_py(), pc.max(steps).as_py(), axes)]

    def _merge_stats(self, new: dict[str, tuple[int, int, int, int]]) -> dict[str, tuple[int, int, int, int]]:
        rows = self.con.execute(
            "SELECT metric, n_rows, n_nonfinite, min_step, max_step FROM metrics WHERE run_id = ?",
            [self.record.run_id],
        ).fetchall()
        return merge_stats({m: (int(n), int(nf), int(lo), int(hi)) for m, n, nf, lo, hi in rows}, new)

    def _insert_run(self, fp: str, mh: str, max_step: int | None, rows: int) -> None:
        r = self.record
        self.con.execute(
            "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [r.run_id, r.source, r.entity, r.project, r.name, r.group, r.job_type, list(r.tags), r.state,
             utc_naive(r.created_at), utc_naive(r.updated_at), dumps(r.config), dumps(r.summary),
             r.sweep_id, r.notes, r.origin_path, list(r.problems), fp, mh, max_step, rows,
             datetime.now(UTC).replace(tzinfo=None), r.source_stamp],
        )

    def _insert_parts(self, rows: list[Any]) -> None:
        if rows:
            self.con.executemany("INSERT INTO history_parts VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

    def _insert_metrics(self, stats: dict[str, tuple[int, int, int, int]]) -> None:
        if not stats:
            return
        rid = self.record.run_id
        t = pa.table({
            "run_id": [rid] * len(stats), "metric": list(stats),
            "n_rows": [s[0] for s in stats.values()], "n_nonfinite": [s[1] for s in stats.values()],
            "min_step": [s[2] for s in stats.values()], "max_step": [s[3] for s in stats.values()],
        })
        self.con.register("_runlab_new_metrics", t)
        try:
            self.con.execute("INSERT INTO metrics SELECT * FROM _runlab_new_metrics")
        finally:
            self.con.unregister("_runlab_new_metrics")

    def _insert_artifacts(self, paths: list[str]) -> None:
        rows = [
            (self.record.run_id, a.name, a.type, a.version, a.digest, dumps(a.metadata), p, a.error)
            for a, p in zip(self.record.artifacts, paths, strict=True)
        ]
        if rows:
            self.con.executemany("INSERT INTO artifacts VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def _insert_tables(self) -> None:
        rows = [(self.record.run_id, str(k), dumps(v)) for k, v in self.record.tables.items()]
        if rows:
            self.con.executemany("INSERT INTO run_tables VALUES (?, ?, ?)", rows)
