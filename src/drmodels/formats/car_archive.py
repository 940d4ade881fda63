"""Build the car's model.tar.gz (agent/model.pb + model_metadata.json), byte-for-byte reproducible."""

from __future__ import annotations

import gzip
import io
import tarfile
from typing import IO, BinaryIO

from drmodels.formats.streams import Exactly

ARCHIVE_NAME = "model.tar.gz"
GRAPH_MEMBER = "agent/model.pb"
METADATA_MEMBER = "model_metadata.json"


def _member(name: str, size: int, mode: int = 0o644, kind: bytes = tarfile.REGTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = mode
    info.type = kind
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def build_car_archive(graph: BinaryIO, graph_size: int, metadata_json: bytes, out: IO[bytes]) -> None:
    """Write the archive the car loads: fixed member order, zero times and owners, gzip mtime 0.

    The graph is streamed, so memory does not grow with its size.
    """
    with (
        gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=6) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.USTAR_FORMAT) as tar,
    ):
        tar.addfile(_member("agent", 0, 0o755, tarfile.DIRTYPE))
        tar.addfile(_member(GRAPH_MEMBER, graph_size), Exactly(graph, graph_size, "the frozen graph"))
        tar.addfile(_member(METADATA_MEMBER, len(metadata_json)), io.BytesIO(metadata_json))
