"""Test helpers: a LevelDB-log writer and a plain protobuf-loop reader for W&B run files.

The writer re-frames record payloads taken from files the real wandb client wrote (to build
typed-only logs, or random payload sequences for property tests); the reference reader is the
straightforward decoding the fast reader must agree with.
"""

from __future__ import annotations

import json
import math
import struct
import zlib
from typing import Any

BLOCK = 32 * 1024
HEADER = struct.pack("<4sHB", b":W&B", 0xBEE1, 0)


def frame(payloads: list[bytes]) -> bytes:
    """Write payloads as a W&B log: header, 32 KiB blocks, FULL/FIRST/MIDDLE/LAST chunks."""
    out = bytearray(HEADER)
    for payload in payloads:
        rest = memoryview(payload)
        first = True
        while True:
            left = BLOCK - len(out) % BLOCK
            if left < 7:
                out += b"\x00" * left
                left = BLOCK
            take = min(len(rest), left - 7)
            last = take == len(rest)
            kind = (1 if last else 2) if first else (4 if last else 3)
            data = bytes(rest[:take])
            crc = zlib.crc32(data, zlib.crc32(bytes([kind])))
            out += struct.pack("<IHB", crc, take, kind) + data
            rest = rest[take:]
            first = False
            if last:
                break
    return bytes(out)


def unframe(data: bytes) -> list[bytes]:
    """Plain, strict reading of the framing (no recovery): the reference for tests."""
    assert data[:7] == HEADER
    pos, records, parts = 7, [], b""
    while pos + 7 <= len(data):
        if BLOCK - pos % BLOCK < 7:
            pos += BLOCK - pos % BLOCK
            continue
        crc, length, kind = struct.unpack_from("<IHB", data, pos)
        chunk = data[pos + 7 : pos + 7 + length]
        assert zlib.crc32(chunk, zlib.crc32(bytes([kind]))) == crc
        pos += 7 + length
        parts = chunk if kind in (1, 2) else parts + chunk
        if kind in (1, 4):
            records.append(parts)
    return records


def reference_history(data: bytes) -> list[tuple[int, str, float]]:
    """History rows decoded the plain way: protobuf per record, json.loads per item."""
    from wandb.proto import wandb_internal_pb2 as pb

    rows = []
    for payload in unframe(data):
        rec = pb.Record.FromString(payload)
        if rec.WhichOneof("record_type") != "history":
            continue
        items = {}
        for item in rec.history.item:
            name = "/".join(item.nested_key) or item.key
            items[name] = _value(item)
        step = int(items.pop("_step", rec.history.step.num))
        for name, value in items.items():
            if isinstance(value, bool):
                value = float(value)
            if isinstance(value, int | float) and not _is_media_field(name, items):
                rows.append((step, name, float(value)))
    return rows


def _value(item: Any) -> Any:
    if item.value_json:
        return json.loads(item.value_json)
    case = item.WhichOneof("value")
    return (
        None if case in (None, "none") else json.loads(item.json) if case == "json" else getattr(item, case)
    )


def _is_media_field(name: str, items: dict[str, Any]) -> bool:
    parts = name.split("/")
    return any("/".join([*parts[:i], "_type"]) in items for i in range(1, len(parts)))


def same_float(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))
