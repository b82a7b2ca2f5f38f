"""Sort the records of a W&B log by kind and fold them into run state.

Only six of the ~25 record kinds matter to runlab (run, config, history, summary, artifact, exit);
telemetry, stats, console output and the rest are skipped by looking at the top-level protobuf tag
of each payload, without decoding it.

History and summary bodies are handed to :mod:`._wandb_items` for bulk decoding; the few other
records are decoded with the protobuf class and folded here (config updates and removals).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

HISTORY, SUMMARY, CONFIG, ARTIFACT, RUN, EXIT = 2, 3, 5, 8, 17, 18
_WANTED = frozenset((CONFIG, ARTIFACT, RUN, EXIT))
# Record fields that are not the record's kind: num (1), control (16), uuid (19), _info (200).
_NOT_KIND = frozenset((1, 16, 19, 200))
# Fast path: optional ``num`` varint field, then the history (0x12) or summary (0x1a) field.
_HEAD = re.compile(rb"(?:\x08[\x80-\xff]{0,9}[\x00-\x7f])?([\x12\x1a])([\x80-\xff]{0,4}[\x00-\x7f])")


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
            tag, pos = read_varint(payload, pos)
            number, wire = tag >> 3, tag & 7
            if number not in _NOT_KIND:
                return number if wire == 2 else None
            if wire == 0:
                _, pos = read_varint(payload, pos)
            elif wire == 2:
                length, pos = read_varint(payload, pos)
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


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """Protobuf base-128 varint at ``pos``: ``(value, position after it)``; IndexError if cut short."""
    result = shift = 0
    while True:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7


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
