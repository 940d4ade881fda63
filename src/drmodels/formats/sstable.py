"""LevelDB-style sorted string tables, the container of a TensorFlow checkpoint's `.index`.

Reader and writer side by side (TensorFlow core/lib/io/format.{h,cc}, block_builder.cc,
table_builder.cc): data blocks, a metaindex block, an index block, then a 48-byte footer (two
varint block handles, zero padding, magic 0xdb4775248b80fb57). Each block is followed by a 5-byte
trailer (compression type + masked CRC-32C of the contents and that type byte). Block entries are
prefix-compressed keys with a restart array at the end. The writer writes as TensorFlow's
BundleWriter does: data blocks of at most ~256 KiB with a restart point every 16 keys, an empty
metaindex block, an index block (restart every key) holding the shortest separators, never
compressed. The reader checks every CRC, restart array, key order and handle, and raises
TableError naming the block at fault.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import google_crc32c

from drmodels.errors import FormatError

MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48
TRAILER_SIZE = 5
MASK_DELTA = 0xA282EAD8
BLOCK_SIZE = 256 * 1024
DATA_RESTART_INTERVAL = 16
INDEX_RESTART_INTERVAL = 1
HANDLE_PADDING = 40


class TableError(FormatError):
    """Bytes that are not a valid table; the message names the block or entry at fault."""


def mask(crc: int) -> int:
    """TensorFlow's masked CRC (tsl/lib/hash/crc32c.h): rotate right by 15, add a constant."""
    return (((crc >> 15) | (crc << 17)) + MASK_DELTA) & 0xFFFFFFFF


def unmask(masked: int) -> int:
    rot = (masked - MASK_DELTA) & 0xFFFFFFFF
    return ((rot >> 17) | (rot << 15)) & 0xFFFFFFFF


def crc32c(data: bytes) -> int:
    return int(google_crc32c.value(bytes(data)))


def _varint(buf: bytes, pos: int, end: int, what: str, bits: int = 64) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= end:
            raise TableError(f"{what}: varint runs past the end (byte {pos})")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            break
        shift += 7
        if shift >= bits:
            raise TableError(f"{what}: varint longer than {bits} bits at byte {pos}")
    return result, pos


@dataclass(frozen=True)
class BlockHandle:
    offset: int
    size: int

    def __str__(self) -> str:
        return f"offset {self.offset}, size {self.size}"


def _handle(buf: bytes, pos: int, end: int, what: str) -> tuple[BlockHandle, int]:
    offset, pos = _varint(buf, pos, end, f"{what} offset")
    size, pos = _varint(buf, pos, end, f"{what} size")
    return BlockHandle(offset, size), pos


def _read_block(data: bytes, handle: BlockHandle, what: str, table_end: int) -> bytes:
    end = handle.offset + handle.size + TRAILER_SIZE
    if end > table_end:
        raise TableError(
            f"{what} ({handle}) ends at byte {end} but the table's blocks end at byte {table_end} "
            "(index truncated or block handle corrupt)"
        )
    contents = data[handle.offset : handle.offset + handle.size]
    kind = data[handle.offset + handle.size]
    (stored,) = struct.unpack_from("<I", data, handle.offset + handle.size + 1)
    actual = int(google_crc32c.extend(crc32c(contents), bytes((kind,))))
    if unmask(stored) != actual:
        raise TableError(
            f"{what} ({handle}): block checksum mismatch, trailer stores CRC-32C {unmask(stored):#010x} "
            f"but the block's bytes give {actual:#010x}"
        )
    if kind == 1:
        raise TableError(
            f"{what} ({handle}) is snappy-compressed; TensorFlow's bundle writer never "
            "compresses the index, so this file was not written by a TensorFlow saver"
        )
    if kind != 0:
        raise TableError(f"{what} ({handle}) has unknown compression type {kind} (0 = none, 1 = snappy)")
    return contents


def _block_entries(block: bytes, what: str) -> Iterator[tuple[bytes, bytes]]:
    """Entries of one block; checks the restart array and that restart points hold full keys."""
    n = len(block)
    if n < 4:
        raise TableError(f"{what}: {n} bytes, too short for the restart count")
    (num_restarts,) = struct.unpack_from("<I", block, n - 4)
    if num_restarts == 0 or num_restarts * 4 + 4 > n:
        raise TableError(f"{what}: restart count {num_restarts} does not fit in its {n} bytes")
    limit = n - 4 - 4 * num_restarts
    restarts = struct.unpack_from(f"<{num_restarts}I", block, limit)
    if restarts[0] != 0 and limit > 0:
        raise TableError(f"{what}: first restart point is {restarts[0]}, expected 0")
    restart_set = set(restarts)
    if any(r > limit for r in restarts) or list(restarts) != sorted(restart_set):
        raise TableError(
            f"{what}: restart points {list(restarts)[:8]} are not increasing offsets "
            f"within the {limit} bytes of entries"
        )
    pos = 0
    key = b""
    seen_restarts = 0
    while pos < limit:
        start = pos
        ctx = f"{what}, entry at byte {start}"
        shared, pos = _varint(block, pos, limit, ctx, 32)
        unshared, pos = _varint(block, pos, limit, ctx, 32)
        value_len, pos = _varint(block, pos, limit, ctx, 32)
        if start in restart_set:
            seen_restarts += 1
            if shared != 0:
                raise TableError(
                    f"{ctx}: restart point shares {shared} bytes with the previous key (must be 0)"
                )
        if shared > len(key):
            raise TableError(f"{ctx}: shares {shared} bytes of a {len(key)}-byte previous key")
        if pos + unshared + value_len > limit:
            raise TableError(
                f"{ctx}: key and value ({unshared} + {value_len} bytes) run past the "
                f"block's {limit} bytes of entries"
            )
        key = key[:shared] + block[pos : pos + unshared]
        pos += unshared
        value = block[pos : pos + value_len]
        pos += value_len
        yield key, value
    if seen_restarts != len(restart_set) and limit > 0:
        missing = len(restart_set) - seen_restarts
        raise TableError(f"{what}: {missing} restart point(s) do not start an entry")


def read_table(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """All key/value pairs of an SSTable in key order; raises TableError on any inconsistency."""
    if len(data) < FOOTER_SIZE:
        raise TableError(
            f"index is {len(data)} bytes, shorter than the {FOOTER_SIZE}-byte table footer "
            "(truncated or not a checkpoint index)"
        )
    footer_at = len(data) - FOOTER_SIZE
    (magic,) = struct.unpack_from("<Q", data, len(data) - 8)
    if magic != MAGIC:
        raise TableError(
            f"footer magic is {magic:#018x}, expected {MAGIC:#018x}: not a TensorFlow "
            "checkpoint index (or truncated / garbage at its end)"
        )
    meta_handle, pos = _handle(data, footer_at, footer_at + 40, "footer metaindex handle")
    index_handle, pos = _handle(data, pos, footer_at + 40, "footer index handle")
    _read_block(data, meta_handle, "metaindex block", footer_at)
    index_block = _read_block(data, index_handle, "index block", footer_at)
    previous: bytes | None = None
    for separator, handle_bytes in _block_entries(index_block, "index block"):
        what = f"data block for keys up to {separator.decode('utf-8', 'replace')!r}"
        handle, used = _handle(handle_bytes, 0, len(handle_bytes), what)
        if used != len(handle_bytes):
            raise TableError(f"{what}: index entry has {len(handle_bytes) - used} trailing bytes")
        block = _read_block(data, handle, f"{what} ({handle})", footer_at)
        for key, value in _block_entries(block, f"{what} ({handle})"):
            if previous is not None and key <= previous:
                raise TableError(
                    f"key {key.decode('utf-8', 'replace')!r} is not after "
                    f"{previous.decode('utf-8', 'replace')!r}: keys out of order"
                )
            if key > separator:
                raise TableError(
                    f"key {key.decode('utf-8', 'replace')!r} is past its block's index "
                    f"separator {separator.decode('utf-8', 'replace')!r}"
                )
            previous = key
            yield key, value


# --- writer ---------------------------------------------------------------------------------------


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


class BlockBuilder:
    """Prefix-compressed entries with a restart array (block_builder.cc)."""

    def __init__(self, restart_interval: int) -> None:
        self._interval = restart_interval
        self._buffer = bytearray()
        self._restarts = [0]
        self._counter = 0
        self._last = b""

    @property
    def empty(self) -> bool:
        return not self._buffer

    def estimated_size(self) -> int:
        return len(self._buffer) + 4 * len(self._restarts) + 4

    def add(self, key: bytes, value: bytes) -> None:
        shared = 0
        if self._counter < self._interval:
            limit = min(len(key), len(self._last))
            while shared < limit and key[shared] == self._last[shared]:
                shared += 1
        else:
            self._restarts.append(len(self._buffer))
            self._counter = 0
        self._buffer += varint(shared) + varint(len(key) - shared) + varint(len(value))
        self._buffer += key[shared:] + value
        self._last = key
        self._counter += 1

    def finish(self) -> bytes:
        restarts = struct.pack(f"<{len(self._restarts)}I", *self._restarts)
        return bytes(self._buffer) + restarts + struct.pack("<I", len(self._restarts))


def shortest_separator(start: bytes, limit: bytes) -> bytes:
    """A short key >= start and < limit (BytewiseComparator::FindShortestSeparator)."""
    n = min(len(start), len(limit))
    i = 0
    while i < n and start[i] == limit[i]:
        i += 1
    if i < n and start[i] < 0xFF and start[i] + 1 < limit[i]:
        return start[:i] + bytes((start[i] + 1,))
    return start


def short_successor(key: bytes) -> bytes:
    """A short key >= key (BytewiseComparator::FindShortSuccessor)."""
    for i, byte in enumerate(key):
        if byte != 0xFF:
            return key[:i] + bytes((byte + 1,))
    return key


class _Table:
    def __init__(self, block_size: int) -> None:
        self.out = bytearray()
        self.block_size = block_size
        self.data = BlockBuilder(DATA_RESTART_INTERVAL)
        self.index = BlockBuilder(INDEX_RESTART_INTERVAL)
        self.pending: bytes | None = None  # handle of the flushed block awaiting its index entry
        self.last = b""

    def write_block(self, contents: bytes) -> bytes:
        """Append a block and its trailer; returns its encoded BlockHandle."""
        handle = varint(len(self.out)) + varint(len(contents))
        kind = b"\x00"
        crc = google_crc32c.extend(crc32c(contents), kind)
        self.out += contents + kind + struct.pack("<I", mask(int(crc)))
        return handle

    def flush(self) -> None:
        if self.data.empty:
            return
        self.pending = self.write_block(self.data.finish())
        self.data = BlockBuilder(DATA_RESTART_INTERVAL)

    def add(self, key: bytes, value: bytes) -> None:
        if (self.out or not self.data.empty) and key <= self.last:
            raise ValueError(f"table keys must increase: {key!r} after {self.last!r}")
        if self.pending is not None:
            self.index.add(shortest_separator(self.last, key), self.pending)
            self.pending = None
        self.data.add(key, value)
        self.last = key
        if self.data.estimated_size() >= self.block_size:
            self.flush()

    def finish(self) -> bytes:
        self.flush()
        meta_handle = self.write_block(BlockBuilder(DATA_RESTART_INTERVAL).finish())
        if self.pending is not None:
            self.index.add(short_successor(self.last), self.pending)
            self.pending = None
        index_handle = self.write_block(self.index.finish())
        handles = meta_handle + index_handle
        footer = handles + bytes(HANDLE_PADDING - len(handles)) + struct.pack("<Q", MAGIC)
        assert len(footer) == FOOTER_SIZE
        return bytes(self.out + footer)


def build_table(items: Iterable[tuple[bytes, bytes]], block_size: int = BLOCK_SIZE) -> bytes:
    """An SSTable of (key, value) pairs given in increasing key order."""
    table = _Table(block_size)
    for key, value in items:
        table.add(key, value)
    return table.finish()
