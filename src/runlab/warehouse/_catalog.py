"""Access to the catalog file that lets readers and writers of one warehouse work at the same time.

DuckDB lets one process open a database file for writing, or many for reading, never both. Held
for a command's lifetime, that lock shut readers out for a whole ingest and let an open notebook
block every write. So no Warehouse holds the file:

* Each Warehouse owns an in-memory DuckDB connection (``wh.con``), its query engine. It holds a
  *snapshot* of the catalog tables (a few rows per run), copied in a few milliseconds by
  attaching the file read-only and detaching it again. Before a read, the snapshot is renewed
  when the catalog changed (its file stat or the commit token below differ), so a reader sees
  the last committed state and never holds the file between calls. History is Parquet, read
  by the same in-memory engine without touching the catalog.
* A writer attaches the file read-write only to commit one run (one transaction), then detaches:
  parsing, downloading and writing Parquet happen with the file free.
* Writers queue on a lock file (``home/.writer.lock``, an OS advisory lock released when the
  process dies): the second writer waits, with a message, instead of failing; the holder's pid
  is written into the file for that message.
* Attaching retries for ``wait`` seconds while another process briefly holds the file (a
  reader's snapshot, a writer's commit); only then it fails, naming the warehouse.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runlab.errors import WarehouseError

if TYPE_CHECKING:
    import duckdb

LOCK_FILE = ".writer.lock"
TOKEN_FILE = "catalog.token"
ALIAS = "runlab_catalog"
_NEWER_STORAGE = re.compile(r"storage version (?:number )?(\d+)", re.IGNORECASE)


#: DuckDB memory for one warehouse's queries (``RUNLAB_DUCKDB_MEMORY`` overrides): past it, sorts
#: and joins spill to a temporary folder, so exporting or aligning any number of history rows
#: stays within a bounded footprint instead of DuckDB's default of 80% of the machine's RAM.
DEFAULT_MEMORY = "200MB"


def query_config() -> dict[str, str]:
    """Settings of the in-memory query connection: bounded memory, spilling to the system temp folder."""
    import tempfile

    return {"memory_limit": os.environ.get("RUNLAB_DUCKDB_MEMORY") or DEFAULT_MEMORY,
            "temp_directory": str(Path(tempfile.gettempdir()) / "runlab-duckdb-spill")}


def _is_lock_error(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "lock" in text or "already attached" in text or "already open" in text


class Catalog:
    """The catalog file of one home, attached on demand to an in-memory connection (see module doc)."""

    def __init__(self, home: Path, path: Path, *, wait: float = 60.0,
                 on_wait: Callable[[str], None] | None = None) -> None:
        import duckdb

        self.home, self.path, self.wait, self.on_wait = home, path, wait, on_wait
        self.con: duckdb.DuckDBPyConnection = duckdb.connect(config=query_config())
        self.con.execute("SET enable_progress_bar = false")  # the library draws nothing (long exports would)
        self._signature: tuple[Any, ...] | None = None
        self._attached = False
        self._lock_depth = 0
        self._lock_fd: int | None = None
        self.cache: dict[str, Any] = {}
        """Values derived from the current snapshot (cleared whenever it is renewed)."""

    def close(self) -> None:
        self.con.close()

    # -- attaching -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def attached(self, *, write: bool) -> Iterator[duckdb.DuckDBPyConnection]:
        """The connection with the catalog file attached (and in use) for the block, then detached."""
        if self._attached:
            yield self.con
            return
        self._attach(write)
        self._attached = True
        try:
            self.con.execute(f"USE {ALIAS}")
            yield self.con
        finally:
            self._attached = False
            with contextlib.suppress(Exception):
                self.con.execute("USE memory")
            self.con.execute(f"DETACH {ALIAS}")

    def _attach(self, write: bool) -> None:
        import duckdb

        mode = "" if write else " (READ_ONLY)"
        sql = f"ATTACH '{str(self.path).replace(chr(39), chr(39) * 2)}' AS {ALIAS}{mode}"
        deadline = time.monotonic() + self.wait
        delay = 0.002
        while True:
            try:
                self.con.execute(sql)
                return
            except duckdb.Error as exc:
                if not _is_lock_error(exc):
                    raise self._open_error(exc) from exc
                if time.monotonic() >= deadline:
                    raise WarehouseError(
                        f"the warehouse {self.home} stayed in use by another process for {self.wait:g} s: {exc}",
                        hint="a runlab command or notebook outside runlab holds catalog.duckdb open; close it, "
                        "or wait for it to finish",
                    ) from exc
                time.sleep(delay)
                delay = min(delay * 2, 0.1)

    def _open_error(self, exc: BaseException) -> WarehouseError:
        import duckdb

        text = str(exc)
        m = _NEWER_STORAGE.search(text)
        if m or "newer version of duckdb" in text.lower():
            writer = self.recorded().get("duckdb", "a newer version")
            return WarehouseError(
                f"the warehouse catalog {self.path} was written by DuckDB {writer}, newer than the installed "
                f"DuckDB {duckdb.__version__}, which cannot read it (storage version "
                f"{m.group(1) if m else 'unknown'}); nothing was changed",
                hint="upgrade DuckDB (`pip install -U duckdb`) to open it here; or, where the newer DuckDB is "
                "installed, run `runlab warehouse export DIR`, then `runlab --home NEW warehouse import DIR` here",
            )
        return WarehouseError(f"cannot open catalog {self.path}: {' '.join(text.split())[:300]}",
                              hint="the file may be damaged or not a DuckDB database; use another --home, or "
                              "restore it from a `runlab warehouse export`")

    # -- the writer lock -----------------------------------------------------------------------
    @contextlib.contextmanager
    def writer(self) -> Iterator[None]:
        """Hold the writer lock for the block (re-entrant); waits, with one message, for another writer."""
        if self._lock_depth:
            self._lock_depth += 1
            try:
                yield
            finally:
                self._lock_depth -= 1
            return
        fd = self._acquire()
        self._lock_fd, self._lock_depth = fd, 1
        try:
            yield
        finally:
            self._lock_depth = 0
            self._lock_fd = None
            _unlock(fd)

    def _acquire(self) -> int:
        fd = os.open(self.home / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        if _try_lock(fd):
            _note_holder(fd)
            return fd
        holder = _read_holder(fd)
        if self.on_wait is not None:
            self.on_wait(f"waiting for another runlab process{holder} writing to {self.home} ...")
        deadline = time.monotonic() + max(self.wait, 600.0)
        while not _try_lock(fd):
            if time.monotonic() >= deadline:
                os.close(fd)
                raise WarehouseError(f"another process{holder} kept writing to {self.home} for too long",
                                     hint="wait for it to finish, or stop it, then run the command again")
            time.sleep(0.05)
        _note_holder(fd)
        return fd

    # -- commits and snapshots -----------------------------------------------------------------
    def committed(self, info: dict[str, Any], *, snapshot_current: bool = False) -> None:
        """Mark a commit: a new token tells every reader (any process) to renew its snapshot.

        ``snapshot_current``: this process already brought its snapshot up to date (one run's rows,
        :meth:`sync_run`) while holding the writer lock, so no other commit can lie in between.
        """
        token = self.home / TOKEN_FILE
        tmp = token.with_name(f".tmp-{uuid.uuid4().hex[:8]}-{TOKEN_FILE}")
        tmp.write_text(json.dumps({"token": uuid.uuid4().hex, **info}), encoding="utf-8")
        os.replace(tmp, token)
        current = snapshot_current and self._lock_depth > 0 and self._signature is not None
        self._signature = self.signature() if current else None

    def sync_run(self, run_id: str, tables: tuple[str, ...]) -> None:
        """Inside a write, after COMMIT: copy one run's committed rows into the snapshot, so the
        next write in this process need not copy the whole catalog (see :meth:`committed`)."""
        for t in tables:
            self.con.execute(f'DELETE FROM memory.main."{t}" WHERE run_id = ?', [run_id])
            self.con.execute(f'INSERT INTO memory.main."{t}" SELECT * FROM {ALIAS}.main."{t}" WHERE run_id = ?',
                             [run_id])
        self.cache.clear()

    def recorded(self) -> dict[str, Any]:
        """What the last commit wrote next to the catalog (DuckDB and schema version), or ``{}``."""
        try:
            data = json.loads((self.home / TOKEN_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def signature(self) -> tuple[Any, ...]:
        out: list[Any] = []
        for p in (self.path, self.path.with_name(self.path.name + ".wal"), self.home / TOKEN_FILE):
            try:
                st = os.stat(p)
                out.append((st.st_ino, st.st_size, st.st_mtime_ns))
            except OSError:
                out.append(None)
        try:
            out.append((self.home / TOKEN_FILE).read_bytes())
        except OSError:
            out.append(None)
        return tuple(out)

    def stale(self) -> bool:
        return self._signature is None or self._signature != self.signature()

    def snapshot(self, after_copy: Callable[[duckdb.DuckDBPyConnection], None] | None = None) -> None:
        """Copy every catalog table into the in-memory connection (the reader's consistent view)."""
        if self._attached:
            return  # inside a write: the attached catalog is the view
        sig = self.signature()
        with self.attached(write=False) as con:
            self.cache.clear()
            tables = [t for (t,) in con.execute(
                f"SELECT table_name FROM information_schema.tables WHERE table_catalog = '{ALIAS}' "
                "AND table_schema = 'main'").fetchall()]
            for t in tables:
                con.execute(f'CREATE OR REPLACE TABLE memory.main."{t}" AS SELECT * FROM {ALIAS}.main."{t}"')
        if after_copy is not None:
            after_copy(self.con)
        self.cache.clear()
        self._signature = sig

    def invalidate(self) -> None:
        self._signature = None


def _try_lock(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:  # no advisory locks (Windows): DuckDB's own file lock still guards the catalog
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _unlock(fd: int) -> None:
    try:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_UN)
    except ImportError:
        pass
    finally:
        os.close(fd)


def _note_holder(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)


def _read_holder(fd: int) -> str:
    try:
        pid = os.pread(fd, 32, 0).decode().strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""
