"""The ports: what the service needs from a model source (a folder, a .tar.gz, an S3 prefix), from
our model store (a folder, an S3 bucket) and from a user's bucket it copies a model into (a Target).
Adapters implement them; only bootstrap names adapters."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from drmodels.errors import ProblemError, StoreError
from drmodels.rules.names import STORE_KEY_BYTES, unstorable
from drmodels.rules.objects import ObjectInfo
from drmodels.rules.problems import Code, error

CHUNK = 1024 * 1024


class SourceError(ProblemError):
    """A source that cannot be reached or read, mapped to the spec's code."""

    def __init__(self, code: Code, message: str, fix: str, path: str = "") -> None:
        super().__init__([error(code, path, message, fix)])

    @property
    def message(self) -> str:
        return self.problem.explanation

    @property
    def fix(self) -> str:
        return self.problem.fix

    @property
    def path(self) -> str:
        return self.problem.path


def not_listed(key: str, location: str, fix: str) -> SourceError:
    """A key the source does not hold (any more)."""
    return SourceError(Code.FILE_DOES_NOT_EXIST, f"{key} is not in {location}.", fix, key)


class Source(Protocol):
    """A prefix root holding one model: a local folder, a .tar.gz of one, or an S3 prefix."""

    @property
    def location(self) -> str:
        """How the user named it (path or s3:// URL), for messages."""
        ...

    @property
    def concurrent_reads(self) -> int:
        """How many reads may run at once from different threads (1: reads are one sequential stream)."""
        ...

    def list(self) -> Iterator[ObjectInfo]:
        """Every object under the root, in one paginated listing."""
        ...

    def read(self, key: str, max_bytes: int) -> bytes:
        """The whole object; raises SourceError if it is larger than max_bytes."""
        ...

    def open(self, key: str, if_match: str | None = None) -> BinaryIO:
        """A stream of the object, for large files read once (deep checks, copies).

        With `if_match` (the ETag of the listing), a different version of the object is refused
        with MODEL_VALIDATION_SERVICE_ERROR where the source can tell; sources without ETags ignore it.
        """
        ...


class SourceWrapper:
    """A Source that hands everything to `inner`; subclasses change what they add (prefetching, pins)."""

    def __init__(self, inner: Source) -> None:
        self.inner = inner

    @property
    def location(self) -> str:
        return self.inner.location

    @property
    def concurrent_reads(self) -> int:
        return self.inner.concurrent_reads

    def list(self) -> Iterator[ObjectInfo]:
        return self.inner.list()

    def read(self, key: str, max_bytes: int) -> bytes:
        return self.inner.read(key, max_bytes)

    def open(self, key: str, if_match: str | None = None) -> BinaryIO:
        return self.inner.open(key, if_match)


def read_capped(source: Source, key: str, max_bytes: int) -> bytes:
    """The whole object through `source.open`, refused (never read past) when over max_bytes."""
    with source.open(key) as stream:
        data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise SourceError(
            Code.JSON_YAML_FILE_SIZE_LIMIT_EXCEEDED,
            f"{key} is larger than {max_bytes} bytes.",
            "Make the file smaller, or raise the DRMODELS_* size limit if this size is intended.",
            key,
        )
    return data


class SizeMismatch(StoreError):
    """The stream gave a different number of bytes than announced (the source changed)."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    checksum: str | None
    """'md5:<hex>' when the store knows the content's MD5, else 'etag:<the store's opaque ETag>'."""
    md5: str | None = None
    """The content's MD5 when the write computed it (also for multipart uploads)."""


def check_key(key: str) -> str:
    """A store key follows rules/names.py: relative, '/'-separated, a name every store can hold."""
    why = unstorable(key, STORE_KEY_BYTES)
    if why is not None:
        raise StoreError(f"refusing store key {key!r}: it {why}")
    return key


class ProgressFn(Protocol):
    def __call__(self, nbytes: int, /) -> None: ...


class CopyFn(Protocol):
    """Copies a listed object of a source to `dest` in the store; the source's failures are SourceError."""

    def __call__(
        self, info: ObjectInfo, dest: str, progress: ProgressFn | None = None, /
    ) -> StoredObject: ...


class ModelStore(Protocol):
    """A root of keys; every write stays under it."""

    @property
    def location(self) -> str: ...

    def write(
        self, key: str, stream: BinaryIO, size: int, progress: ProgressFn | None = None
    ) -> StoredObject:
        """Store exactly `size` bytes of `stream` under `key`, atomically (all or nothing)."""
        ...

    def copier(self, source: Source) -> CopyFn | None:
        """A server-side copy from `source` (no bytes pass through us), when the store can do one."""
        ...

    def stat(self, key: str) -> StoredObject | None:
        """Size and checksum of a stored object, None when absent."""
        ...

    def open(self, key: str) -> BinaryIO: ...

    def scan(self, prefix: str) -> Iterator[StoredObject]:
        """Every object under `prefix` (a folder key, no trailing '/'), checksums not computed."""
        ...

    def delete(self, keys: list[str]) -> None: ...

    def delete_prefix(self, prefix: str) -> int:
        """Remove everything under `prefix`, including half-written parts; returns the count."""
        ...

    def source(self, prefix: str) -> Source:
        """The objects under `prefix` as an import source (the virtual model)."""
        ...


@dataclass(frozen=True)
class RoleDocuments:
    """An IAM role as IAM describes it: its trust policy and every policy that applies to it."""

    arn: str
    trust: dict[str, Any]
    policies: dict[str, dict[str, Any]]
    """Policy name -> document (inline policies and the default version of attached managed ones)."""


class AccountS3(Protocol):
    """One identity's view of an account's S3 (an assumed role's, for migrations and the doctor).

    Failures are SourceError with the spec's code, naming the action that was refused.
    """

    @property
    def requests(self) -> Counter[str]:
        """Requests sent, by operation."""
        ...

    def buckets(self) -> list[str]: ...

    def listing(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object under `prefix` with its full key (one paginated ListObjectsV2)."""
        ...

    def head(self, bucket: str, key: str) -> ObjectInfo | None:
        """Size and ETag now, None when the object is gone."""
        ...

    def delete(self, bucket: str, key: str) -> None: ...

    def location(self, bucket: str) -> str: ...

    def read_first_byte(self, bucket: str, key: str) -> None:
        """GetObject of one byte: proves s3:GetObject without reading the object."""
        ...

    def bucket_policy(self, bucket: str) -> dict[str, Any] | None:
        """The bucket policy, None when the bucket has none."""
        ...

    def put_bucket_policy(self, bucket: str, policy: dict[str, Any]) -> None: ...


class RoleAdmin(Protocol):
    """IAM with the operator's credentials: read a role, (re)create it with its trust and policy."""

    def role(self, name: str) -> RoleDocuments | None:
        """None when no role has that name."""
        ...

    def put_role(self, name: str, trust: dict[str, Any], policy_name: str, policy: dict[str, Any]) -> bool:
        """Create the role (True) or reset its trust policy (False), then put the inline policy."""
        ...


class AwsAccess(Protocol):
    """The AWS calls migrations, cleanups, the doctor and the repairs make (bootstrap picks the adapter)."""

    def s3(self, role_arn: str | None) -> AccountS3:
        """S3 as `role_arn` (assumed now: a refused role raises SourceError), or as drmodels itself."""
        ...

    def iam(self) -> RoleAdmin: ...

    def caller_arn(self) -> str:
        """The ARN drmodels runs as (sts:GetCallerIdentity), the principal a role's trust must name."""
        ...


class Target(Protocol):
    """A user's s3://bucket/prefix that a model is copied into, through their role ("Copy to S3")."""

    @property
    def location(self) -> str: ...

    def write(self, key: str, stream: BinaryIO, size: int) -> None:
        """Put exactly `size` bytes under prefix/key; the user's side refusing is a SourceError."""
        ...
