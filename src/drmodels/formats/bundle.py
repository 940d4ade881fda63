"""TensorFlow checkpoint (tensor bundle V2) reader: the `.index` table and the `.data` shards.

Pure: `parse_index` takes the index bytes and returns its entries or raises BundleError naming the
block or tensor at fault; `verify_shard` streams one data shard in fixed-size chunks (memory does
not grow with the shard) and returns one finding per tensor whose bytes are missing or differ.

Format (TensorFlow core/lib/io/format.{h,cc}, block_builder.cc, table_builder.cc and
core/util/tensor_bundle/tensor_bundle.{proto,cc}): a LevelDB-style table: data blocks, a
metaindex block, an index block, then a 48-byte footer (two varint block handles, zero padding,
magic 0xdb4775248b80fb57). Each block is followed by a 5-byte trailer (compression type + masked
CRC-32C of the contents and that type byte). Block entries are prefix-compressed keys with a
restart array at the end. Key "" holds BundleHeaderProto; every other key is a tensor name with
its BundleEntryProto (dtype, shape, shard, offset, size, masked CRC-32C of the tensor's bytes).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import google_crc32c

from drmodels.formats import protobuf as protos

MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48
TRAILER_SIZE = 5
MASK_DELTA = 0xA282EAD8
CHUNK = 1 << 20

# DataType enum value -> (name as TensorFlow prints it, bytes per element; 0 = variable-size).
DTYPES: dict[int, tuple[str, int]] = {
    1: ("float32", 4),
    2: ("float64", 8),
    3: ("int32", 4),
    4: ("uint8", 1),
    5: ("int16", 2),
    6: ("int8", 1),
    7: ("string", 0),
    8: ("complex64", 8),
    9: ("int64", 8),
    10: ("bool", 1),
    11: ("qint8", 1),
    12: ("quint8", 1),
    13: ("qint32", 4),
    14: ("bfloat16", 2),
    15: ("qint16", 2),
    16: ("quint16", 2),
    17: ("uint16", 2),
    18: ("complex128", 16),
    19: ("float16", 2),
    20: ("resource", 0),
    21: ("variant", 0),
    22: ("uint32", 4),
    23: ("uint64", 8),
}


class Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


class BundleError(ValueError):
    """The index is not a valid tensor bundle; the message names the block or tensor at fault."""


def mask(crc: int) -> int:
    """TensorFlow's masked CRC (tsl/lib/hash/crc32c.h): rotate right by 15, add a constant."""
    return (((crc >> 15) | (crc << 17)) + MASK_DELTA) & 0xFFFFFFFF


def unmask(masked: int) -> int:
    rot = (masked - MASK_DELTA) & 0xFFFFFFFF
    return ((rot >> 17) | (rot << 15)) & 0xFFFFFFFF


def crc32c(data: bytes) -> int:
    return int(google_crc32c.value(bytes(data)))


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int
    shape: tuple[int, ...]
    shard_id: int
    offset: int
    size: int
    crc32c_masked: int
    sliced: bool = False

    @property
    def dtype_name(self) -> str:
        return DTYPES.get(self.dtype, (f"dtype_{self.dtype}", 0))[0]

    @property
    def num_elements(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def has_data(self) -> bool:
        return not self.sliced

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "dtype": self.dtype_name, "shape": list(self.shape)}


@dataclass(frozen=True)
class BundleIndex:
    num_shards: int
    endianness: int
    version_producer: int
    entries: tuple[TensorEntry, ...]

    def shard_entries(self, shard_id: int) -> list[TensorEntry]:
        return [e for e in self.entries if e.has_data and e.shard_id == shard_id]


# --- table primitives ----------------------------------------------------------------------------


def _varint(buf: bytes, pos: int, end: int, what: str, bits: int = 64) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= end:
            raise BundleError(f"{what}: varint runs past the end (byte {pos})")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            break
        shift += 7
        if shift >= bits:
            raise BundleError(f"{what}: varint longer than {bits} bits at byte {pos}")
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
        raise BundleError(
            f"{what} ({handle}) ends at byte {end} but the table's blocks end at byte {table_end} "
            "(index truncated or block handle corrupt)"
        )
    contents = data[handle.offset : handle.offset + handle.size]
    kind = data[handle.offset + handle.size]
    (stored,) = struct.unpack_from("<I", data, handle.offset + handle.size + 1)
    actual = int(google_crc32c.extend(crc32c(contents), bytes((kind,))))
    if unmask(stored) != actual:
        raise BundleError(
            f"{what} ({handle}): block checksum mismatch, trailer stores CRC-32C {unmask(stored):#010x} "
            f"but the block's bytes give {actual:#010x}"
        )
    if kind == 1:
        raise BundleError(
            f"{what} ({handle}) is snappy-compressed; TensorFlow's bundle writer never "
            "compresses the index, so this file was not written by a TensorFlow saver"
        )
    if kind != 0:
        raise BundleError(f"{what} ({handle}) has unknown compression type {kind} (0 = none, 1 = snappy)")
    return contents


def _block_entries(block: bytes, what: str) -> Iterator[tuple[bytes, bytes]]:
    """Entries of one block; checks the restart array and that restart points hold full keys."""
    n = len(block)
    if n < 4:
        raise BundleError(f"{what}: {n} bytes, too short for the restart count")
    (num_restarts,) = struct.unpack_from("<I", block, n - 4)
    if num_restarts == 0 or num_restarts * 4 + 4 > n:
        raise BundleError(f"{what}: restart count {num_restarts} does not fit in its {n} bytes")
    limit = n - 4 - 4 * num_restarts
    restarts = struct.unpack_from(f"<{num_restarts}I", block, limit)
    if restarts[0] != 0 and limit > 0:
        raise BundleError(f"{what}: first restart point is {restarts[0]}, expected 0")
    restart_set = set(restarts)
    if any(r > limit for r in restarts) or list(restarts) != sorted(restart_set):
        raise BundleError(
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
                raise BundleError(
                    f"{ctx}: restart point shares {shared} bytes with the previous key (must be 0)"
                )
        if shared > len(key):
            raise BundleError(f"{ctx}: shares {shared} bytes of a {len(key)}-byte previous key")
        if pos + unshared + value_len > limit:
            raise BundleError(
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
        raise BundleError(f"{what}: {missing} restart point(s) do not start an entry")


def read_table(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """All key/value pairs of an SSTable in key order; raises BundleError on any inconsistency."""
    if len(data) < FOOTER_SIZE:
        raise BundleError(
            f"index is {len(data)} bytes, shorter than the {FOOTER_SIZE}-byte table footer "
            "(truncated or not a checkpoint index)"
        )
    footer_at = len(data) - FOOTER_SIZE
    (magic,) = struct.unpack_from("<Q", data, len(data) - 8)
    if magic != MAGIC:
        raise BundleError(
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
            raise BundleError(f"{what}: index entry has {len(handle_bytes) - used} trailing bytes")
        block = _read_block(data, handle, f"{what} ({handle})", footer_at)
        for key, value in _block_entries(block, f"{what} ({handle})"):
            if previous is not None and key <= previous:
                raise BundleError(
                    f"key {key.decode('utf-8', 'replace')!r} is not after "
                    f"{previous.decode('utf-8', 'replace')!r}: keys out of order"
                )
            if key > separator:
                raise BundleError(
                    f"key {key.decode('utf-8', 'replace')!r} is past its block's index "
                    f"separator {separator.decode('utf-8', 'replace')!r}"
                )
            previous = key
            yield key, value


# --- bundle --------------------------------------------------------------------------------------


def parse_index(data: bytes) -> BundleIndex:
    """Parse a `.index` file: the header and every tensor entry, each checked for consistency."""
    items = iter(read_table(data))
    first = next(items, None)
    if first is None or first[0] != b"":
        raise BundleError("the table has no header entry (empty key) first: not a tensor bundle index")
    try:
        header = protos.parse(protos.BundleHeaderProto, first[1])
    except protos.ProtoError as exc:
        raise BundleError(f"header (BundleHeaderProto) is malformed: {exc}") from None
    if header.num_shards < 1:
        raise BundleError(f"header says {header.num_shards} data shards; a checkpoint has at least 1")
    if header.endianness != 0:
        raise BundleError(
            f"header says endianness {header.endianness} (big-endian); DeepRacer "
            "checkpoints are little-endian and drmodels reads only those"
        )
    entries = []
    for key, value in items:
        name = key.decode("utf-8", "replace")
        entries.append(_entry(name, value, header.num_shards))
    return BundleIndex(
        int(header.num_shards), int(header.endianness), int(header.version.producer), tuple(entries)
    )


def _entry(name: str, value: bytes, num_shards: int) -> TensorEntry:
    try:
        proto = protos.parse(protos.BundleEntryProto, value)
    except protos.ProtoError as exc:
        raise BundleError(f"tensor {name!r}: entry (BundleEntryProto) is malformed: {exc}") from None
    dims = protos.shape_dims(proto.shape)
    if dims is None or any(d < 0 for d in dims):
        raise BundleError(f"tensor {name!r}: shape is not fully defined ({dims})")
    entry = TensorEntry(
        name,
        int(proto.dtype),
        dims,
        int(proto.shard_id),
        int(proto.offset),
        int(proto.size),
        int(proto.crc32c),
        sliced=len(proto.slices) > 0,
    )
    if entry.sliced:
        return entry
    if entry.dtype not in DTYPES:
        raise BundleError(f"tensor {name!r}: unknown dtype {entry.dtype}")
    if not 0 <= entry.shard_id < num_shards:
        raise BundleError(f"tensor {name!r}: shard {entry.shard_id} but the header declares {num_shards}")
    if entry.offset < 0 or entry.size < 0:
        raise BundleError(f"tensor {name!r}: negative offset {entry.offset} or size {entry.size}")
    itemsize = DTYPES[entry.dtype][1]
    if itemsize and entry.size != entry.num_elements * itemsize:
        raise BundleError(
            f"tensor {name!r}: size {entry.size} bytes but shape {list(dims)} of {entry.dtype_name} "
            f"needs {entry.num_elements * itemsize} bytes"
        )
    return entry


def data_file_name(prefix: str, shard_id: int, num_shards: int) -> str:
    """`<prefix>.data-00000-of-00001` (tensorflow/core/util/tensor_bundle/naming.cc)."""
    return f"{prefix}.data-{shard_id:05d}-of-{num_shards:05d}"


# --- data shard ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataFinding:
    """One tensor whose bytes in the shard are missing, misplaced or differ from the index's CRC."""

    tensor: str | None
    message: str


def shard_extent(entries: list[TensorEntry]) -> int:
    return max((e.offset + e.size for e in entries), default=0)


def verify_shard(
    stream: Readable,
    entries: list[TensorEntry],
    *,
    chunk: int = CHUNK,
    max_findings: int = 20,
    check_trailing: bool = True,
) -> list[DataFinding]:
    """Stream a data shard once, checking every tensor's range and CRC-32C; memory is O(chunk).

    Tensors are visited in offset order; gaps between tensors are skipped (alignment padding),
    overlapping ranges and bytes after the last tensor are reported.
    """
    findings: list[DataFinding] = []
    ordered = sorted((e for e in entries if e.has_data), key=lambda e: (e.offset, e.name))
    pos = 0
    previous: TensorEntry | None = None
    for i, entry in enumerate(ordered):
        if len(findings) >= max_findings:
            break
        if previous is not None and entry.offset < previous.offset + previous.size:
            findings.append(
                DataFinding(
                    entry.name,
                    (
                        f"tensor {entry.name!r} (bytes {entry.offset}..{entry.offset + entry.size}) overlaps "
                        f"{previous.name!r} (bytes {previous.offset}..{previous.offset + previous.size})"
                    ),
                )
            )
            continue
        skip = entry.offset - pos
        skipped = _skip(stream, skip, chunk)
        pos += skipped
        if skipped < skip:
            findings.append(_truncated(ordered[i:], pos))
            return findings
        crc = 0
        left = entry.size
        while left:
            part = stream.read(min(chunk, left))
            if not part:
                break
            crc = google_crc32c.extend(crc, part if isinstance(part, bytes) else bytes(part))
            left -= len(part)
        pos += entry.size - left
        if left:
            findings.append(_truncated(ordered[i:], pos))
            return findings
        if entry.dtype_name in ("string", "variant"):
            previous = entry
            continue  # their CRC covers in-memory length words, not the stored bytes
        if crc != unmask(entry.crc32c_masked):
            findings.append(
                DataFinding(
                    entry.name,
                    (
                        f"tensor {entry.name!r} ({entry.dtype_name} {list(entry.shape)}, bytes "
                        f"{entry.offset}..{entry.offset + entry.size}): CRC-32C of its bytes is {crc:#010x} "
                        "but the "
                        f"index records {unmask(entry.crc32c_masked):#010x}; the tensor's bytes were changed"
                    ),
                )
            )
        previous = entry
    if check_trailing and len(findings) < max_findings:
        extra = _skip(stream, 1 << 62, chunk)
        if extra:
            findings.append(
                DataFinding(
                    None,
                    (
                        f"the shard has {extra} bytes after the last tensor (which ends at byte {pos}); "
                        "a checkpoint written by TensorFlow ends with its last tensor"
                    ),
                )
            )
    return findings


def _skip(stream: Readable, n: int, chunk: int) -> int:
    done = 0
    while done < n:
        part = stream.read(min(chunk, n - done))
        if not part:
            break
        done += len(part)
    return done


def _truncated(missing: list[TensorEntry], pos: int) -> DataFinding:
    first = missing[0]
    more = f" and {len(missing) - 1} later tensor(s)" if len(missing) > 1 else ""
    needed = shard_extent(missing)
    return DataFinding(
        first.name,
        (
            f"the shard ends at byte {pos} but tensor {first.name!r} needs bytes "
            f"{first.offset}..{first.offset + first.size}{more} (the index needs {needed} bytes): "
            "shard truncated"
        ),
    )


def describe(entries: list[TensorEntry] | tuple[TensorEntry, ...]) -> list[dict[str, object]]:
    return [e.as_dict() for e in entries]


def entries_by_name(index: BundleIndex) -> dict[str, TensorEntry]:
    return {e.name: e for e in index.entries}


def to_jsonable(index: BundleIndex) -> Any:
    return describe(index.entries)
