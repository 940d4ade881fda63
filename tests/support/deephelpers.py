"""Helpers shared by the deep-validation tests: a folder Source, plans, the fixtures' metadata."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from drmodels.adapters.ports import SourceError
from drmodels.rules.metadata import LidarConfig, ModelMetadata
from drmodels.rules.objects import ObjectInfo
from drmodels.rules.problems import Code
from drmodels.rules.report import Plan, Report

CHECKPOINT = "0_Step-100.ckpt"
SHALLOW = "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW"
FIVE_ACTIONS = ((-30.0, 1.0), (-15.0, 2.0), (0.0, 3.0), (15.0, 2.0), (30.0, 1.0))

METADATA: dict[str, ModelMetadata] = {
    "ppo_discrete": ModelMetadata(
        ("FRONT_FACING_CAMERA",), SHALLOW, "clipped_ppo", "discrete", FIVE_ACTIONS, version=5.0
    ),
    "ppo_continuous_stereo_lidar": ModelMetadata(
        ("STEREO_CAMERAS", "LIDAR"),
        SHALLOW,
        "clipped_ppo",
        "continuous",
        (),
        (-30.0, 30.0),
        (0.5, 4.0),
        LidarConfig(),
        version=5.0,
    ),
    "sac": ModelMetadata(
        ("FRONT_FACING_CAMERA",), SHALLOW, "sac", "continuous", (), (-30.0, 30.0), (0.5, 4.0), version=5.0
    ),
}
MODELS = tuple(METADATA)

Transform = Callable[[BinaryIO], BinaryIO]


class DirSource:
    """A Source over a folder; `transforms` alter a key's stream/bytes (corruption without copies)."""

    def __init__(self, root: Path, transforms: dict[str, Transform] | None = None) -> None:
        self.root = root
        self.transforms = transforms or {}

    @property
    def location(self) -> str:
        return str(self.root)

    @property
    def concurrent_reads(self) -> int:
        return 1

    def list(self) -> Iterator[ObjectInfo]:
        for path in sorted(self.root.rglob("*")):
            if path.is_file():
                yield ObjectInfo(path.relative_to(self.root).as_posix(), path.stat().st_size)

    def open(self, key: str, if_match: str | None = None) -> BinaryIO:
        stream: BinaryIO = (self.root / key).open("rb")
        if key in self.transforms:
            stream = self.transforms[key](stream)
        return stream

    def read(self, key: str, max_bytes: int) -> bytes:
        with self.open(key) as f:
            data = f.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise SourceError(
                Code.CHECKPOINT_FILE_SIZE_LIMIT_EXCEEDED,
                f"larger than {max_bytes} bytes",
                "Make it smaller.",
                key,
            )
        return data


def report_for(source: DirSource, *, build_car_archive: bool = False) -> Report:
    objects = tuple(source.list())
    keys = {o.key for o in objects}
    checkpoints = tuple(
        sorted(
            k[len("model/") : -len(".index")]
            for k in keys
            if k.startswith("model/") and k.endswith(".ckpt.index")
        )
    )
    graph = "model/model_0.pb" if "model/model_0.pb" in keys else None
    plan = Plan(
        checkpoints=checkpoints,
        objects=objects,
        build_car_archive=build_car_archive,
        car_archive_graph=graph,
        model_metadata="model/model_metadata.json",
    )
    return Report(source=source.location, plan=plan)


class Flip(io.RawIOBase):
    """A stream that yields `inner` with the byte at `pos` XOR-ed (or cut at `cut`)."""

    def __init__(self, inner: BinaryIO, pos: int | None = None, cut: int | None = None) -> None:
        self.inner = inner
        self.pos = pos
        self.cut = cut
        self.at = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:  # type: ignore[override]
        if self.cut is not None:
            left = self.cut - self.at
            if left <= 0:
                return b""
            n = left if n < 0 else min(n, left)
        data = self.inner.read(n)
        if self.pos is not None and self.at <= self.pos < self.at + len(data):
            i = self.pos - self.at
            data = data[:i] + bytes([data[i] ^ 0x5A]) + data[i + 1 :]
        self.at += len(data)
        return data

    def close(self) -> None:
        self.inner.close()
        super().close()
