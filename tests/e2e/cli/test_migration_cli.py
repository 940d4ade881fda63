# ruff: noqa: E501  (command lines kept whole)
"""`drmodels policy`, `doctor access`, `migrate` and `bill` as a user runs them (subprocesses)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from drmodels.rules import permissions
from support import servers
from support.migration_account import good_model, under

DRMODELS = str(Path(sys.executable).parent / "drmodels")


def _run(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "DRMODELS_DATA_DIR": str(tmp_path / "data"), "DRMODELS_IMPORT_DEEP": "0",
            "COLUMNS": "200", **(env or {})}  # fmt: skip
    full.pop("DRMODELS_REGISTRY_URL", None)
    full.pop("DRMODELS_STORE_URL", None)
    return subprocess.run(
        [DRMODELS, *args], capture_output=True, text=True, env=full, cwd=tmp_path, timeout=300
    )


def test_policies_are_the_spec_documents_as_json_only(tmp_path: Path) -> None:
    trust = _run(tmp_path, "policy", "trust")
    assert trust.returncode == 0 and json.loads(trust.stdout) == permissions.trust_policy()
    assert json.loads(trust.stdout)["Statement"][0]["Principal"] == {"Service": "deepracer.amazonaws.com"}
    migration = json.loads(_run(tmp_path, "policy", "role", "--migration").stdout)
    assert migration == permissions.migration_policy()
    assert migration["Statement"][1]["Resource"] == ["arn:aws:s3:::*deepracer*", "arn:aws:s3:::*deepracer*/*"]
    principal = {"DRMODELS_SERVICE_PRINCIPAL": "arn:aws:iam::123456789012:user/drm"}
    bucket = _run(tmp_path, "policy", "bucket", "my-deepracer-bucket", env=principal)
    statement = json.loads(bucket.stdout)["Statement"][0]
    assert statement["Principal"] == {"AWS": "arn:aws:iam::123456789012:user/drm"}
    assert statement["Action"] == ["s3:GetObjectAcl", "s3:GetObject", "s3:PutObject", "s3:PutObjectAcl"]
    assert statement["Resource"] == ["arn:aws:s3:::my-deepracer-bucket", "arn:aws:s3:::my-deepracer-bucket/*"]
    refused = _run(tmp_path, "policy", "role", "no such bucket")
    assert refused.returncode == 2 and refused.stdout == "" and refused.stderr.startswith("error:")


def test_the_bill_as_json_and_csv(tmp_path: Path) -> None:
    as_json = json.loads(
        _run(tmp_path, "bill", "--account", "123456789012", "--month", "2021-06", "--json").stdout
    )
    assert [(line["category"], line["unit"], line["amount"]) for line in as_json["lines"]] == [
        ("service use", "hours", 0.0), ("model storage", "GB-month", 0.0)
    ]  # fmt: skip
    assert as_json["total"] == 0.0 and len(as_json["daily_storage"]) == 30
    rows = list(csv.reader(io.StringIO(_run(tmp_path, "bill", "--month", "2021-06", "--csv").stdout)))
    assert rows[0] == ["category", "quantity", "unit", "rate", "amount"]
    assert rows[1][:3] == ["service use", "0.000000", "hours"] and rows[-1][0] == "total"
    bad = _run(tmp_path, "bill", "--month", "June")
    assert bad.returncode == 2 and "month" in bad.stderr


@pytest.mark.servers
def test_doctor_exit_codes_and_migrate_dry_run(
    iam_env: servers.Seaweed, moto_iam: servers.Moto, s3_admin: Any, tmp_path: Path
) -> None:
    bucket = f"cli-deepracer-{uuid.uuid4().hex[:8]}"
    servers.put_objects(s3_admin, bucket, "", under("models/m1/", good_model(extras=False)))
    env = {**iam_env.env(iam_env.importer), "AWS_ENDPOINT_URL_IAM": moto_iam.endpoint}
    fine = _run(
        tmp_path, "doctor", "access", f"s3://{bucket}/models/m1", "--role-arn", iam_env.roles.read, env=env
    )
    assert fine.returncode == 0, fine.stdout + fine.stderr
    missing = _run(tmp_path, "doctor", "access", f"s3://{bucket}/models/m1", "--role-arn", iam_env.roles.missing,
                   "--json", env=env)  # fmt: skip
    report = json.loads(missing.stdout)
    assert missing.returncode == 1 and report["code"] == "ACCOUNT_RESOURCE_DOES_NOT_EXIST"
    assert report["checks"][0]["action"] == "sts:AssumeRole"
    plan = _run(tmp_path, "migrate", "--account-role-arn", iam_env.roles.migration, "--json", env=env)
    assert plan.returncode == 0, plan.stderr
    found = [i for i in json.loads(plan.stdout)["items"] if i["bucket"] == bucket]
    assert [(i["prefix"], i["action"]) for i in found] == [("models/m1/", "migrate")]
    listed = _run(tmp_path, "models", "list", "--json")
    assert json.loads(listed.stdout) == []  # a dry run registers nothing
