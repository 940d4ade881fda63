"""The source port: what the service needs from a model source (a folder, a .tar.gz, an S3 prefix)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO, Protocol

from drmodels.errors import ProblemError
from drmodels.rules.objects import ObjectInfo
from drmodels.rules.problems import Code, error


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
