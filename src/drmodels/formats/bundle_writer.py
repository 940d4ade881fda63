"""TensorFlow checkpoint (tensor bundle V2) writer: the `.data` shard and the `.index` table.

The inverse of `drmodels.formats.bundle`. The `.data-00000-of-00001` shard is every tensor's raw
little-endian bytes, in key order, no padding. The `.index` is a LevelDB-style table
(TensorFlow core/lib/io/table_builder.cc, block_builder.cc, format.cc) written as TensorFlow's
BundleWriter does: key "" -> BundleHeaderProto, then tensor name -> BundleEntryProto (dtype,
shape, offset, size, masked CRC-32C of the bytes); data blocks of at most ~256 KiB with a restart
point every 16 keys, an empty metaindex block, an index block (restart every key) holding the
shortest separators, every block followed by its type byte (0, never compressed) and the masked
CRC-32C of contents + type, then the 48-byte footer ending in the table magic.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import google_crc32c

from drmodels.formats import protobuf as protos
from drmodels.formats.bundle import FOOTER_SIZE, MAGIC, data_file_name, mask

BLOCK_SIZE = 256 * 1024
DATA_RESTART_INTERVAL = 16
INDEX_RESTART_INTERVAL = 1
DT_FLOAT = 1
HANDLE_PADDING = 40


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


def crc32c(data: bytes) -> int:
    return int(google_crc32c.value(data))


# --- table ---------------------------------------------------------------------------------------


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


# --- bundle --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TensorSpec:
    """A float32 tensor to save; `data` produces its bytes when the shard is written."""

    name: str
    shape: tuple[int, ...]
    data: Callable[[], bytes]


@dataclass(frozen=True)
class WrittenTensor:
    name: str
    shape: tuple[int, ...]
    offset: int
    size: int
    crc32c: int


def header_proto(num_shards: int = 1) -> bytes:
    header = protos.BundleHeaderProto(num_shards=num_shards, endianness=0)
    header.version.producer = 1
    return bytes(header.SerializeToString())


def entry_proto(tensor: WrittenTensor) -> bytes:
    entry = protos.BundleEntryProto(
        dtype=DT_FLOAT, offset=tensor.offset, size=tensor.size, crc32c=mask(tensor.crc32c)
    )
    entry.shape.SetInParent()  # present even for scalars, as TensorFlow writes it
    for dim in tensor.shape:
        entry.shape.dim.add(size=dim)
    return bytes(entry.SerializeToString())


def index_bytes(tensors: Iterable[WrittenTensor]) -> bytes:
    items = [(b"", header_proto())]
    items += [(t.name.encode(), entry_proto(t)) for t in sorted(tensors, key=lambda t: t.name.encode())]
    return build_table(items)


def write_checkpoint(prefix: Path, tensors: Iterable[TensorSpec]) -> list[WrittenTensor]:
    """Write `<prefix>.data-00000-of-00001` and `<prefix>.index`; tensors are stored in key order."""
    ordered = sorted(tensors, key=lambda t: t.name.encode())
    written: list[WrittenTensor] = []
    offset = 0
    data_path = Path(data_file_name(str(prefix), 0, 1))
    with data_path.open("wb") as shard:
        for spec in ordered:
            data = spec.data()
            expected = 4
            for dim in spec.shape:
                expected *= dim
            if len(data) != expected:
                raise ValueError(f"{spec.name}: {len(data)} bytes for shape {list(spec.shape)}")
            shard.write(data)
            written.append(WrittenTensor(spec.name, spec.shape, offset, len(data), crc32c(data)))
            offset += len(data)
    Path(f"{prefix}.index").write_bytes(index_bytes(written))
    return written
