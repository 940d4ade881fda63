"""The import job: inspect -> copy the planned objects -> build the car archive -> verify -> READY.

`run_import(job_id, env)` is idempotent and takes only an id (plus the process's environment), so
the in-process pool and a distributed runner call the same function. Whatever it finds in the store
from an earlier, interrupted attempt is either kept (complete and matching) or removed.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from drmodels.adapters.sources.base import Source, SourceError
from drmodels.adapters.sources.tarball import TarballSource
from drmodels.adapters.store.base import ModelStore, StoredObject
from drmodels.formats.car_archive import ARCHIVE_NAME, build_car_archive
from drmodels.registry.db import Registry
from drmodels.registry.tables import ImportJob, JobStatus, Model, ModelEvent, ModelStatus, utcnow
from drmodels.rules.inspect import control_keys
from drmodels.rules.layout import CAR_ARCHIVES
from drmodels.rules.limits import Limits, human_size
from drmodels.rules.metadata import ModelMetadata, parse_model_metadata
from drmodels.rules.objects import ObjectInfo
from drmodels.rules.problems import Code, Problem, error
from drmodels.rules.report import Report
from drmodels.service.deep import check_car_archive, deep_check
from drmodels.service.imports.copy import CopyFailed, RetryPolicy, copy_with_retry, plain_md5
from drmodels.service.store_keys import car_archive_key, model_prefix, virtual_key, virtual_prefix

SourceOpener = Callable[[str, "str | None"], Source]
Inspector = Callable[[Source, Limits], Report]
ServerSideCopy = Callable[[Source, ModelStore], "Callable[..., StoredObject] | None"]


def _default_opener(location: str, role_arn: str | None) -> Source:
    from drmodels.adapters.sources.open import open_source

    return open_source(location, role_arn=role_arn)


def _default_inspector(source: Source, limits: Limits) -> Report:
    from drmodels.service.check import check_source

    return check_source(source, limits)


@dataclass(frozen=True)
class Progress:
    job_id: int
    stage: str
    bytes_done: int
    bytes_total: int
    files_done: int
    files_total: int


@dataclass
class Env:
    """What a job needs from the process it runs in."""

    registry: Registry
    store: ModelStore
    limits: Limits = field(default_factory=Limits)
    copy_workers: int = 8
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    open_source: SourceOpener = _default_opener
    inspect: Inspector = _default_inspector
    server_side_copy: ServerSideCopy | None = None
    """Given (source, store), a server-side copy function when both share an S3 endpoint, else None."""
    on_progress: Callable[[Progress], None] | None = None
    deep: bool = True
    """Run the deep checks (checkpoint tensors, graph) on the stored copy when they are available."""


class ImportFailed(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems[0].explanation)
        self.problems = problems

    @property
    def code(self) -> Code:
        return self.problems[0].code


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def owner_alive(owner: str | None) -> bool:
    """Whether the worker that claimed a job still runs (only known for workers on this host)."""
    if not owner:
        return False
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname():
        return True
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError):
        return False
    except PermissionError:
        return True
    return True


def run_import(job_id: int, env: Env) -> str:
    """Run (or resume) one import job; returns the model's final status."""
    claimed = _claim(job_id, env)
    if claimed is None:
        return _status_of_job(job_id, env)
    model_id, location, role_arn, fresh = claimed
    try:
        _import(job_id, model_id, location, role_arn, fresh, env)
    except ImportFailed as exc:
        _fail(job_id, model_id, exc.problems, env)
        return ModelStatus.IMPORT_ERROR.value
    except Exception as exc:
        problem = error(
            Code.SERVICE_ERROR,
            "",
            f"the import stopped on an internal error: {type(exc).__name__}: {exc}",
            "Retry the import; if it fails again, report this message.",
        )
        _fail(job_id, model_id, [problem], env)
        return ModelStatus.IMPORT_ERROR.value
    return ModelStatus.READY.value


def _status_of_job(job_id: int, env: Env) -> str:
    with env.registry.session() as s:
        job = s.get(ImportJob, job_id)
        return job.model.status if job is not None else ModelStatus.IMPORT_ERROR.value


def _claim(job_id: int, env: Env) -> tuple[str, str, str | None, bool] | None:
    """Mark the job RUNNING by this worker; None if it is finished or another live worker has it."""
    with env.registry.session() as s:
        job = s.get(ImportJob, job_id, with_for_update=True)
        if job is None or job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
            return None
        if job.status == JobStatus.RUNNING and job.owner != worker_id() and owner_alive(job.owner):
            return None
        job.status = JobStatus.RUNNING.value
        job.attempts += 1
        job.owner = worker_id()
        job.started_at = job.heartbeat_at = utcnow()
        job.bytes_done = job.files_done = 0
        model = job.model
        model.status = ModelStatus.IMPORTING.value
        model.error_code = None
        model.error_details = None
        s.add(
            ModelEvent(
                model_id=model.id,
                kind="import-started",
                message=f"import attempt {job.attempts} from {job.source}",
            )
        )
        fresh = job.attempts == 1 and len(model.jobs) == 1
        return model.id, job.source, job.role_arn, fresh


class _Tracker:
    """Counts bytes and files copied; tells the listener, and the registry every half second."""

    def __init__(self, job_id: int, env: Env, bytes_total: int, files_total: int) -> None:
        self.job_id, self.env = job_id, env
        self.bytes_total, self.files_total = bytes_total, files_total
        self.bytes_done = self.files_done = 0
        self.stage = "copy"
        self._lock = threading.Lock()
        self._saved = 0.0

    def add_bytes(self, n: int) -> None:
        with self._lock:
            self.bytes_done += n
        self._tell()

    def add_file(self) -> None:
        with self._lock:
            self.files_done += 1
        self._tell()

    def _tell(self, force: bool = False) -> None:
        if self.env.on_progress is not None:
            self.env.on_progress(
                Progress(
                    self.job_id,
                    self.stage,
                    self.bytes_done,
                    self.bytes_total,
                    self.files_done,
                    self.files_total,
                )
            )
        now = time.monotonic()
        if force or now - self._saved > 0.5:
            self._saved = now
            with self.env.registry.session() as s:
                job = s.get(ImportJob, self.job_id)
                if job is not None:
                    job.bytes_done, job.files_done = self.bytes_done, self.files_done
                    job.bytes_total, job.files_total = self.bytes_total, self.files_total
                    job.heartbeat_at = utcnow()


def _import(job_id: int, model_id: str, location: str, role_arn: str | None, fresh: bool, env: Env) -> None:
    try:
        source: Source = _Remembering(env.open_source(location, role_arn), env.limits)
        report = env.inspect(source, env.limits)
    except SourceError as exc:
        raise ImportFailed([error(exc.code, exc.path, exc.message, exc.fix)]) from exc
    if not report.importable:
        raise ImportFailed(report.errors + [p for p in report.problems if not p.is_error])
    plan = report.plan
    metadata, metadata_bytes = _metadata(source, report, env.limits)

    store = env.store
    wanted = {virtual_key(model_id, o.key): o for o in plan.objects}
    # A first attempt on a new model finds nothing in the store: no need to look.
    kept = {} if fresh else _reconcile(model_id, wanted, store)
    todo = [(k, o) for k, o in wanted.items() if k not in kept]
    tracker = _Tracker(job_id, env, sum(o.size for o in plan.objects), len(plan.objects))
    for key in kept:
        tracker.bytes_done += wanted[key].size
        tracker.files_done += 1
    stored = dict(kept)
    stored.update(_copy_all(_inner(source), todo, env, tracker))

    car_size = 0
    deep_problems: list[Problem] = []
    if plan.build_car_archive and plan.car_archive_graph:
        tracker.stage = "package"
        car_size = _build_car(
            model_id, plan.car_archive_graph, wanted, metadata_bytes, metadata, env, deep_problems
        )

    tracker.stage = "verify"
    _verify(model_id, wanted, stored, store)
    deep_problems += _deep(store, model_id, report, metadata, env)
    if any(p.is_error for p in deep_problems):
        raise ImportFailed(deep_problems)
    _ready(job_id, model_id, report, metadata, stored, car_size, report.plan.checkpoints, env)


class _Remembering:
    """A source that fetches the control files in parallel right after the listing, and keeps them.

    The inspection then reads them from memory, and the metadata is not fetched twice: the same
    requests as a sequential inspection, in a fraction of the time on S3.
    """

    def __init__(self, inner: Source, limits: Limits, threads: int = 8) -> None:
        self.inner = inner
        self._limits = limits
        self._threads = threads
        self._read: dict[str, bytes] = {}

    @property
    def location(self) -> str:
        return self.inner.location

    def list(self) -> Iterator[ObjectInfo]:
        objects = list(self.inner.list())
        keys = control_keys(objects, self._limits)
        if len(keys) > 1 and _remote(self.inner):
            max_bytes = max(self._limits.control_file_bytes, self._limits.reward_function_bytes)
            with ThreadPoolExecutor(min(self._threads, len(keys)), thread_name_prefix="control") as pool:
                fetched = list(pool.map(lambda k: self._try_read(k, max_bytes), keys))
            for key, data in zip(keys, fetched, strict=True):
                if data is not None:
                    self._read[key] = data
        return iter(objects)

    def _try_read(self, key: str, max_bytes: int) -> bytes | None:
        try:
            return self.inner.read(key, max_bytes)
        except SourceError:
            return None  # the inspection reads it again and reports the error

    def read(self, key: str, max_bytes: int) -> bytes:
        data = self._read.get(key)
        if data is None or len(data) > max_bytes:
            data = self.inner.read(key, max_bytes)
            self._read[key] = data
        return data

    def open(self, key: str) -> BinaryIO:
        return self.inner.open(key)


def _remote(source: Source) -> bool:
    """Whether reads are network round trips worth overlapping (and the source is thread-safe)."""
    from drmodels.adapters.sources.s3 import S3Source

    return isinstance(source, S3Source)


def _inner(source: Source) -> Source:
    return source.inner if isinstance(source, _Remembering) else source


def _metadata(source: Source, report: Report, limits: Limits) -> tuple[ModelMetadata | None, bytes]:
    key = report.plan.model_metadata
    if key is None:
        return None, b""
    try:
        data = source.read(key, limits.control_file_bytes)
    except SourceError as exc:
        raise ImportFailed([error(exc.code, exc.path or key, exc.message, exc.fix)]) from exc
    metadata = report.metadata
    if metadata is None:
        metadata, _problems = parse_model_metadata(key, data)
    return metadata, data


def _reconcile(model_id: str, wanted: dict[str, ObjectInfo], store: ModelStore) -> dict[str, StoredObject]:
    """Keep complete earlier copies that match the listing; remove everything else under the model."""
    kept: dict[str, StoredObject] = {}
    stale: list[str] = []
    for obj in store.scan(model_prefix(model_id)):
        info = wanted.get(obj.key)
        expected = plain_md5(info.etag) if info else None
        if info is not None and obj.size == info.size and expected:
            full = store.stat(obj.key)
            if full is not None and plain_md5(_md5_of(full)) == expected:
                kept[obj.key] = full
                continue
        stale.append(obj.key)
    store.delete(stale)
    return kept


def _md5_of(obj: StoredObject) -> str | None:
    return obj.checksum.removeprefix("md5:") if obj.checksum else None


def _copy_all(
    source: Source, todo: list[tuple[str, ObjectInfo]], env: Env, tracker: _Tracker
) -> dict[str, StoredObject]:
    server_side = env.server_side_copy(source, env.store) if env.server_side_copy else None
    done: dict[str, StoredObject] = {}
    if not todo:
        return done

    def one(dest: str, info: ObjectInfo) -> None:
        done[dest] = copy_with_retry(source, info, env.store, dest, tracker.add_bytes, env.retry, server_side)
        tracker.add_file()

    workers = max(1, min(env.copy_workers, len(todo)))
    if isinstance(source, TarballSource):
        workers = 1  # one shared, sequential gzip stream: members are read in order by one thread
    with ThreadPoolExecutor(workers, thread_name_prefix="copy") as pool:
        futures = [pool.submit(one, dest, info) for dest, info in sorted(todo, key=lambda t: -t[1].size)]
        finished, pending = wait(futures, return_when=FIRST_EXCEPTION)
        for f in pending:
            f.cancel()
        failures = [f.exception() for f in finished if f.exception() is not None]
    failures += [f.exception() for f in pending if not f.cancelled() and f.exception() is not None]
    copy_failures = [f for f in failures if isinstance(f, CopyFailed)]
    if copy_failures:
        raise ImportFailed([error(f.code, f.key, f.message, f.fix) for f in copy_failures])
    if failures:
        raise failures[0]  # type: ignore[misc]
    return done


def _build_car(
    model_id: str,
    graph_key: str,
    wanted: dict[str, ObjectInfo],
    metadata_json: bytes,
    metadata: ModelMetadata | None,
    env: Env,
    built_problems: list[Problem],
) -> int:
    """Build, check (into `built_problems`) and store the car archive; its stored size."""
    store = env.store
    graph = virtual_key(model_id, graph_key)
    info = wanted.get(graph)
    size = info.size if info is not None else (store.stat(graph) or StoredObject(graph, 0, None)).size
    limit = env.limits.model_tar_bytes
    with tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024) as out:
        with store.open(graph) as stream:
            build_car_archive(stream, size, metadata_json, out)
        total = out.tell()
        if total > limit:
            raise ImportFailed(
                [
                    error(
                        Code.MODEL_TAR_FILE_SIZE_LIMIT_EXCEEDED,
                        ARCHIVE_NAME,
                        f"the car archive built from {graph_key} is {human_size(total)}, over the limit of "
                        f"{human_size(limit)}",
                        "Train with a smaller network or fewer sensors so the frozen graph is smaller, "
                        "then import again.",
                    )
                ]
            )
        if env.deep and metadata is not None:
            out.seek(0)
            built_problems.extend(check_car_archive(out, ARCHIVE_NAME, metadata, limits=env.limits))  # type: ignore[arg-type]
        out.seek(0)
        stored = store.write(car_archive_key(model_id), out, total)  # type: ignore[arg-type]
    return stored.size


def _verify(
    model_id: str, wanted: dict[str, ObjectInfo], stored: dict[str, StoredObject], store: ModelStore
) -> None:
    """Every planned object is in the store with the listed size and the checksum the copy saw.

    One listing of the model's prefix (sizes and ETags); a store that lists no checksum is asked per key.
    """
    problems: list[Problem] = []
    listed = {o.key: o for o in store.scan(virtual_prefix(model_id))}
    for key, info in sorted(wanted.items()):
        now = listed.get(key)
        if now is not None and now.checksum is None:
            now = store.stat(key)
        copied = stored.get(key)
        rel = info.key
        if now is None or copied is None:
            problems.append(
                error(
                    Code.S3_COPY_ERROR,
                    rel,
                    "it is missing from the store after the copy",
                    "Retry the import.",
                )
            )
        elif now.size != info.size:
            problems.append(
                error(
                    Code.S3_COPY_ERROR,
                    rel,
                    f"the store holds {now.size} bytes, the source listed {info.size}",
                    "Retry the import.",
                )
            )
        elif now.checksum != copied.checksum or (
            plain_md5(info.etag) and _md5_of(now) and plain_md5(_md5_of(now)) != plain_md5(info.etag)
        ):
            problems.append(
                error(
                    Code.S3_COPY_ERROR,
                    rel,
                    f"the stored checksum {now.checksum} is not the copied {copied.checksum}",
                    "Retry the import.",
                )
            )
    if problems:
        raise ImportFailed(problems)


def _deep(
    store: ModelStore, model_id: str, report: Report, metadata: ModelMetadata | None, env: Env
) -> list[Problem]:
    """Deep validation of the stored copy (checkpoint bytes, graphs, car archive), unless switched off."""
    if metadata is None or not env.deep:
        return []
    return deep_check(store.source(virtual_prefix(model_id)), report, metadata, limits=env.limits).problems


def car_configuration(metadata: ModelMetadata | None) -> dict[str, Any] | None:
    if metadata is None:
        return None
    sensors = [s.upper() if s == "observation" else s for s in metadata.sensors]
    config: dict[str, Any] = {"NeuralNetwork": metadata.neural_network, "Sensors": sensors}
    if metadata.is_continuous and metadata.steering_range and metadata.speed_range:
        config["ActionSpace"] = {
            "Type": "continuous",
            "SteeringAngle": list(metadata.steering_range),
            "Speed": list(metadata.speed_range),
        }
    else:
        config["ActionSpace"] = {
            "Type": "discrete",
            "Actions": [{"SteeringAngle": a, "Speed": b} for a, b in metadata.discrete_actions],
        }
    return config


def _ready(
    job_id: int,
    model_id: str,
    report: Report,
    metadata: ModelMetadata | None,
    stored: dict[str, StoredObject],
    car_size: int,
    checkpoints: tuple[str, ...],
    env: Env,
) -> None:
    cut = len(virtual_prefix(model_id)) + 1
    manifest = [{"key": k[cut:], "size": o.size, "checksum": o.checksum} for k, o in sorted(stored.items())]
    size = sum(o.size for o in stored.values()) + car_size
    with env.registry.session() as s:
        model = s.get_one(Model, model_id)
        job = s.get_one(ImportJob, job_id)
        model.status = ModelStatus.READY.value
        model.error_code = None
        model.error_details = [p.as_dict() for p in report.problems] or None
        model.size_bytes = size
        model.packaging_complete = car_size > 0 or any(o.key in CAR_ARCHIVES for o in report.plan.objects)
        model.manifest = manifest
        model.checkpoints = list(checkpoints)
        model.car_configuration = car_configuration(metadata)
        if metadata is not None:
            model.agent_algorithm = "SAC" if metadata.training_algorithm == "sac" else "PPO"
            model.agent_network = "SIX_LAYER_DOUBLE_HEAD_OUTPUT"
        job.status = JobStatus.SUCCEEDED.value
        job.finished_at = utcnow()
        job.error_code = None
        job.bytes_done, job.files_done = job.bytes_total, job.files_total
        s.add(
            ModelEvent(
                model_id=model_id,
                kind="ready",
                message=f"READY: {len(manifest)} files, {human_size(size)}, "
                f"checkpoints {', '.join(checkpoints) or '-'}",
            )
        )


def _fail(job_id: int, model_id: str, problems: list[Problem], env: Env) -> None:
    try:
        removed = env.store.delete_prefix(model_prefix(model_id))
    except Exception as exc:  # the registry still records the failure
        removed = 0
        problems = [
            *problems,
            error(
                Code.SERVICE_ERROR,
                "",
                f"partial copies could not be removed: {exc}",
                "Retry or delete the model.",
            ),
        ]
    first = problems[0]
    with env.registry.session() as s:
        model = s.get(Model, model_id)
        job = s.get(ImportJob, job_id)
        if model is None or job is None:
            return
        model.status = ModelStatus.IMPORT_ERROR.value
        model.error_code = first.code.value
        model.error_details = [p.as_dict() for p in problems]
        model.size_bytes = 0
        model.packaging_complete = False
        model.manifest = None
        job.status = JobStatus.FAILED.value
        job.finished_at = utcnow()
        job.error_code = first.code.value
        s.add(
            ModelEvent(
                model_id=model_id,
                kind="import-error",
                message=f"{first.code.value}: {first.path + ': ' if first.path else ''}{first.explanation}",
                details={"removed_objects": removed, "problems": len(problems)},
            )
        )
