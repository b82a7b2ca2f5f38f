"""Run selection: glob patterns, regexes, tags, group, state and dates become one server-side filter.

Selecting on the server (a MongoDB-style ``filters`` document, as the W&B backend accepts) means a
project with 10,000 runs costs one paginated listing of the runs that match, not 10,000 runs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from runlab.errors import InputError

#: Run states the W&B backend knows.
STATES = ("running", "finished", "failed", "crashed", "killed", "preempting", "preempted", "pending")


def glob_to_regex(pattern: str) -> str:
    """Translate a shell glob (``*``, ``?``, ``[abc]``) into an anchored RE2-compatible regex.

    Unlike :func:`fnmatch.translate`, the output uses no Python-only syntax, so the server's
    RE2 engine accepts it.
    """
    out = ["^"]
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "[":
            j = pattern.find("]", i + 2 if pattern[i + 1 : i + 2] in ("!", "]") else i + 1)
            if j == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : j]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = j
        else:
            out.append(re.escape(c))
        i += 1
    out.append("$")
    return "".join(out)


def parse_since(value: str | date | datetime | None) -> datetime | None:
    """``--since``: an ISO date or date-time (UTC when no zone is given)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        t = value
    elif isinstance(value, date):
        t = datetime(value.year, value.month, value.day)
    else:
        try:
            t = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise InputError(
                f"--since must be an ISO date like 2025-01-31 or 2025-01-31T12:00, got {value!r}"
            ) from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def parse_filter(value: str | Mapping[str, Any] | None) -> dict[str, Any]:
    """A raw MongoDB-style filter, as JSON text or a mapping; must be a JSON object."""
    if value is None or value == "":
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"--filter must be a JSON object like '{{\"config.lr\": {{\"$gt\": 0.001}}}}', got {value!r} ({exc.msg})"
        ) from None
    if not isinstance(parsed, dict):
        raise InputError(f"--filter must be a JSON object, got {type(parsed).__name__}: {value!r}")
    return parsed


def check_sweep_id(sweep: str) -> str:
    """A W&B sweep id: letters and digits, as in ``.../sweeps/<id>`` (no slashes, no spaces)."""
    if not isinstance(sweep, str) or not re.fullmatch(r"[A-Za-z0-9_-]+", sweep):
        raise InputError(
            f"--sweep must be a W&B sweep id like 'k3x9abcd' (the last part of the sweep URL), got {sweep!r}"
        )
    return sweep


def build_filters(
    *,
    pattern: str | None = None,
    regex: str | None = None,
    filters: str | Mapping[str, Any] | None = None,
    tags: Sequence[str] = (),
    group: str | None = None,
    state: str | None = None,
    since: str | date | datetime | None = None,
    sweep: str | None = None,
) -> dict[str, Any]:
    """Combine every selection option into one filter document (``$and`` of the parts).

    ``pattern`` and ``regex`` match the display name; ``tags`` must all be present; ``sweep``
    is a W&B sweep id (the last part of the sweep's URL).
    """
    if pattern and regex:
        raise InputError("use either --pattern or --regex, not both", hint="a glob becomes a regex anyway")
    parts: list[dict[str, Any]] = []
    if pattern:
        parts.append({"display_name": {"$regex": glob_to_regex(pattern)}})
    if regex:
        try:
            re.compile(regex)
        except re.error as exc:
            raise InputError(f"--regex must be a valid regular expression, got {regex!r} ({exc})") from None
        parts.append({"display_name": {"$regex": regex}})
    raw = parse_filter(filters)
    if raw:
        parts.append(raw)
    for tag in tags:
        if not tag:
            raise InputError("--tag must not be empty")
        parts.append({"tags": tag})
    if group:
        parts.append({"group": group})
    if state:
        if state not in STATES:
            raise InputError(f"--state must be one of {', '.join(STATES)}, got {state!r}")
        parts.append({"state": state})
    if sweep is not None:
        parts.append({"sweep": check_sweep_id(sweep)})
    since_t = parse_since(since)
    if since_t is not None:
        stamp = since_t.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
        parts.append({"createdAt": {"$gte": stamp}})
    if not parts:
        return {}
    return parts[0] if len(parts) == 1 else {"$and": parts}
