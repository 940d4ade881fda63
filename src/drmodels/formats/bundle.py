"""TensorFlow checkpoint (tensor bundle V2) reader: the `.index` table and the `.data` shards.

`parse_index` takes the index bytes and returns its entries or raises BundleError naming the block
or tensor at fault; `verify_shard` streams one data shard in fixed-size chunks (memory does not
grow with the shard) and returns one finding per tensor whose bytes are missing or differ.

Format (core/util/tensor_bundle/tensor_bundle.{proto,cc}): the `.index` is a table (sstable.py)
whose key "" holds BundleHeaderProto and every other key a tensor name with its BundleEntryProto
(dtype, shape, shard, offset, size, masked CRC-32C of the tensor's bytes). The writer is
bundle_writer.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import google_crc32c

from drmodels.errors import FormatError
from drmodels.formats import protobuf as protos
from drmodels.formats.sstable import TableError, read_table, unmask
from drmodels.formats.streams import Readable

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


class BundleError(FormatError):
    """The index is not a valid tensor bundle; the message names the block or tensor at fault."""


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


# --- bundle --------------------------------------------------------------------------------------


def _entries(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    try:
        yield from read_table(data)
    except TableError as exc:
        raise BundleError(str(exc)) from None


def parse_index(data: bytes) -> BundleIndex:
    """Parse a `.index` file: the header and every tensor entry, each checked for consistency."""
    items = _entries(data)
    first = next(items, None)
    if first is None or first[0] != b"":
        raise BundleError("the table has no header entry (empty key) first: not a tensor bundle index")
    try:
        header = protos.parse(protos.READ.BundleHeaderProto, first[1])
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
        proto = protos.parse(protos.READ.BundleEntryProto, value)
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
