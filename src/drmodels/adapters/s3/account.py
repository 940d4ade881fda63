"""An account's S3 as one identity sees it: its buckets, listings, heads, deletes and bucket policies.

Used by the migration (discovery, source cleanup), the access doctor and the bucket-policy repair. Every
failure is a SourceError from the one mapping (errors.py) naming the refused action.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from drmodels.adapters.ports import SourceError
from drmodels.adapters.s3.errors import source_error
from drmodels.rules.objects import ObjectInfo
from drmodels.rules.problems import Code

_ABSENT = frozenset({"404", "NoSuchKey", "NotFound"})


def _code(exc: ClientError) -> str:
    return str(
        exc.response.get("Error", {}).get("Code")
        or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    )


def _etag(value: str | None) -> str | None:
    return value.strip('"') if value else None


class S3Account:
    def __init__(self, client: Any, role_arn: str | None, requests: Counter[str]) -> None:
        self._client = client
        self.role_arn = role_arn
        self.requests = requests

    def _error(self, exc: Exception, bucket: str, key: str | None, action: str) -> Exception:
        return source_error(exc, bucket, key, action=action, role_arn=self.role_arn, path=key or "")

    def buckets(self) -> list[str]:
        try:
            answer = self._client.list_buckets()
        except (ClientError, BotoCoreError) as exc:
            mapped = self._error(exc, "", None, "s3:ListAllMyBuckets")
            if isinstance(mapped, SourceError) and mapped.code is Code.ACCESS_DENIED_TO_BUCKET:
                who = f"role {self.role_arn}" if self.role_arn else "drmodels' credentials"
                raise SourceError(
                    Code.ACCESS_DENIED_TO_BUCKET,
                    f"Listing the account's buckets was refused: s3:ListAllMyBuckets is not allowed "
                    f"for {who}.",
                    'Add {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"} to the '
                    "role's policy (the spec's migration policy: drmodels policy role --migration).",
                ) from None
            raise mapped from None
        return sorted(b["Name"] for b in answer.get("Buckets", ()))

    def listing(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        try:
            pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for page in pages:
                for obj in page.get("Contents", ()):
                    yield ObjectInfo(obj["Key"], int(obj.get("Size", 0)), _etag(obj.get("ETag")))
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, bucket, None, "s3:ListBucket") from None

    def head(self, bucket: str, key: str) -> ObjectInfo | None:
        try:
            answer = self._client.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in _ABSENT:
                return None
            raise self._error(exc, bucket, key, "s3:GetObject") from None
        except BotoCoreError as exc:
            raise self._error(exc, bucket, key, "s3:GetObject") from None
        return ObjectInfo(key, int(answer.get("ContentLength", 0)), _etag(answer.get("ETag")))

    def delete(self, bucket: str, key: str) -> None:
        try:
            self._client.delete_object(Bucket=bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, bucket, key, "s3:DeleteObject") from None

    def location(self, bucket: str) -> str:
        try:
            answer = self._client.get_bucket_location(Bucket=bucket)
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, bucket, None, "s3:GetBucketLocation") from None
        return str(answer.get("LocationConstraint") or "us-east-1")

    def read_first_byte(self, bucket: str, key: str) -> None:
        try:
            self._client.get_object(Bucket=bucket, Key=key, Range="bytes=0-0")["Body"].close()
        except ClientError as exc:
            if _code(exc) == "InvalidRange":  # an empty object: readable all the same
                return
            raise self._error(exc, bucket, key, "s3:GetObject") from None
        except BotoCoreError as exc:
            raise self._error(exc, bucket, key, "s3:GetObject") from None

    def bucket_policy(self, bucket: str) -> dict[str, Any] | None:
        try:
            text = self._client.get_bucket_policy(Bucket=bucket)["Policy"]
        except ClientError as exc:
            if _code(exc) in {"NoSuchBucketPolicy", "404"}:
                return None
            raise self._error(exc, bucket, None, "s3:GetBucketPolicy") from None
        except BotoCoreError as exc:
            raise self._error(exc, bucket, None, "s3:GetBucketPolicy") from None
        policy: dict[str, Any] = json.loads(text)
        return policy

    def put_bucket_policy(self, bucket: str, policy: dict[str, Any]) -> None:
        try:
            self._client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, bucket, None, "s3:PutBucketPolicy") from None
