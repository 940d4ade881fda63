"""TensorFlow checkpoint (tensor bundle V2) writer: the `.data` shard and the `.index` table.

The inverse of bundle.py. The `.data-00000-of-00001` shard is every tensor's raw little-endian
bytes, in key order, no padding. The `.index` is a table (sstable.py) written as TensorFlow's
BundleWriter does: key "" -> BundleHeaderProto, then tensor name -> BundleEntryProto (dtype, shape,
offset, size, masked CRC-32C of the bytes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from drmodels.formats import protobuf as protos
from drmodels.formats.bundle import data_file_name
from drmodels.formats.sstable import build_table, crc32c, mask

DT_FLOAT = 1


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
    header = protos.READ.BundleHeaderProto(num_shards=num_shards, endianness=0)
    header.version.producer = 1
    return bytes(header.SerializeToString())


def entry_proto(tensor: WrittenTensor) -> bytes:
    entry = protos.READ.BundleEntryProto(
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
