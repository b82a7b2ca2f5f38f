"""Atomic file writes for sweep folders.

Trial folders are read by trainers (every rank of a multi-process trainer reads the same
overrides file) while the controller writes them; a reader must never see half a file, and a
controller killed mid-write must leave the previous version. So every write goes to a temporary
file in the same folder, is flushed to disk, and replaces the target with one ``os.replace``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import yaml


def atomic_write_text(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` so readers see either the old or the new content, never a mix."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def dump_yaml(data: Any) -> str:
    """YAML in the order the data was built (parameter-tree order), block style, unicode kept."""
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True)


def atomic_write_yaml(path: Path, data: Any) -> Path:
    """:func:`atomic_write_text` of :func:`dump_yaml`."""
    return atomic_write_text(path, dump_yaml(data))


__all__ = ["atomic_write_text", "atomic_write_yaml", "dump_yaml"]
