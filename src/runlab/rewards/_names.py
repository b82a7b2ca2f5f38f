"""Task names are data: turn them into safe, unique path parts without changing them anywhere else.

A task name may hold ``/``, ``..``, quotes, spaces, ``&``, ``*`` or control characters. On disk it
becomes a slug of ``[A-Za-z0-9._-]`` plus a short hash of the full name, so two names that slug the
same still get different folders and no name can climb out of the output folder or hide as a dot
file. The name itself travels in ``metadata.json`` and in the Parquet rows.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_SLUG = 48


def safe_part(name: str) -> str:
    """One path component for ``name``: a readable slug and an 8-character hash of the full name.

    >>> safe_part("../../x")
    'x-9cdf6a50'
    """
    slug = _UNSAFE.sub("_", str(name)).strip("._-")[:_MAX_SLUG].strip("._-") or "task"
    digest = hashlib.sha256(str(name).encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{slug}-{digest}"


def safe_parts(names: Iterable[str]) -> dict[str, str]:
    """``name -> path part`` for every distinct name; parts are unique (a hash clash gets a counter)."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for name in dict.fromkeys(str(n) for n in names):
        part, i = safe_part(name), 1
        while part.lower() in taken:  # case-insensitive file systems
            i += 1
            part = f"{safe_part(name)}-{i}"
        taken.add(part.lower())
        out[name] = part
    return out
