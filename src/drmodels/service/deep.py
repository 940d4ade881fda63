"""Deep validation: open a model's real content (checkpoints, graphs, car archive) and check it.

Runs the pure rules (bundle, network, graph, archive) over a Source: the small files (.index,
.meta, graphs, model_metadata.json) are read whole under the size limits, the `.data` shards and
the archive are streamed, so memory does not grow with the model. Every failure, including one to
read the source, becomes a Problem; nothing raises.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import BinaryIO

from drmodels.adapters.ports import Source, SourceError
from drmodels.formats import bundle
from drmodels.formats.streams import Counting
from drmodels.rules import layout
from drmodels.rules.deep import network
from drmodels.rules.deep.archive import ArchiveLimits, check_archive
from drmodels.rules.deep.graph import check_frozen_graph, check_meta_graph
from drmodels.rules.limits import Limits
from drmodels.rules.metadata import ModelMetadata
from drmodels.rules.objects import ObjectInfo
from drmodels.rules.problems import Code, Problem, error
from drmodels.rules.report import Report

DEFAULT_LIMITS = Limits()
PREFETCH_ARCHIVE_BYTES = 64 * 1024 * 1024
"""Archives up to this size are read whole, then checked on a worker thread."""


@dataclass
class DeepResult:
    problems: list[Problem] = field(default_factory=list)
    checkpoints: list[dict[str, object]] = field(default_factory=list)
    """[{"name": "4_Step-162.ckpt", "tensors": [{"name", "dtype", "shape"}]}], for `check --deep --json`."""
    bytes_read: int = 0
    """Bytes of model content read (shards, indexes, graphs, archives), for throughput reports."""

    def add_read(self, n: int) -> None:
        self.bytes_read += n

    @property
    def ok(self) -> bool:
        return not any(p.is_error for p in self.problems)

    def as_dict(self) -> dict[str, object]:
        return {"checkpoints": self.checkpoints}


def archive_limits(limits: Limits) -> ArchiveLimits:
    return ArchiveLimits(
        max_expanded_bytes=2 * limits.model_tar_bytes,
        max_metadata_bytes=limits.control_file_bytes,
        max_graph_bytes=limits.checkpoint_file_bytes,
    )


def _unreadable(key: str, exc: BaseException) -> Problem:
    if isinstance(exc, SourceError):
        return error(exc.code, exc.path or key, f"{key}: {exc.message}", exc.fix)
    return error(
        Code.MODEL_VALIDATION_SERVICE_ERROR,
        key,
        f"{key}: could not be read for deep validation ({type(exc).__name__}: {exc})",
        "Check that the file is readable and retry; if it persists, upload the file again.",
    )


@contextlib.contextmanager
def _guard(result: DeepResult, key: str) -> Iterator[None]:
    """Turn anything a source or a parser raises into a Problem naming the file."""
    try:
        yield
    except Exception as exc:
        result.problems.append(_unreadable(key, exc))


def check_car_archive(
    stream: BinaryIO, path: str, metadata: ModelMetadata | None, *, limits: Limits = DEFAULT_LIMITS
) -> list[Problem]:
    """Check a car archive stream (e.g. the one the import pipeline just built); never raises."""
    try:
        problems, _members = check_archive(stream, path, metadata, archive_limits(limits))
    except Exception as exc:
        return [_unreadable(path, exc)]
    return problems


def deep_check(
    source: Source, report: Report, metadata: ModelMetadata | None, *, limits: Limits = DEFAULT_LIMITS
) -> DeepResult:
    """Deep-check every planned checkpoint, the car archive and the frozen graph the plan builds from."""
    result = DeepResult()
    objects = {o.key: o for o in report.plan.objects}
    # The archive's inflate (zlib, ~200 MB/s on weights) dominates. A car archive (~20-25 MB) is
    # fetched whole by this thread, then inflated on a worker thread while this one streams the
    # shards' CRC-32C (zlib and crc32c release the GIL). Sources are only ever used from this
    # thread, so sources that share one file handle (a .tar.gz of a model) stay safe. Larger
    # archives are streamed here, after the checkpoints, in bounded memory.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="drmodels-deep") as pool:
        pending: list[Future[list[Problem]]] = []
        streamed: list[str] = []
        for key in layout.CAR_ARCHIVES:
            if key not in objects:
                continue
            if objects[key].size > PREFETCH_ARCHIVE_BYTES:
                streamed.append(key)
                continue
            with _guard(result, key):
                data = source.read(key, PREFETCH_ARCHIVE_BYTES)
                result.bytes_read += len(data)
                pending.append(pool.submit(check_car_archive, io.BytesIO(data), key, metadata, limits=limits))
        refused = {p.path for p in report.errors}
        for name in report.plan.checkpoints:
            if any(path.startswith(f"{layout.MODEL_DIR}{name}") for path in refused):
                continue  # a file of it is refused already (e.g. over the size limit): not read
            with _guard(result, f"{layout.MODEL_DIR}{name}.index"):
                _checkpoint(source, name, objects, metadata, limits, result)
        graph_key = report.plan.car_archive_graph
        if report.plan.build_car_archive and graph_key and graph_key in objects:
            with _guard(result, graph_key):
                data = source.read(graph_key, limits.checkpoint_file_bytes)
                result.bytes_read += len(data)
                result.problems.extend(check_frozen_graph(data, metadata, graph_key))
        for key in streamed:
            _stream_archive(source, key, metadata, limits, result)
        for future in pending:
            result.problems.extend(future.result())
    return result


def _stream_archive(
    source: Source, key: str, metadata: ModelMetadata | None, limits: Limits, result: DeepResult
) -> None:
    with _guard(result, key):
        raw = source.open(key)
        try:
            stream = Counting(raw, result.add_read)
            result.problems.extend(check_car_archive(stream, key, metadata, limits=limits))  # type: ignore[arg-type]
        finally:
            raw.close()


def _problem(key: str, text: str, fix: str) -> Problem:
    return error(Code.MODEL_VALIDATION_SERVICE_ERROR, key, f"{key}: {text}", fix)


FIX_INDEX = (
    "The checkpoint's .index is damaged or was edited: upload the .index written with this checkpoint, "
    "or point .coach_checkpoint / deepracer_checkpoints.json at an intact checkpoint."
)
FIX_DATA = (
    "The checkpoint's tensor data was changed or cut short: upload the .data file written with this "
    "checkpoint (byte-for-byte), or point .coach_checkpoint at an intact checkpoint."
)


def _checkpoint(
    source: Source,
    name: str,
    objects: dict[str, ObjectInfo],
    metadata: ModelMetadata | None,
    limits: Limits,
    result: DeepResult,
) -> None:
    prefix = f"{layout.MODEL_DIR}{name}"
    index_key = f"{prefix}.index"
    if index_key not in objects:
        return  # missing files are the shallow checks' CHECKPOINT_FILES_DOES_NOT_EXIST
    data = source.read(index_key, limits.checkpoint_file_bytes)
    result.bytes_read += len(data)
    try:
        index = bundle.parse_index(data)
    except bundle.BundleError as exc:
        result.problems.append(_problem(index_key, f"{exc} ({len(data)} bytes)", FIX_INDEX))
        return
    result.checkpoints.append({"name": name, "tensors": bundle.describe(index.entries)})
    shapes = {e.name: e.shape for e in index.entries}
    if metadata is not None:
        result.problems.extend(network.check_tensors(metadata, shapes, index_key))
    for shard in range(index.num_shards):
        key = bundle.data_file_name(prefix, shard, index.num_shards)
        if key not in objects:
            result.problems.append(
                _problem(
                    key,
                    f"the index declares {index.num_shards} data shard(s) but this one is not in the model "
                    "folder",
                    FIX_DATA,
                )
            )
            continue
        with _guard(result, key):
            _shard(source, key, index.shard_entries(shard), result)
    meta_key = f"{prefix}.meta"
    if meta_key in objects:
        with _guard(result, meta_key):
            meta = source.read(meta_key, limits.checkpoint_file_bytes)
            result.bytes_read += len(meta)
            result.problems.extend(check_meta_graph(meta, metadata, meta_key, shapes))


def _shard(source: Source, key: str, entries: list[bundle.TensorEntry], result: DeepResult) -> None:
    raw = source.open(key)
    try:
        findings = bundle.verify_shard(Counting(raw, result.add_read), entries)
    finally:
        raw.close()
    for f in findings:
        result.problems.append(_problem(key, f.message, FIX_DATA))
