"""Fast decoding of W&B history and summary records into flat item columns.

A 100k-step run has ~800k history items and as many summary updates; decoding each through
protobuf objects costs ~1.5 µs of Python per item. Nearly all items written by wandb-core have one
shape — ``key``/``nested_key`` fields, then ``value_json`` holding a short ASCII JSON text — so one
compiled regex splits a whole record into ``(item length, key bytes, value length, value)`` tuples
in C. The split is then *proved* exact in bulk with numpy: every item's declared length must equal
the bytes matched, every value's declared length its text, every distinct key part must decode as
key/nested_key fields only, and the matched items must tile the record up to a strictly parsed
tail (the ``step`` field of a history record, nothing for a summary record). A record that fails
a check (typed-only values, long keys or values, removals) is decoded with the protobuf class
instead, so the fast path changes speed, never results.

``HistoryItem`` and ``SummaryItem`` share field numbers (key 1, nested_key 2, value_json 16), so
the same pattern and proof serve both.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import chain, compress
from typing import Any

import numpy as np

from runlab.sources._wandb_records import read_varint as _varint

# One item: field 1 + 1-byte length, key/nested_key fields (lazily up to the value_json tag
# 16 = b"\x82\x01"), 1-byte value length, printable-ASCII value text.
ITEM = re.compile(rb"\x0a([\x00-\x7f])([\x0a\x12][\s\S]*?)\x82\x01([\x00-\x7f])([\x20-\x7e]*)")

#: Raw value of a summary removal (never valid JSON, so never confused with a value).
REMOVED = b"\x00removed"

# Slow-path decoder: record body -> (tail number, [(key path, raw JSON or REMOVED)]).
_SlowDecoder = Callable[[bytes], tuple[int, list[tuple[tuple[str, ...], bytes]]]]


@dataclass
class ItemColumns:
    """Every item of every record, in record order: one entry per key per record."""

    names: list[str] = field(default_factory=list)
    """Name per key id (``nested_key`` parts joined with ``/``)."""
    parts: list[tuple[str, ...]] = field(default_factory=list)
    """Key path per key id, as W&B nests it."""
    record: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    """Index of the record each item came from."""
    key: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    """Key id of each item."""
    raw: list[bytes] = field(default_factory=list)
    """JSON text of each item's value (typed values rendered as JSON; :data:`REMOVED` for removals)."""
    steps: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    """History only: step of each record — its ``_step`` item, else its ``step`` field."""
    unreadable: int = 0
    """Records that could not be decoded at all (skipped)."""
    values: list[Any] = field(default_factory=list)
    """Decoded values per item (filled by the reader after one bulk JSON decode)."""
    non_numeric: list[int] = field(default_factory=list)
    """Indices of items whose value is not a number (text, media, lists, null)."""

    def key_id(self, name: str) -> int:
        """Key id of ``name``, or -1 when no item has it."""
        try:
            return self.names.index(name)
        except ValueError:
            return -1


class _Keys:
    """Key ids by name, and the cache from raw key bytes to key id (validated once per key)."""

    def __init__(self, out: ItemColumns) -> None:
        self.out = out
        self.by_name: dict[str, int] = {}
        self.by_bytes: dict[bytes, int] = {}

    def intern(self, parts: tuple[str, ...]) -> int:
        name = "/".join(parts)
        kid = self.by_name.get(name)
        if kid is None:
            kid = self.by_name[name] = len(self.out.names)
            self.out.names.append(name)
            self.out.parts.append(parts)
        return kid

    def learn(self, key_bytes: tuple[bytes, ...]) -> None:
        """Validate key parts not seen before; invalid ones map to -1 (record falls back)."""
        for kb in set(key_bytes).difference(self.by_bytes):
            parts = _decode_key_fields(kb)
            self.by_bytes[kb] = -1 if parts is None else self.intern(parts)


def decode_history(bodies: list[bytes]) -> ItemColumns:
    """Decode serialised ``HistoryRecord`` messages; fills :attr:`ItemColumns.steps`."""
    out, step_num = _decode(bodies, _parse_step_tail, _slow_history)
    out.steps = _steps(out, step_num)
    return out


def decode_summary(bodies: list[bytes]) -> ItemColumns:
    """Decode serialised ``SummaryRecord`` messages (updates, and removals as :data:`REMOVED`)."""
    out, _ = _decode(bodies, _parse_no_tail, _slow_summary)
    return out


def _decode(
    bodies: list[bytes], tail: Callable[[bytes, int], int | None], slow_decoder: _SlowDecoder
) -> tuple[ItemColumns, np.ndarray]:
    out = ItemColumns()
    keys = _Keys(out)
    n = len(bodies)
    split = list(map(ITEM.findall, bodies))
    counts = np.fromiter(map(len, split), np.int64, n)
    found = list(chain.from_iterable(split))
    del split
    columns: tuple[tuple[bytes, ...], ...] = tuple(zip(*found, strict=True)) if found else ((), (), (), ())
    del found
    ok, tail_num, key_ids = _prove(bodies, columns, counts, keys, tail)
    raw: list[bytes] = list(columns[3])
    record = np.repeat(np.arange(n, dtype=np.int64), counts)
    if not ok.all():
        fast_items = np.repeat(ok, counts)
        record, key_ids = record[fast_items], key_ids[fast_items]
        raw = list(compress(raw, fast_items.tolist()))
        record, key_ids, raw = _merge_slow(
            bodies, np.flatnonzero(~ok), keys, slow_decoder, tail_num, (record, key_ids, raw)
        )
    out.record, out.key, out.raw = record, key_ids, raw
    return out, tail_num


def _prove(
    bodies: list[bytes],
    columns: tuple[tuple[bytes, ...], ...],
    counts: np.ndarray,
    keys: _Keys,
    tail: Callable[[bytes, int], int | None],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check the regex split of each record is its exact protobuf decoding (see module doc).

    Returns ``(record proved, number parsed from its tail, key id per item)``.
    """
    n = len(bodies)
    ok = counts > 0
    items_end = np.zeros(n, np.int64)
    tail_num = np.zeros(n, np.int64)
    ilen_b, key_bytes, vlen_b, values = columns
    m = len(key_bytes)
    keys.learn(key_bytes)
    key_ids = np.fromiter(map(keys.by_bytes.__getitem__, key_bytes), np.int64, m)
    if m:
        ilen = np.frombuffer(b"".join(ilen_b), np.uint8).astype(np.int64)
        vlen = np.frombuffer(b"".join(vlen_b), np.uint8).astype(np.int64)
        klen = np.fromiter(map(len, key_bytes), np.int64, m)
        vtext = np.fromiter(map(len, values), np.int64, m)
        bad = (ilen != klen + 3 + vtext) | (vlen != vtext) | (key_ids < 0)
        starts = (np.cumsum(counts) - counts)[ok]
        items_end[ok] = np.add.reduceat(ilen + 2, starts)
        ok[ok] = np.add.reduceat(bad.astype(np.int64), starts) == 0
    for i in np.flatnonzero(ok).tolist():
        num = tail(bodies[i], int(items_end[i]))
        if num is None:
            ok[i] = False
        else:
            tail_num[i] = num
    return ok, tail_num, key_ids


def _merge_slow(
    bodies: list[bytes],
    slow: np.ndarray,
    keys: _Keys,
    decoder: _SlowDecoder,
    tail_num: np.ndarray,
    fast: tuple[np.ndarray, np.ndarray, list[bytes]],
) -> tuple[np.ndarray, np.ndarray, list[bytes]]:
    """Decode the records the fast path could not prove with protobuf; merge in record order."""
    from google.protobuf.message import DecodeError

    s_rec: list[int] = []
    s_key: list[int] = []
    s_raw: list[bytes] = []
    for i in slow.tolist():
        try:
            tail_num[i], items = decoder(bytes(bodies[i]))
        except DecodeError:
            keys.out.unreadable += 1
            continue
        for parts, raw in items:
            s_rec.append(i)
            s_key.append(keys.intern(parts))
            s_raw.append(raw)
    record, key_ids, raw = fast
    all_rec = np.concatenate((record, np.asarray(s_rec, np.int64)))
    order = np.argsort(all_rec, kind="stable")
    all_key = np.concatenate((key_ids, np.asarray(s_key, np.int64)))[order]
    both = raw + s_raw
    return all_rec[order], all_key, [both[j] for j in order.tolist()]


def _slow_history(body: bytes) -> tuple[int, list[tuple[tuple[str, ...], bytes]]]:
    from wandb.proto import wandb_internal_pb2 as pb

    msg = pb.HistoryRecord.FromString(body)
    items = [
        (_path(item), item.value_json.encode() if item.value_json else _typed_json(item)) for item in msg.item
    ]
    return msg.step.num, items


def _slow_summary(body: bytes) -> tuple[int, list[tuple[tuple[str, ...], bytes]]]:
    from wandb.proto import wandb_internal_pb2 as pb

    msg = pb.SummaryRecord.FromString(body)
    items = [(_path(item), item.value_json.encode() or b"null") for item in msg.update]
    items += [(_path(item), REMOVED) for item in msg.remove]
    return 0, items


def _path(item: Any) -> tuple[str, ...]:
    return tuple(item.nested_key) or (item.key,)


def _steps(out: ItemColumns, step_num: np.ndarray) -> np.ndarray:
    """Step per record: the logged ``_step`` value where present (W&B's truth), else ``step.num``."""
    steps = step_num.copy()
    kid = out.key_id("_step")
    if kid < 0 or not out.raw:
        return steps
    idx = np.flatnonzero(out.key == kid)
    texts = [out.raw[j] for j in idx.tolist()]
    try:
        values = np.array(texts, dtype=np.bytes_).astype(np.int64)
    except ValueError:
        values = np.array([_as_step(t) for t in texts], np.int64)
    steps[out.record[idx]] = values
    return steps


def _as_step(text: bytes) -> int:
    try:
        value = float(text)
    except ValueError:
        return 0
    return int(value) if math.isfinite(value) else 0


def _decode_key_fields(data: bytes) -> tuple[str, ...] | None:
    """Decode bytes holding only item ``key`` (1) / ``nested_key`` (2) fields, else None."""
    key = ""
    nested: list[str] = []
    pos, n = 0, len(data)
    try:
        while pos < n:
            tag = data[pos]
            length, pos = _varint(data, pos + 1)
            if tag not in (0x0A, 0x12) or pos + length > n:
                return None
            text = data[pos : pos + length].decode("utf-8")
            pos += length
            if tag == 0x0A:
                key = text
            else:
                nested.append(text)
    except (IndexError, UnicodeDecodeError):
        return None
    return tuple(nested) if nested else (key,)


def _parse_no_tail(body: bytes, pos: int) -> int | None:
    return 0 if pos == len(body) else None


def _parse_step_tail(body: bytes, pos: int) -> int | None:
    """Parse exactly ``[step {num}]`` from ``pos`` to the end; None if anything else is there."""
    n = len(body)
    if pos == n:
        return 0
    if body[pos] != 0x12 or pos + 1 >= n:
        return None
    length = body[pos + 1]
    end = pos + 2 + length
    if end != n or length > 11:
        return None
    if length == 0:
        return 0
    if body[pos + 2] != 0x08:
        return None
    try:
        num, after = _varint(body, pos + 3)
    except IndexError:
        return None
    return num if after == end else None


def _typed_json(item: Any) -> bytes:
    """Render a typed ``HistoryItem`` value as the JSON text the json encoding would hold."""
    case = item.WhichOneof("value")
    if case == "number":
        v = item.number
        if math.isnan(v):
            return b"NaN"
        if math.isinf(v):
            return b"Infinity" if v > 0 else b"-Infinity"
        return repr(v).encode()
    if case == "integer":
        return str(item.integer).encode()
    if case == "boolean":
        return b"true" if item.boolean else b"false"
    if case == "text":
        import json

        return json.dumps(item.text).encode()
    if case == "json":
        return item.json.encode()
    return b"null"


def last_per_key(cols: ItemColumns) -> Iterator[tuple[int, int]]:
    """``(key id, item index)`` of the last item of each key (in record order)."""
    if not cols.raw:
        return iter(())
    rev = cols.key[::-1]
    uniq, first_rev = np.unique(rev, return_index=True)
    last = len(rev) - 1 - first_rev
    return zip(uniq.tolist(), last.tolist(), strict=True)
