"""The car archive: real archives accepted, hostile ones refused without touching the disk."""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drmodels.formats.car_archive import build_car_archive
from drmodels.rules.deep.archive import ArchiveLimits, check_archive, inspect_archive
from drmodels.rules.problems import Code
from drmodels.service.deep import check_car_archive
from support.deephelpers import METADATA, MODELS

META = json.dumps(
    {
        "action_space": [
            {"steering_angle": a, "speed": s} for a, s in METADATA["ppo_discrete"].discrete_actions
        ],
        "sensor": ["FRONT_FACING_CAMERA"],
        "neural_network": "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW",
        "training_algorithm": "clipped_ppo",
        "action_space_type": "discrete",
        "version": "5",
    }
).encode()


def _tar(members: list[tuple[str, Any]], fmt: int = tarfile.GNU_FORMAT) -> bytes:
    """members: (name, bytes) for files, or (name, TarInfo-modifier callable) for special entries."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz", format=fmt) as tar:
        for name, content in members:
            info = tarfile.TarInfo(name)
            if isinstance(content, bytes):
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
            else:
                content(info)
                tar.addfile(info)
    return out.getvalue()


def _errors(data: bytes, metadata: Any = None, limits: ArchiveLimits | None = None) -> list[str]:
    problems, _ = check_archive(io.BytesIO(data), "model.tar.gz", metadata, limits or ArchiveLimits())
    assert all(p.code is Code.MODEL_VALIDATION_SERVICE_ERROR for p in problems)
    return [p.explanation for p in problems if p.is_error]


def _sym(info: tarfile.TarInfo) -> None:
    info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"


def _hard(info: tarfile.TarInfo) -> None:
    info.type, info.linkname = tarfile.LNKTYPE, "../../outside"


def _chr(info: tarfile.TarInfo) -> None:
    info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3


def _fifo(info: tarfile.TarInfo) -> None:
    info.type = tarfile.FIFOTYPE


HOSTILE = {
    "traversal": ([("../../evil.sh", b"#!/bin/sh\n")], "contains `..`"),
    "traversal_nested": ([("agent/../../evil", b"x")], "contains `..`"),
    "absolute": ([("/etc/cron.d/evil", b"x")], "absolute path"),
    "symlink": ([("agent/model.pb", _sym)], "symbolic link to `/etc/passwd`"),
    "hardlink": ([("agent/model.pb", _hard)], "hard link to `../../outside`"),
    "device": ([("dev/mem", _chr)], "character device"),
    "fifo": ([("pipe", _fifo)], "FIFO"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_members_refused_without_writing(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    members, expected = HOSTILE[case]
    data = _tar([*members, ("model_metadata.json", META)])
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    texts = _errors(data)
    assert any(expected in t for t in texts), texts
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a", "b"]  # nothing written anywhere


def test_bomb_refused_by_declared_size(tmp_path: Path) -> None:
    zeros = b"\0" * (3 * 1024 * 1024)
    data = _tar([("agent/model.pb", zeros), ("model_metadata.json", META)])
    assert len(data) < 20_000  # a high compression ratio
    texts = _errors(data, limits=ArchiveLimits(max_expanded_bytes=1024 * 1024))
    assert len(texts) == 1 and "compression bomb" in texts[0] and "agent/model.pb" in texts[0]


def test_bomb_refused_while_decompressing() -> None:
    # a gzip stream whose tar never ends: only zero blocks, 8 MiB of them
    data = gzip.compress(b"\0" * (8 * 1024 * 1024))
    texts = _errors(data, limits=ArchiveLimits(max_expanded_bytes=1024 * 1024, max_members=10))
    assert texts == [] or all("bomb" in t or "no frozen graph" in t or "model_metadata" in t for t in texts)
    sneaky = gzip.compress(_tar_raw([("a", b"\1" * 4 * 1024 * 1024)]))
    texts = _errors(sneaky, limits=ArchiveLimits(max_expanded_bytes=1024 * 1024, max_members=10))
    assert any("compression bomb" in t for t in texts)


def _tar_raw(members: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, content in members:
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return out.getvalue()


def test_too_many_members() -> None:
    data = _tar([(f"f{i}", b"") for i in range(30)])
    texts = _errors(data, limits=ArchiveLimits(max_members=20))
    assert any("more than 20 members" in t for t in texts)


def test_expected_members() -> None:
    assert any("no frozen graph" in t for t in _errors(_tar([("model_metadata.json", META)])))
    two = _errors(_tar([("agent/model.pb", b""), ("other/x.pb", b""), ("model_metadata.json", META)]))
    assert any("2 .pb files" in t and "other/x.pb" in t for t in two)
    assert any("no `model_metadata.json`" in t for t in _errors(_tar([("agent/model.pb", b"")])))
    nested = _errors(_tar([("agent/model.pb", b""), ("sub/model_metadata.json", META)]))
    assert any("no `model_metadata.json` at its root" in t for t in nested)
    dup = _errors(
        _tar([("agent/model.pb", b""), ("model_metadata.json", META), ("./model_metadata.json", META)])
    )
    assert any("appears twice" in t for t in dup)


@pytest.mark.parametrize(
    "data", [b"", b"not gzip at all", gzip.compress(b"not a tar" * 100)], ids=["empty", "text", "gz"]
)
def test_not_an_archive(data: bytes) -> None:
    texts = _errors(data)
    assert texts and ("not a valid gzip-compressed tar" in texts[0] or "no frozen graph" in texts[0])


def test_truncated_archive() -> None:
    data = _tar([("agent/model.pb", os.urandom(200_000)), ("model_metadata.json", META)])
    texts = _errors(data[: len(data) // 2])
    assert any("not a valid gzip-compressed tar" in t for t in texts)


@pytest.mark.tf
@pytest.mark.parametrize("model", MODELS)
def test_real_archives_accepted(tf_models: Path, model: str) -> None:
    with (tf_models / model / "model.tar.gz").open("rb") as f:
        problems, members = check_archive(f, "model.tar.gz", METADATA[model])
    assert problems == []
    assert [m.name for m in members] == ["agent/model.pb", "model_metadata.json"]


@pytest.mark.tf
def test_our_builder_is_accepted_and_metadata_disagreement_caught(tf_models: Path) -> None:
    graph = tf_models / "ppo_discrete" / "model" / "model_0.pb"
    out = io.BytesIO()
    with graph.open("rb") as g:
        build_car_archive(g, graph.stat().st_size, META, out)
    assert check_car_archive(io.BytesIO(out.getvalue()), "model.tar.gz", METADATA["ppo_discrete"]) == []
    seven = replace(
        METADATA["ppo_discrete"], discrete_actions=METADATA["ppo_discrete"].discrete_actions + ((1, 1),) * 2
    )
    texts = [p.explanation for p in check_car_archive(io.BytesIO(out.getvalue()), "model.tar.gz", seven)]
    assert any("disagrees with the model folder's: discrete_actions" in t for t in texts)
    assert any("policy_fc" in t and "7 actions" in t and "[512, 5]" in t for t in texts)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=3000), st.integers(0, 2999), st.integers(0, 255))
def test_random_and_mutated_archives_never_raise(noise: bytes, pos: int, value: int) -> None:
    base = bytearray(_tar([("agent/model.pb", b"\x0a\x03\x0a\x01x"), ("model_metadata.json", META)]))
    if pos < len(base):
        base[pos] ^= value or 1
    for data in (noise, bytes(base), gzip.compress(noise)):
        found = inspect_archive(io.BytesIO(data), "m.tar.gz", ArchiveLimits(max_expanded_bytes=1 << 20))
        assert all(p.explanation for p in found.problems)
        check_car_archive(io.BytesIO(data), "m.tar.gz", METADATA["ppo_discrete"])
