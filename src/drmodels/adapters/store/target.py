"""A user's s3://bucket/prefix written through their role: where "Copy to S3" puts a model's files.

The writes are our S3 store's (one PutObject with Content-MD5, or a multipart upload aborted on
failure); what the user's side refuses is mapped to the spec's codes like any S3 call on their behalf.
"""

from __future__ import annotations

from typing import BinaryIO

from botocore.exceptions import BotoCoreError, ClientError

from drmodels.adapters.s3.client import make_s3_client
from drmodels.adapters.s3.errors import source_error
from drmodels.adapters.sources.s3 import parse_s3_url
from drmodels.adapters.store.s3 import S3Store
from drmodels.errors import StoreError


class S3Target:
    def __init__(self, location: str, role_arn: str) -> None:
        self.bucket, self.root = parse_s3_url(location)
        self.role_arn = role_arn
        self._store = S3Store(make_s3_client(role_arn), self.bucket, self.root)  # assumes the role now

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.root}"

    def write(self, key: str, stream: BinaryIO, size: int) -> None:
        try:
            self._store.write(key, stream, size)
        except StoreError as exc:
            cause = exc.__cause__
            if isinstance(cause, ClientError | BotoCoreError):
                raise source_error(
                    cause,
                    self.bucket,
                    self.root + key,
                    action="s3:PutObject",
                    role_arn=self.role_arn,
                    path=key,
                ) from None
            raise
