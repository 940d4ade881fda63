"""Turn what the user typed (a folder, a .tar.gz, an s3:// URL) into a Source."""

from __future__ import annotations

from pathlib import Path

from drmodels.adapters.sources.base import Source, SourceError
from drmodels.adapters.sources.folder import LocalSource
from drmodels.adapters.sources.tarball import TarballSource
from drmodels.rules.problems import Code

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")


def open_source(location: str, role_arn: str | None = None) -> Source:
    if location.startswith("s3://"):
        from drmodels.adapters.sources.s3 import S3Source

        return S3Source.from_url(location, role_arn=role_arn)
    if role_arn:
        raise SourceError(
            Code.ACCOUNT_RESOURCE_DOES_NOT_EXIST,
            "--role-arn applies to s3:// sources only.",
            "Drop --role-arn for a local folder or archive.",
        )
    path = Path(location).expanduser()
    if path.is_dir():
        return LocalSource(path, location)
    if path.is_file() and location.lower().endswith(ARCHIVE_SUFFIXES):
        return TarballSource(path, location)
    if path.exists():
        raise SourceError(
            Code.FILE_DOES_NOT_EXIST,
            f"{location} is a file, not a model folder or a .tar.gz of one.",
            "Give the folder that holds reward_function.py, ip/ and model/ (its prefix root).",
        )
    raise SourceError(
        Code.FILE_DOES_NOT_EXIST,
        f"{location} does not exist.",
        "Check the path; for S3 use s3://bucket/prefix.",
    )
