"""A MongoDB-style filter evaluator over run documents, like the W&B backend's ``runs(filters:)``.

Supports ``$and $or $nor $not $eq $ne $gt $gte $lt $lte $in $nin $exists $regex`` with MongoDB's
array semantics (a scalar condition on a list field matches when any element matches), dotted paths
into ``config.*`` / ``summary_metrics.*`` (a trailing ``.value`` is accepted, as the W&B UI writes it),
and ISO-8601 timestamps compared as times.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

_MISSING = object()

#: W&B filter field aliases -> document key.
_ALIASES = {"displayName": "display_name", "created_at": "createdAt", "job_type": "jobType"}


def _lookup(doc: dict[str, Any], path: str) -> Any:
    path = _ALIASES.get(path, path)
    if path in doc:
        return doc[path]
    parts = path.split(".")
    if parts[0] in ("config", "summary_metrics") and parts[-1] == "value" and len(parts) > 2:
        parts = parts[:-1]
    cur: Any = doc
    for part in parts:
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        else:
            return _MISSING
    return cur


def _time(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 10 and value[4] == "-" and value[7] == "-":
        try:
            t = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        if t.tzinfo is None:
            from datetime import UTC

            t = t.replace(tzinfo=UTC)
        return t
    return value


def _compare(op: str, have: Any, want: Any) -> bool:
    have, want = _time(have), _time(want)
    try:
        if op == "$gt":
            return have > want
        if op == "$gte":
            return have >= want
        if op == "$lt":
            return have < want
        if op == "$lte":
            return have <= want
    except TypeError:
        return False
    raise ValueError(f"unsupported comparison {op}")


def _scalar_op(op: str, have: Any, want: Any) -> bool:
    if op == "$eq":
        return have == want
    if op == "$ne":
        return have != want
    if op in ("$gt", "$gte", "$lt", "$lte"):
        return _compare(op, have, want)
    if op == "$in":
        return have in want
    if op == "$nin":
        return have not in want
    if op == "$regex":
        return isinstance(have, str) and re.search(want, have) is not None
    raise ValueError(f"unsupported filter operator {op!r}")


def _field_matches(have: Any, cond: Any) -> bool:
    if isinstance(cond, dict) and cond and all(k.startswith("$") for k in cond):
        for op, want in cond.items():
            if op == "$exists":
                if (have is not _MISSING) != bool(want):
                    return False
            elif op == "$not":
                if _field_matches(have, want):
                    return False
            elif op == "$options":
                continue
            elif have is _MISSING:
                if op not in ("$ne", "$nin"):
                    return False
            elif isinstance(have, list):
                if op in ("$ne", "$nin"):
                    ok = all(_scalar_op(op, h, want) for h in have)
                else:
                    ok = any(_scalar_op(op, h, want) for h in have) or (op == "$eq" and have == want)
                if not ok:
                    return False
            elif not _scalar_op(op, have, want):
                return False
        return True
    if have is _MISSING:
        return cond is None
    if isinstance(have, list) and not isinstance(cond, list):
        return cond in have
    return have == cond


def matches(doc: dict[str, Any], flt: dict[str, Any] | None) -> bool:
    """True when the run document ``doc`` satisfies the MongoDB-style filter ``flt``."""
    if not flt:
        return True
    for key, cond in flt.items():
        if key == "$and":
            if not all(matches(doc, c) for c in cond):
                return False
        elif key == "$or":
            if not any(matches(doc, c) for c in cond):
                return False
        elif key == "$nor":
            if any(matches(doc, c) for c in cond):
                return False
        elif key.startswith("$"):
            raise ValueError(f"unsupported top-level filter operator {key!r}")
        elif not _field_matches(_lookup(doc, key), cond):
            return False
    return True
