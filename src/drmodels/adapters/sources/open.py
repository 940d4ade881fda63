"""What the user typed (a folder, a .tar.gz, an s3:// URL) turned into a Source: one registry of schemes.

A location with `scheme://` is opened by the opener registered for its scheme (case-insensitive);
anything else is a local path: a folder, or an archive of one (tar, compressed or not, or zip: told by
its first bytes). To add a source, write its adapter (the Source protocol in ports.py) and register
its scheme in SCHEMES.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from drmodels.adapters.ports import Source, SourceError
from drmodels.adapters.s3.client import make_s3_client
from drmodels.adapters.sources.archive import REPACK
from drmodels.adapters.sources.folder import FolderSource
from drmodels.adapters.sources.s3 import S3Source, parse_s3_url
from drmodels.adapters.sources.tarball import TarballSource
from drmodels.adapters.sources.ziparchive import ZipSource
from drmodels.formats.sniff import HEAD_BYTES, ZIP, archive_kind, describe
from drmodels.rules.layout import ARCHIVE_SUFFIXES
from drmodels.rules.problems import Code

CLAIMS = {
    ".tar.gz": "a gzip", ".tgz": "a gzip", ".tar.bz2": "a bzip2", ".tbz2": "a bzip2",
    ".tar.xz": "an xz", ".txz": "an xz", ".tar": "a tar", ".zip": "a zip",
}  # fmt: skip
"""What the content of a file named with each suffix must be."""


class SourceOpener:
    """Opens sources by location; every s3:// source read without a role shares one S3 client.

    Building a boto3 client costs tens of milliseconds of CPU; a bulk import would pay it per model, and
    a migration (every model read through the account's role) an AssumeRole as well: sources read through
    the same role share one client too, its temporary credentials refreshed before they expire.
    `requests` counts every S3 request the sources it opened send, by operation.
    """

    def __init__(self, max_pool_connections: int = 64) -> None:
        self.requests: Counter[str] = Counter()
        self._pool = max_pool_connections
        self._client: Any = None
        self._role_clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __call__(self, location: str, role_arn: str | None = None) -> Source:
        scheme, sep, _ = location.partition("://")
        if not sep:
            return open_path(location, role_arn)
        opener = SCHEMES.get(scheme.lower())
        if opener is None:
            raise SourceError(
                Code.FILE_DOES_NOT_EXIST,
                f"{location!r} has the scheme {scheme}://, which drmodels does not read.",
                "Give a model folder, a .tar.gz of one, or s3://bucket/prefix.",
            )
        return opener(self, location, role_arn)

    def check(self, location: str, role_arn: str | None = None) -> None:
        """Refuse what can never be opened (unknown scheme, bad bucket name, a path that is neither a
        folder nor an archive, --role-arn with a local path) without listing or contacting anything."""
        scheme, sep, _ = location.partition("://")
        if not sep:
            open_path(location, role_arn)
        elif scheme.lower() == "s3":
            parse_s3_url(location)
        else:
            self(location, role_arn)

    def shared_s3_client(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = make_s3_client(max_pool_connections=self._pool, counter=self.requests)
            return self._client

    def role_s3_client(self, role_arn: str) -> Any:
        """The role's shared client; a role that cannot be assumed raises, and is tried again next time."""
        with self._lock:
            client = self._role_clients.get(role_arn)
            if client is None:
                client = make_s3_client(role_arn, self._pool, self.requests)
                self._role_clients[role_arn] = client
            return client


def _open_s3(opener: SourceOpener, location: str, role_arn: str | None) -> Source:
    bucket, prefix = parse_s3_url(location)
    client = opener.role_s3_client(role_arn) if role_arn else opener.shared_s3_client()
    return S3Source(location, bucket, prefix, client, role_arn, opener.requests)


SCHEMES: dict[str, Callable[[SourceOpener, str, str | None], Source]] = {"s3": _open_s3}


ARCHIVES = ".tar.gz, .tgz, .tar, .tar.bz2, .tar.xz or .zip"


def open_path(location: str, role_arn: str | None = None) -> Source:
    """A local folder or archive; an archive is told by its first bytes, whatever its name."""
    if role_arn:
        raise SourceError(
            Code.ACCOUNT_RESOURCE_DOES_NOT_EXIST,
            "--role-arn applies to s3:// sources only.",
            "Drop --role-arn for a local folder or archive.",
        )
    path = Path(location).expanduser()
    if path.is_dir():
        return FolderSource(path, location)
    if not path.exists():
        raise SourceError(
            Code.FILE_DOES_NOT_EXIST,
            f"{location} does not exist.",
            "Check the path; for S3 use s3://bucket/prefix.",
        )
    try:
        with path.open("rb") as f:
            head = f.read(HEAD_BYTES)
    except OSError as exc:
        raise SourceError(
            Code.ACCESS_DENIED_TO_BUCKET,
            f"{location} cannot be read: {exc.strerror}.",
            "Make the file readable by the user running drmodels.",
        ) from None
    kind = archive_kind(head)
    if kind == ZIP:
        return ZipSource(path, location)
    if kind is not None:
        return TarballSource(path, location, compression=kind)
    claimed = next((s for s in ARCHIVE_SUFFIXES if location.lower().endswith(s)), None)
    if claimed is not None:
        raise SourceError(
            Code.MODEL_VALIDATION_SERVICE_ERROR,
            f"{location} is not {CLAIMS[claimed]} file ({describe(head)}), so it is not a {claimed} archive.",
            REPACK,
        )
    raise SourceError(
        Code.FILE_DOES_NOT_EXIST,
        f"{location} is a file, not a model folder or an archive of one ({ARCHIVES}).",
        "Give the folder that holds reward_function.py, ip/ and model/ (its prefix root), or an archive "
        "of it.",
    )


def open_source(location: str, role_arn: str | None = None) -> Source:
    """One source, with an opener of its own (no client shared with other sources)."""
    return SourceOpener()(location, role_arn)
