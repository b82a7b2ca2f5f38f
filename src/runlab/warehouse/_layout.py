"""Where things live under the warehouse home, and how files are written atomically.

Every file is written to a temporary name in its final directory and renamed into place, so a
reader (or a crash) only ever sees complete files. Files that the catalog does not reference are
garbage: a killed write leaves at most such orphans, which the next writer removes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path

CATALOG = "catalog.duckdb"
HISTORY_DIR = "history"
ARTIFACT_DIR = "artifacts"
TMP_PREFIX = ".tmp-"


def run_key(run_id: str) -> str:
    """A filesystem-safe directory name for a run: run ids are data (quotes, ``../``, emoji)."""
    return hashlib.sha256(run_id.encode("utf-8")).hexdigest()[:24]


def new_token() -> str:
    """A unique file-name part, so that a rewrite never overwrites a file a reader may hold."""
    return uuid.uuid4().hex[:16]


def tmp_path_for(final: Path) -> Path:
    """A temporary sibling of ``final`` (same directory, so ``os.replace`` is atomic)."""
    return final.with_name(f"{TMP_PREFIX}{new_token()}-{final.name}")


def fsync_dir(path: Path) -> None:
    """Persist a rename: fsync the directory entry (best effort on platforms without it)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def safe_relpath(logical: str) -> Path:
    """A relative path that cannot leave its folder: drops ``..``, ``.``, empty and absolute parts."""
    parts = [p for p in logical.replace("\\", "/").split("/") if p not in ("", ".", "..")]
    if not parts:
        parts = ["file"]
    return Path(*parts)


def remove_quietly(paths: Iterable[Path]) -> None:
    """Delete files or folders that are no longer referenced; missing ones are fine."""
    for p in paths:
        try:
            if p.is_dir():
                shutil.rmtree(p)
            else:
                p.unlink()
        except FileNotFoundError:
            continue
        except OSError:
            continue


def garbage(home: Path, referenced: set[str]) -> list[Path]:
    """Files under history/ and artifact folders under artifacts/ that the catalog does not reference.

    ``referenced`` holds paths relative to ``home`` (history part files and artifact folders).
    """
    out: list[Path] = []
    hist = home / HISTORY_DIR
    if hist.is_dir():
        for p in hist.rglob("*"):
            if p.is_file() and p.relative_to(home).as_posix() not in referenced:
                out.append(p)
    art = home / ARTIFACT_DIR
    if art.is_dir():
        for run_dir in art.iterdir():
            if not run_dir.is_dir():
                out.append(run_dir)
                continue
            for entry in run_dir.iterdir():
                if entry.relative_to(home).as_posix() not in referenced:
                    out.append(entry)
    return out
