"""Copy planned objects from a source into the store: pinned to their listed ETag, retried with backoff.

The source side failing for good is S3_COPY_ERROR; our own side (the store) failing is SERVICE_ERROR;
an object whose size or ETag changed since the listing is MODEL_VALIDATION_SERVICE_ERROR.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

from drmodels.adapters.ports import (
    CopyFn,
    ModelStore,
    ProgressFn,
    SizeMismatch,
    Source,
    SourceError,
    StoredObject,
)
from drmodels.errors import CopyFailed, DrmodelsError, ImportFailed
from drmodels.formats.streams import RawReader
from drmodels.rules.objects import ObjectInfo
from drmodels.rules.problems import Code, Problem, error
from drmodels.service.deps import RetryPolicy
from drmodels.service.imports.progress import Stopped

MD5_ETAG = re.compile(r"^[0-9a-f]{32}$")
PERMANENT = frozenset(
    {
        Code.FILE_DOES_NOT_EXIST,
        Code.ACCESS_DENIED_TO_BUCKET,
        Code.SRC_BUCKET_DOES_NOT_EXIST,
        Code.ACCOUNT_RESOURCE_DOES_NOT_EXIST,
        Code.MODEL_VALIDATION_SERVICE_ERROR,
    }
)


def plain_md5(etag: str | None) -> str | None:
    """The MD5 an ETag stands for, when it is a single-part ETag."""
    if etag is None:
        return None
    value = etag.strip('"').lower()
    return value if MD5_ETAG.match(value) else None


def _failed(code: Code, key: str, message: str, fix: str) -> CopyFailed:
    return CopyFailed([error(code, key, message, fix)])


def edited(info: ObjectInfo, detail: str = "") -> CopyFailed:
    return _failed(
        Code.MODEL_VALIDATION_SERVICE_ERROR,
        info.key,
        f"it changed after it was listed (ETag {info.etag}){detail}: the file was edited during the import",
        "Leave the model's files untouched while it is imported, then retry the import.",
    )


def _changed(info: ObjectInfo, exc: SourceError) -> CopyFailed | SourceError:
    """A pinned read or copy refused because the object changed: the user's edit, said as such."""
    return edited(info) if exc.code is Code.MODEL_VALIDATION_SERVICE_ERROR else exc


class _SourceSide(DrmodelsError):
    """A read from the source failed while streaming (as opposed to our write)."""

    def __init__(self, inner: Exception) -> None:
        super().__init__(str(inner))
        self.inner = inner


def stream_copy(
    source: Source, info: ObjectInfo, store: ModelStore, dest: str, progress: ProgressFn | None
) -> StoredObject:
    """One attempt: stream the object into the store and check what arrived against the listing."""
    try:
        raw = source.open(info.key, if_match=info.etag)
    except SourceError as exc:
        changed = _changed(info, exc)
        if isinstance(changed, CopyFailed):
            raise changed from exc
        raise _SourceSide(exc) from exc
    with RawReader(raw, _SourceSide) as guarded:
        stored = store.write(dest, guarded, info.size, progress)  # type: ignore[arg-type]
    expected = plain_md5(info.etag)
    got = stored.md5
    if expected and got and expected != got:
        store.delete([dest])
        raise _failed(
            Code.MODEL_VALIDATION_SERVICE_ERROR,
            info.key,
            f"the content read (MD5 {got}) is not the one listed (ETag {expected}): "
            "the file was changed while the model was being imported",
            "Leave the model's files untouched during the import, then retry it.",
        )
    return stored


def copy_with_retry(
    source: Source,
    info: ObjectInfo,
    store: ModelStore,
    dest: str,
    policy: RetryPolicy,
    progress: ProgressFn | None = None,
    server_side: CopyFn | None = None,
) -> StoredObject:
    """Copy with backoff; `server_side(info, dest)` is used instead of streaming when given."""
    delay = policy.first_delay
    last: BaseException | None = None
    side = "source"
    for attempt in range(policy.attempts):
        if attempt:
            time.sleep(delay)
            delay *= policy.factor
        try:
            if server_side is not None:
                return server_side(info, dest, progress)
            return stream_copy(source, info, store, dest, progress)
        except (CopyFailed, Stopped):
            raise
        except (_SourceSide, SourceError) as exc:
            inner = exc.inner if isinstance(exc, _SourceSide) else exc
            if isinstance(inner, SourceError):
                changed = _changed(info, inner)
                if isinstance(changed, CopyFailed):
                    raise changed from inner
                if inner.code in PERMANENT:
                    raise CopyFailed([_at(inner, info.key)]) from inner
            last, side = inner, "source"
        except SizeMismatch as exc:
            raise _failed(
                Code.MODEL_VALIDATION_SERVICE_ERROR,
                info.key,
                f"the object no longer has the listed size of {info.size} bytes ({exc}): "
                "it was changed while the model was being imported",
                "Leave the model's files untouched during the import, then retry it.",
            ) from exc
        except Exception as exc:  # our own side: disk or store bucket
            last, side = exc, "store"
    if side == "store":
        raise _failed(
            Code.SERVICE_ERROR,
            info.key,
            f"writing to our model store failed {policy.attempts} times: {last}",
            "Check the store (disk space, store bucket) and retry the import.",
        )
    raise _failed(
        Code.S3_COPY_ERROR,
        info.key,
        f"copying it failed {policy.attempts} times: {last}",
        "Retry the import; if it keeps failing, check that the source is reachable.",
    )


def _at(exc: SourceError, key: str) -> Problem:
    problem = exc.problem
    return problem if problem.path else error(problem.code, key, problem.explanation, problem.fix)


def copy_all(
    source: Source,
    todo: list[tuple[str, ObjectInfo]],
    store: ModelStore,
    workers: int,
    policy: RetryPolicy,
    on_bytes: ProgressFn,
    on_file: Callable[[], None],
) -> dict[str, StoredObject]:
    """Copy every (dest, object) pair, largest first, `workers` at a time; every copy failure is reported."""
    server_side = store.copier(source)
    done: dict[str, StoredObject] = {}
    if not todo:
        return done
    interrupted = threading.Event()

    def progress(n: int) -> None:
        if interrupted.is_set():  # Ctrl-C in the thread waiting below: every copy stops at its next chunk
            raise Stopped("the import was interrupted")
        on_bytes(n)

    def one(dest: str, info: ObjectInfo) -> None:
        done[dest] = copy_with_retry(source, info, store, dest, policy, progress, server_side)
        on_file()

    workers = max(1, min(workers, source.concurrent_reads, len(todo)))
    pool = ThreadPoolExecutor(workers, thread_name_prefix="copy")
    futures = []
    try:
        futures = [pool.submit(one, dest, info) for dest, info in sorted(todo, key=lambda t: -t[1].size)]
        finished, pending = wait(futures, return_when=FIRST_EXCEPTION)
        for f in pending:
            f.cancel()
        wait(futures)
    except BaseException:  # Ctrl-C wherever it lands: no copy may still be writing when this returns
        interrupted.set()
        for f in futures:
            f.cancel()
        wait(futures)
        raise
    finally:
        pool.shutdown(wait=True)
    failures = [f.exception() for f in finished if f.exception() is not None]
    failures += [f.exception() for f in pending if not f.cancelled() and f.exception() is not None]
    stops = [f for f in failures if isinstance(f, Stopped)]
    if stops:
        raise stops[0]
    copy_failures = [f for f in failures if isinstance(f, CopyFailed)]
    if copy_failures:
        raise ImportFailed([p for f in copy_failures for p in f.problems])
    if failures:
        raise failures[0]  # type: ignore[misc]
    return done
