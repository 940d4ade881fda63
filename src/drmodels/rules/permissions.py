"""The spec's permissions: the minimal import policy and the trust policy the console's role has."""

from __future__ import annotations

IMPORT_POLICY_ACTIONS = (
    "s3:PutBucketPolicy",
    "s3:GetBucketPolicy",
    "s3:ListBucket",
    "s3:GetBucketAcl",
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:GetObjectAcl",
    "s3:GetBucketLocation",
)
TRUST_POLICY = (
    '{"Effect": "Allow", "Principal": {"Service": "deepracer.amazonaws.com"}, "Action": "sts:AssumeRole"}'
)
