"""Sort the records of a W&B log by kind and fold them into run state.

Only six of the ~25 record kinds matter to runlab (run, config, history, summary, artifact, exit);
telemetry, stats, console output and the rest are skipped by looking at the top-level protobuf tag
of each payload, without decoding it. History is decoded in bulk by :mod:`._wandb_history`.

The final summary is the last value written for each key. wandb-core writes, right before each
history record, a summary record whose updates are byte-for-byte the items of that history record;
such records are recognised by a prefix comparison and resolved from the decoded history in bulk,
so only summary records carrying other information are decoded one by one.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# SummaryItem and HistoryItem share field numbers, so their items have the same bytes.
from runlab.sources._wandb_history import ITEM as _SUMMARY_ITEM

HISTORY, SUMMARY, CONFIG, ARTIFACT, RUN, EXIT = 2, 3, 5, 8, 17, 18
_WANTED = frozenset((CONFIG, ARTIFACT, RUN, EXIT))
# Record fields that are not the record's kind: num (1), control (16), uuid (19), _info (200).
_NOT_KIND = frozenset((1, 16, 19, 200))
# Fast path: optional ``num`` varint field, then the history (0x12) or summary (0x1a) field.
_HEAD = re.compile(rb"(?:\x08[\x80-\xff]{0,9}[\x00-\x7f])?([\x12\x1a])([\x80-\xff]{0,4}[\x00-\x7f])")

REMOVED = object()
"""Marker for a summary key that was removed."""


@dataclass
class SortedRecords:
    """Record payload bodies grouped by kind, with their position (ordinal) in the log."""

    history: list[bytes] = field(default_factory=list)
    history_at: list[int] = field(default_factory=list)
    summary: list[bytes] = field(default_factory=list)
    summary_at: list[int] = field(default_factory=list)
    other: list[tuple[int, int, bytes]] = field(default_factory=list)
    """``(ordinal, kind, whole Record payload)`` for config, artifact, run and exit records."""
    unreadable: int = 0


def sort_records(payloads: list[bytes]) -> SortedRecords:
    """Group record payloads by kind without decoding the ones runlab does not use."""
    out = SortedRecords()
    head = _HEAD.match
    short = _SHORT_VARINTS.get
    hist, hist_at, summ, summ_at = out.history, out.history_at, out.summary, out.summary_at
    for ordinal, payload in enumerate(payloads):
        m = head(payload)
        if m is not None:
            tag, length_bytes = m.groups()
            length = short(length_bytes)
            if length is None:
                length = _varint_bytes(length_bytes)
            start = m.end()
            end = start + length
            if end <= len(payload):
                if tag == b"\x12":
                    hist.append(payload[start:end])
                    hist_at.append(ordinal)
                else:
                    summ.append(payload[start:end])
                    summ_at.append(ordinal)
                continue
        kind = _record_kind(payload)
        if kind is None:
            out.unreadable += 1
        elif kind in _WANTED:
            out.other.append((ordinal, kind, payload))
        elif kind in (HISTORY, SUMMARY):  # unusual field order: let protobuf find the body
            _add_parsed(out, ordinal, kind, payload)
    return out


def _add_parsed(out: SortedRecords, ordinal: int, kind: int, payload: bytes) -> None:
    from google.protobuf.message import DecodeError
    from wandb.proto import wandb_internal_pb2 as pb

    try:
        record = pb.Record.FromString(bytes(payload))
    except DecodeError:
        out.unreadable += 1
        return
    if kind == HISTORY:
        out.history.append(record.history.SerializeToString())
        out.history_at.append(ordinal)
    else:
        out.summary.append(record.summary.SerializeToString())
        out.summary_at.append(ordinal)


def _encode_varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


# Lengths of history/summary bodies almost always fit two varint bytes: look them up.
_SHORT_VARINTS = {_encode_varint(n): n for n in range(1 << 14)}


def _varint_bytes(b: bytes) -> int:
    result = 0
    for i, byte in enumerate(b):
        result |= (byte & 0x7F) << (7 * i)
    return result


def _record_kind(payload: bytes) -> int | None:
    """Field number of the record's kind (the ``record_type`` oneof), or None if unparseable."""
    pos, n = 0, len(payload)
    try:
        while pos < n:
            tag, pos = _read_varint(payload, pos)
            number, wire = tag >> 3, tag & 7
            if number not in _NOT_KIND:
                return number if wire == 2 else None
            if wire == 0:
                _, pos = _read_varint(payload, pos)
            elif wire == 2:
                length, pos = _read_varint(payload, pos)
                pos += length
            elif wire == 1:
                pos += 8
            elif wire == 5:
                pos += 4
            else:
                return None
    except IndexError:
        return None
    return None


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7


def derived_summaries(
    sorted_records: SortedRecords, items_end: list[int], split: list[list[tuple[bytes, ...]]]
) -> tuple[np.ndarray, list[int]]:
    """Find summary records that only repeat the items of a neighbouring history record.

    wandb-core writes the same item bytes in both, though in a different order (Go map order), so
    a summary record is derived when its length equals the history record's proved items section
    and its regex-split items are the same multiset: valid and of the same total length, they tile
    the summary body exactly. Returns ``(ordinal of the last such summary per history record
    or -1, indices of the summary records that must be decoded)``.
    """
    hist_at = sorted_records.history_at
    n_hist = len(hist_at)
    derived_at = np.full(n_hist, -1, np.int64)
    explicit: list[int] = []
    findall = _SUMMARY_ITEM.findall
    for s, (ordinal, body) in enumerate(zip(sorted_records.summary_at, sorted_records.summary, strict=True)):
        j = bisect.bisect_right(hist_at, ordinal)
        size = len(body)
        for h in (j, j - 1):
            if 0 <= h < n_hist and items_end[h] == size and split[h]:
                if sorted(findall(body)) == sorted(split[h]):
                    derived_at[h] = max(derived_at[h], ordinal)
                    break
        else:
            explicit.append(s)
    return derived_at, explicit


def explicit_summary(
    sorted_records: SortedRecords, indices: list[int]
) -> dict[tuple[str, ...], tuple[int, Any]]:
    """Last ``(ordinal, value)`` per key path over the given summary records (value may be REMOVED).

    Walks the records newest first and skips bodies identical to a newer one: a newer identical
    record overrides every key the older one touches.
    """
    from wandb.proto import wandb_internal_pb2 as pb

    last: dict[tuple[str, ...], tuple[int, Any]] = {}
    seen_bodies: set[bytes] = set()
    for s in reversed(indices):
        body = sorted_records.summary[s]
        if body in seen_bodies:
            continue
        seen_bodies.add(body)
        ordinal = sorted_records.summary_at[s]
        msg = pb.SummaryRecord.FromString(body)
        for item in msg.update:
            path = tuple(item.nested_key) or (item.key,)
            if path not in last:
                last[path] = (ordinal, _loads(item.value_json))
        for item in msg.remove:
            path = tuple(item.nested_key) or (item.key,)
            if path not in last:
                last[path] = (ordinal, REMOVED)
    return last


def _loads(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text


def apply_config(config: dict[str, Any], record: Any) -> None:
    """Apply a ``ConfigRecord`` (updates then removals) to the nested config in place."""
    for item in record.update:
        path = tuple(item.nested_key) or (item.key,)
        set_path(config, path, _loads(item.value_json))
    for item in record.remove:
        path = tuple(item.nested_key) or (item.key,)
        pop_path(config, path)


def set_path(tree: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = tree
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[path[-1]] = value


def pop_path(tree: dict[str, Any], path: tuple[str, ...]) -> None:
    node: Any = tree
    for part in path[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node.pop(path[-1], None)


def clean_config(config: dict[str, Any]) -> dict[str, Any]:
    """Drop W&B internals (``_wandb``) and unwrap top-level ``{"value": x[, "desc": d]}`` entries."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        if key == "_wandb":
            continue
        if isinstance(value, dict) and "value" in value and set(value) <= {"value", "desc"}:
            value = value["value"]
        out[key] = value
    return out
