"""The tensor-bundle reader against TensorFlow's own files: real-world indexes and TF-built fixtures."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drmodels.formats import bundle, sstable
from support.deephelpers import CHECKPOINT, MODELS, Flip

CORPUS = Path("/work/shared/corpus/files")
CORPUS_INDEXES = sorted(CORPUS.rglob("*.ckpt.index")) if CORPUS.exists() else []


def _ckpt(tf_models: Path, model: str) -> Path:
    return tf_models / model / "model" / CHECKPOINT


# --- real-world indexes ------------------------------------------------------------------------


@pytest.mark.skipif(not CORPUS_INDEXES, reason="shared corpus not present")
@pytest.mark.parametrize("path", CORPUS_INDEXES, ids=lambda p: "/".join(p.parts[-3:]))
def test_real_indexes_parse(path: Path) -> None:
    index = bundle.parse_index(path.read_bytes())
    assert index.num_shards == 1
    assert len(index.entries) in (22, 23)
    assert all(e.name.startswith("main_level/agent/main/online/network_") for e in index.entries)
    assert all(e.dtype_name == "float32" for e in index.entries)
    # offsets follow key order without padding, starting at 0
    ordered = sorted(index.entries, key=lambda e: e.offset)
    assert ordered[0].offset == 0
    assert all(a.offset + a.size == b.offset for a, b in itertools.pairwise(ordered))


def test_crc_mask_roundtrip() -> None:
    assert sstable.crc32c(b"123456789") == 0xE3069283
    for v in (0, 1, 0xE3069283, 0xFFFFFFFF):
        assert sstable.unmask(sstable.mask(v)) == v


# --- agreement with TensorFlow -------------------------------------------------------------------


@pytest.mark.tf
@pytest.mark.parametrize("model", MODELS)
def test_names_dtypes_shapes_and_bytes_agree_with_tensorflow(
    tf_models: Path, manifest: dict[str, Any], model: str
) -> None:
    prefix = _ckpt(tf_models, model)
    index = bundle.parse_index(prefix.with_name(CHECKPOINT + ".index").read_bytes())
    ours = [e.as_dict() for e in index.entries]
    theirs = [{k: t[k] for k in ("name", "dtype", "shape")} for t in manifest[model]["tensors"]]
    assert ours == theirs
    digests = {t["name"]: t["sha256"] for t in manifest[model]["tensors"]}
    with open(str(prefix) + ".data-00000-of-00001", "rb") as f:
        for e in index.entries:
            f.seek(e.offset)
            assert hashlib.sha256(f.read(e.size)).hexdigest() == digests[e.name], e.name
    with open(str(prefix) + ".data-00000-of-00001", "rb") as f:
        assert bundle.verify_shard(f, list(index.entries)) == []


@pytest.mark.tf
def test_fixture_sizes_are_faithful(tf_models: Path) -> None:
    sizes = {m: Path(str(_ckpt(tf_models, m)) + ".data-00000-of-00001").stat().st_size for m in MODELS}
    assert 45e6 < sizes["ppo_discrete"] < 50e6
    assert 70e6 < sizes["sac"] < 73e6


# --- corruption ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def discrete(tf_models: Path) -> tuple[Path, bundle.BundleIndex]:
    prefix = _ckpt(tf_models, "ppo_discrete")
    return Path(str(prefix) + ".data-00000-of-00001"), bundle.parse_index(
        Path(str(prefix) + ".index").read_bytes()
    )


@pytest.mark.tf
def test_one_flipped_byte_in_every_tensor_names_that_tensor(
    discrete: tuple[Path, bundle.BundleIndex],
) -> None:
    shard, index = discrete
    for entry in index.entries:
        for pos in {entry.offset, entry.offset + entry.size // 2, entry.offset + entry.size - 1}:
            with shard.open("rb") as raw:
                findings = bundle.verify_shard(Flip(raw, pos=pos), list(index.entries))  # type: ignore[arg-type]
            assert len(findings) == 1, (entry.name, pos)
            assert findings[0].tensor == entry.name
            assert entry.name in findings[0].message and "CRC-32C" in findings[0].message


@pytest.mark.tf
@pytest.mark.parametrize("cut", [0, 1, 1000, 10_000_000, -1])
def test_truncated_shard_names_first_missing_tensor(
    discrete: tuple[Path, bundle.BundleIndex], cut: int
) -> None:
    shard, index = discrete
    size = shard.stat().st_size
    cut = size + cut if cut < 0 else cut
    first = min((e for e in index.entries if e.offset + e.size > cut), key=lambda e: e.offset)
    with shard.open("rb") as raw:
        findings = bundle.verify_shard(Flip(raw, cut=cut), list(index.entries))  # type: ignore[arg-type]
    assert [f.tensor for f in findings] == [first.name]
    assert "truncated" in findings[0].message and str(size) in findings[0].message


@pytest.mark.tf
def test_trailing_bytes_reported(discrete: tuple[Path, bundle.BundleIndex]) -> None:
    shard, index = discrete
    import io

    data = io.BytesIO(shard.read_bytes() + b"extra")
    findings = bundle.verify_shard(data, list(index.entries))
    assert len(findings) == 1 and "5 bytes after the last tensor" in findings[0].message


@pytest.fixture(scope="module")
def index_bytes(tf_models: Path) -> bytes:
    return Path(str(_ckpt(tf_models, "ppo_discrete")) + ".index").read_bytes()


@pytest.mark.tf
def test_wrong_magic(index_bytes: bytes) -> None:
    bad = index_bytes[:-1] + bytes([index_bytes[-1] ^ 1])
    with pytest.raises(bundle.BundleError, match="magic"):
        bundle.parse_index(bad)


@pytest.mark.tf
@pytest.mark.parametrize("keep", [0, 10, 47, 48, 500, -49, -1])
def test_truncated_index(index_bytes: bytes, keep: int) -> None:
    with pytest.raises(bundle.BundleError):
        bundle.parse_index(index_bytes[:keep])


@pytest.mark.tf
def test_flipped_byte_in_data_block_names_the_block(index_bytes: bytes) -> None:
    bad = bytearray(index_bytes)
    bad[200] ^= 0x01
    with pytest.raises(bundle.BundleError, match=r"data block .*checksum mismatch"):
        bundle.parse_index(bytes(bad))


@pytest.mark.tf
def test_flipped_byte_in_index_block_names_it(index_bytes: bytes) -> None:
    footer = len(index_bytes) - 48
    index_offset_pos = footer  # metaindex handle first: its varints, then the index handle
    _meta_off, p = sstable._varint(index_bytes, index_offset_pos, footer + 40, "x")
    _meta_size, p = sstable._varint(index_bytes, p, footer + 40, "x")
    idx_off, p = sstable._varint(index_bytes, p, footer + 40, "x")
    bad = bytearray(index_bytes)
    bad[idx_off] ^= 0x01
    with pytest.raises(bundle.BundleError, match="index block"):
        bundle.parse_index(bytes(bad))


def test_garbage_index() -> None:
    with pytest.raises(bundle.BundleError, match="magic"):
        bundle.parse_index(b"\x00" * 4096)
    fake = b"\x00" * 40 + struct.pack("<Q", sstable.MAGIC)
    with pytest.raises(bundle.BundleError):
        bundle.parse_index(fake)


# --- property-based: never an unhandled error ----------------------------------------------------

REAL = CORPUS_INDEXES[0].read_bytes() if CORPUS_INDEXES else None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_random_bytes_raise_only_bundle_error(data: bytes) -> None:
    with contextlib.suppress(bundle.BundleError):
        bundle.parse_index(data)
    with contextlib.suppress(bundle.BundleError):
        bundle.parse_index(data + struct.pack("<Q", sstable.MAGIC))


@pytest.mark.skipif(REAL is None, reason="shared corpus not present")
@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255), st.sampled_from("fidt")), max_size=4))
def test_mutated_real_index_raises_only_bundle_error(mutations: list[tuple[int, int, str]]) -> None:
    assert REAL is not None
    data = bytearray(REAL)
    for pos, value, kind in mutations:
        i = pos % (len(data) + 1)
        if kind == "f" and i < len(data):
            data[i] ^= value or 1
        elif kind == "i":
            data[i:i] = bytes([value])
        elif kind == "d":
            del data[i : i + 1 + value % 8]
        else:
            del data[i:]
    try:
        index = bundle.parse_index(bytes(data))
    except bundle.BundleError:
        return
    import io

    bundle.verify_shard(io.BytesIO(bytes(64)), list(index.entries))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2048), st.lists(st.tuples(st.integers(0, 3000), st.integers(0, 3000)), max_size=6))
def test_verify_shard_random_layouts_never_raise(data: bytes, ranges: list[tuple[int, int]]) -> None:
    import io

    entries = [
        bundle.TensorEntry(f"t{i}", 4, (size // 4,), 0, off, size // 4 * 4, i)
        for i, (off, size) in enumerate(ranges)
    ]
    for f in bundle.verify_shard(io.BytesIO(data), entries, chunk=7):
        assert f.message
