"""Framing of W&B transaction logs (``run-<id>.wandb``): bytes in, record payloads out.

The file is a 7-byte header (``:W&B``, magic 0xBEE1 as little-endian uint16, version 0) followed by
LevelDB-log blocks of 32 KiB counted from the start of the file. Each block holds chunks with a
7-byte header (uint32 checksum, uint16 length, uint8 type FULL/FIRST/MIDDLE/LAST); a record
larger than the space left in a block is split into FIRST, MIDDLE..., LAST chunks. The checksum is
zlib's CRC-32 (IEEE polynomial, not masked) over the type byte and the chunk data — this is what
wandb-core writes (its LevelDB writer is built with the IEEE CRC, unlike stock LevelDB's masked
CRC-32C), checked here against files written by the real client.

The reader is tolerant in the way crashed runs need: every complete record before a damaged or
missing tail is kept, and the damage is described in :attr:`LogScan.problems`. A chunk that fails
its checksum loses the rest of its block (the reader resynchronises at the next block, as LevelDB
does), never the whole file.

:func:`iter_log` reads the file in block-aligned windows (:data:`WINDOW_SIZE`), so a reader holds
one window's records at a time however big the run; :func:`scan_log` frames bytes already in memory.
Both run the same :class:`Framer`.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from runlab.errors import CorruptRunFileError

#: File header: ``:W&B``, magic 0xBEE1, version 0.
HEADER = struct.pack("<4sHB", b":W&B", 0xBEE1, 0)
BLOCK_SIZE = 32 * 1024
CHUNK_HEADER_SIZE = 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4

_CHUNK = struct.Struct("<IHB")
# CRC of the type byte alone, the starting value for the CRC over the chunk data.
_TYPE_CRC = tuple(zlib.crc32(bytes([t])) for t in range(LAST + 1))
_FIX_HINT = "check that the path is a W&B run file (run-<id>.wandb) and that it was copied completely"


@dataclass
class LogScan:
    """The complete records of one log, in file order, and what could not be read."""

    records: list[bytes] = field(default_factory=list)
    """Payloads (serialised ``wandb_internal.Record`` messages) of every complete record."""
    problems: list[str] = field(default_factory=list)
    """Human-readable descriptions of damage; empty for a clean log."""
    truncated: bool = False
    """True when the file ends inside a record (the writer was killed mid-write)."""
    bytes_lost: int = 0
    """Bytes that did not become records (damaged chunks, incomplete tail)."""
    records_lost: int = 0
    """Records known to be lost: one per damaged region that cut a record, plus an incomplete tail."""
    damaged_regions: int = 0
    """Regions skipped because a chunk failed its checksum or framing."""
    damaged_bytes: int = 0
    first_damage_offset: int = -1
    damage_at: list[int] = field(default_factory=list)
    """For each damaged region or lost tail: how many complete records precede it, so a reader can
    tell which history steps the damage cut (between the kept records around it)."""


def read_log(path: Path) -> LogScan:
    """Read and frame the log at ``path``; raise :class:`CorruptRunFileError` if it is not one."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CorruptRunFileError(f"cannot read W&B run file {str(path)!r}: {exc}", hint=_FIX_HINT) from exc
    return scan_log(data, name=str(path))


def check_header(data: bytes, name: str) -> None:
    """Raise :class:`CorruptRunFileError` unless ``data`` starts with a W&B log header."""
    if not data:
        raise CorruptRunFileError(
            f"W&B run file {name!r} is empty (0 bytes): the run was stopped before it wrote anything",
            hint="delete the run directory or leave it out of the paths you ingest",
        )
    if data[:4] != HEADER[:4] or len(data) < len(HEADER) or data[4:6] != HEADER[4:6]:
        raise CorruptRunFileError(
            f"{name!r} is not a W&B transaction log: it must start with the header ':W&B' + 0xBEE1, "
            f"got {bytes(data[:7])!r}",
            hint=_FIX_HINT,
        )
    if data[6] != HEADER[6]:
        raise CorruptRunFileError(
            f"W&B run file {name!r} has log format version {data[6]}, runlab reads version 0",
            hint="upgrade runlab, or sync the run to W&B and fetch it with `runlab fetch`",
        )


def scan_log(data: bytes, name: str = "<bytes>") -> LogScan:
    """Split a whole log into record payloads, keeping every complete record before any damage."""
    check_header(data, name)
    framer = Framer()
    framer.feed(data, final=True)
    return framer.scan


#: Bytes read at a time by :func:`iter_log`: whole blocks, so no chunk straddles two windows.
WINDOW_SIZE = 256 * BLOCK_SIZE


def iter_log(path: Path, window: int | None = None) -> Iterator[tuple[list[bytes], LogScan]]:
    """Read the log at ``path`` in block-aligned windows: per window, the records completed in it.

    Yields ``(records, scan)`` where ``records`` are the payloads completed in that window (a
    record split across windows comes with the window that ends it) and ``scan`` the running
    account of damage (complete only after the last window). Memory stays at one window plus
    one split record, whatever the file size; the records equal :func:`scan_log`'s.
    """
    window = WINDOW_SIZE if window is None else window
    if window <= 0 or window % BLOCK_SIZE:
        raise ValueError(f"window must be a positive multiple of {BLOCK_SIZE} bytes, got {window}")
    try:
        fh = open(path, "rb")  # noqa: SIM115  (closed below; the generator may stop early)
    except OSError as exc:
        raise CorruptRunFileError(f"cannot read W&B run file {str(path)!r}: {exc}", hint=_FIX_HINT) from exc
    with fh:
        data = fh.read(window)
        check_header(data, str(path))
        framer = Framer()
        while True:
            nxt = fh.read(window) if len(data) == window else b""
            framer.feed(data, final=not nxt)
            yield framer.take(), framer.scan
            if not nxt:
                return
            data = nxt


class Framer:
    """The framing state machine of :func:`scan_log`, fed block-aligned windows in file order.

    State between windows: the chunks of a record split across the boundary, where it began, and
    the file offset of the window. Records collect in :attr:`scan` ``.records`` until
    :meth:`take` hands them out; counts of kept records before damage include those taken.
    """

    def __init__(self) -> None:
        self.scan = LogScan()
        self.base = 0  # file offset of the next window
        self.taken = 0  # records handed out by take()
        self.parts: list[bytes] | None = None  # chunks of a record split across blocks
        self.part_start = 0  # where that record began, relative to the next window

    def take(self) -> list[bytes]:
        """The records completed since the last call (removed from :attr:`scan`)."""
        out, self.scan.records = self.scan.records, []
        self.taken += len(out)
        return out

    def feed(self, data: bytes, *, final: bool) -> None:
        """Frame one window (the first starts with the file header; all but the last are whole blocks).

        Long because it is the reader's hot loop: the framing states (whole record, split record,
        padding, damage, tail) stay inline in one loop, since a call per chunk costs a third of
        the read time on a 100k-step run.
        """
        scan = self.scan
        records = scan.records
        unpack, crc32, type_crc = _CHUNK.unpack_from, zlib.crc32, _TYPE_CRC
        full_crc = type_crc[FULL]
        size = len(data)
        pos = len(HEADER) if self.base == 0 else 0
        parts, part_start = self.parts, self.part_start
        while pos < size:
            block_end = pos - pos % BLOCK_SIZE + BLOCK_SIZE
            if pos + CHUNK_HEADER_SIZE <= min(block_end, size) and parts is None:  # fast path: one whole record
                checksum, length, kind = unpack(data, pos)
                end = pos + CHUNK_HEADER_SIZE + length
                chunk = data[pos + CHUNK_HEADER_SIZE : end]
                if (
                    kind == FULL
                    and end <= block_end
                    and len(chunk) == length
                    and crc32(chunk, full_crc) == checksum
                ):
                    records.append(chunk)
                    pos = end
                    continue
            if block_end - pos < CHUNK_HEADER_SIZE:  # block trailer: zero padding
                pos = block_end
                continue
            if pos + CHUNK_HEADER_SIZE > size:
                tail_start = part_start if parts is not None else pos
                self._lost_tail(size - tail_start, parts is not None, data, pos)
                parts = None
                break
            checksum, length, kind = unpack(data, pos)
            start = pos + CHUNK_HEADER_SIZE
            end = start + length
            if end > size and 0 < kind <= LAST and end <= block_end:
                self._lost_tail(size - (part_start if parts is not None else pos), True, data, pos)
                parts = None
                break
            if kind == 0 and length == 0 and checksum == 0:  # preallocated / padded space
                pos = block_end
                continue
            if end > block_end or not 0 < kind <= LAST or crc32(data[start:end], type_crc[kind]) != checksum:
                lost = min(block_end, size) - pos + (pos - part_start if parts is not None else 0)
                self._damaged(pos, lost, parts is not None)
                parts = None
                pos = block_end
                continue
            pos = end
            if kind == FULL:
                if parts is not None:
                    self._damaged(part_start, start - part_start, True)
                    parts = None
                records.append(data[start:end])
            elif kind == FIRST:
                if parts is not None:
                    self._damaged(part_start, start - part_start, True)
                parts, part_start = [data[start:end]], start
            elif parts is None:  # MIDDLE/LAST without FIRST: its start was in a damaged block
                self._damaged(start, length, True)
            elif kind == MIDDLE:
                parts.append(data[start:end])
            else:
                parts.append(data[start:end])
                records.append(b"".join(parts))
                parts = None
        if final and parts is not None:
            self._lost_tail(size - part_start, True, data, size)
            parts = None
        self.parts, self.part_start = parts, part_start - size
        self.base += size
        if final and scan.damaged_regions:
            scan.problems.insert(
                0,
                f"{scan.damaged_bytes} bytes in {scan.damaged_regions} damaged region(s) (first at offset "
                f"{scan.first_damage_offset}) failed their checksum or framing and were skipped; "
                f"every record in those bytes is lost, {self.kept} complete records kept",
            )

    @property
    def kept(self) -> int:
        """Complete records so far, taken or not."""
        return self.taken + len(self.scan.records)

    def _lost_tail(self, nbytes: int, in_record: bool, data: bytes, pos: int) -> None:
        """Record an incomplete last record (the usual shape of a killed run's log)."""
        scan = self.scan
        if not in_record and not any(data[pos:]):
            return  # zero padding after the last record, not data
        scan.truncated = True
        scan.damage_at.append(self.kept)
        scan.bytes_lost += nbytes
        scan.records_lost += 1
        scan.problems.append(
            f"log is truncated: the last {nbytes} bytes hold 1 incomplete record, which was dropped; "
            f"{self.kept} complete records were kept"
        )

    def _damaged(self, offset: int, nbytes: int, record_lost: bool) -> None:
        """Count a damaged region that the reader skipped to resynchronise (reported once, summed)."""
        scan = self.scan
        if scan.first_damage_offset < 0:
            scan.first_damage_offset = self.base + offset
        scan.damage_at.append(self.kept)
        scan.damaged_regions += 1
        scan.damaged_bytes += nbytes
        scan.bytes_lost += nbytes
        scan.records_lost += int(record_lost)
