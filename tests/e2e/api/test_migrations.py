"""Account migration on the REST face, signed for `execute-api`, against a real `drmodels serve` on a
SeaweedFS of its own (ListBuckets would otherwise show other tests' `*deepracer*` buckets): a migration
started, followed to its end, run again as a no-op; the source cleanup, dry and applied; every route on
another account's job answers as on an unknown one."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from support import api, servers
from support.migration_account import broken, good_model, under

pytestmark = pytest.mark.servers


@pytest.fixture(scope="module")
def sw() -> Iterator[servers.Seaweed]:
    with servers.seaweed() as server:
        yield server


@pytest.fixture(scope="module")
def server(sw: servers.Seaweed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[api.Server]:
    data = tmp_path_factory.mktemp("api-migrations") / "data"
    with api.serve(data, api.server_env(data, sw.env(sw.importer), import_deep="false")) as running:
        yield running


@pytest.fixture(scope="module")
def account_bucket(sw: servers.Seaweed) -> tuple[str, dict[str, dict[str, bytes]]]:
    """A `*deepracer*` bucket with three good models and one without its reward function."""
    bucket = f"rest-deepracer-{uuid.uuid4().hex[:8]}"
    layout = {f"good-{i}/": good_model() for i in range(3)}
    layout["no-reward/"] = broken("FILE_DOES_NOT_EXIST")
    admin = servers.s3_client(sw)
    for prefix, files in layout.items():
        servers.put_objects(admin, bucket, "", under(prefix, files))
    return bucket, layout


def _until_done(http: requests.Session, url: str, key: str, timeout_s: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        answer = http.get(url, timeout=30)
        assert answer.status_code == 200, answer.text
        job: dict[str, Any] = answer.json()[key]
        if job["done"] or time.monotonic() > deadline:
            return job
        time.sleep(0.2)


def _keys(sw: servers.Seaweed, bucket: str) -> set[str]:
    pages = servers.s3_client(sw).get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {o["Key"] for p in pages for o in p.get("Contents", ())}


def test_a_migration_through_rest_then_its_rerun_and_the_source_cleanup(
    server: api.Server, sw: servers.Seaweed, account_bucket: tuple[str, dict[str, dict[str, bytes]]]
) -> None:
    bucket, layout = account_bucket
    key = api.account_in(server, f"migrant-{uuid.uuid4().hex[:6]}")
    http = api.rest(key)
    started = http.post(server.url + "/migrations", json={"roleArn": sw.roles.migration}, timeout=30)
    assert started.status_code == 200, started.text
    migration_id = started.json()["migrationId"]
    migration = _until_done(http, f"{server.url}/migrations/{migration_id}", "migration")
    assert migration["status"] == "SUCCEEDED", migration
    assert (migration["migrationId"], migration["roleArn"]) == (migration_id, sw.roles.migration)
    assert migration["buckets"] == [bucket] and migration["found"] == 4
    assert migration["models"] == {"READY": 3, "MIGRATE_ERROR": 1}
    assert migration["errors"] == {"FILE_DOES_NOT_EXIST": 1} and migration["skipped"] == {}
    assert migration["migratedBytes"] > 0 and migration["bytesDone"] == migration["bytesTotal"] > 0
    assert migration["createdAt"].endswith("Z") and migration["finishedAt"].endswith("Z")
    items = {i["source"]: i for i in migration["items"]}
    assert set(items) == {f"s3://{bucket}/{prefix}" for prefix in layout}
    refused = items[f"s3://{bucket}/no-reward/"]
    assert (refused["action"], refused["status"], refused["errorCode"]) == (
        "migrate", "MIGRATE_ERROR", "FILE_DOES_NOT_EXIST"
    )  # fmt: skip
    models = http.get(server.url + "/models", timeout=30).json()["models"]
    assert sorted(m["status"] for m in models) == ["ERROR", "READY", "READY", "READY"]
    assert all(m["description"].startswith(f"Migrated from s3://{bucket}/") for m in models)

    # run again: nothing changes
    again = http.post(server.url + "/migrations", json={"roleArn": sw.roles.migration}, timeout=30)
    rerun = _until_done(http, f"{server.url}/migrations/{again.json()['migrationId']}", "migration")
    assert again.json()["migrationId"] != migration_id and rerun["status"] == "SUCCEEDED"
    assert rerun["models"] == {} and sum(rerun["skipped"].values()) == 4
    assert len(http.get(server.url + "/models", timeout=30).json()["models"]) == 4

    # the source cleanup: a dry run deletes nothing, the applied one exactly the verified copies' sources
    before = _keys(sw, bucket)
    body = {"roleArn": sw.roles.migration_cleanup, "cutoff": "2020-08-10"}
    dry = http.post(server.url + "/sourcecleanups", json=body, timeout=30)
    assert dry.status_code == 200, dry.text
    report = _until_done(http, f"{server.url}/sourcecleanups/{dry.json()['cleanupId']}", "cleanup")["report"]
    assert {m["outcome"] for m in report["models"]} == {"would remove"} and len(report["models"]) == 3
    assert report["skipped"] == {"MIGRATE_ERROR: its source is kept": 1} and report["objectsRemoved"] > 0
    assert _keys(sw, bucket) == before
    applied = http.post(server.url + "/sourcecleanups", json={**body, "apply": True}, timeout=30)
    cleanup = _until_done(http, f"{server.url}/sourcecleanups/{applied.json()['cleanupId']}", "cleanup")
    assert (cleanup["status"], cleanup["apply"], cleanup["cutoff"]) == ("SUCCEEDED", True, "2020-08-10")
    cleaned = cleanup["report"]["models"]
    removed = {f"{m['source'].split('/', 3)[3]}{k}" for m in cleaned for k in m["removed"]}
    assert {m["outcome"] for m in cleaned} == {"removed"}
    assert cleanup["report"]["bytesFreed"] == report["bytesFreed"] > 0
    after = _keys(sw, bucket)
    assert after == before - removed and removed
    assert {"good-0/videos/training/camera-45degree.mp4", "good-0/model/1_Step-42.ckpt.index"} <= after
    assert {k for k in before if k.startswith("no-reward/")} <= after  # an errored model: never touched

    future = http.post(server.url + "/sourcecleanups", json={**body, "cutoff": "2999-01-01", "apply": True})
    assert future.status_code == 400, future.text
    assert future.json()["message"].startswith("remove-source-after: the cutoff 2999-01-01 has not come")


def test_a_role_that_cannot_be_assumed_fails_the_migration_with_the_spec_code(
    server: api.Server, sw: servers.Seaweed
) -> None:
    http = api.rest(api.account_in(server, f"norole-{uuid.uuid4().hex[:6]}"))
    started = http.post(server.url + "/migrations", json={"roleArn": sw.roles.missing}, timeout=30)
    migration = _until_done(http, f"{server.url}/migrations/{started.json()['migrationId']}", "migration")
    assert migration["status"] == "FAILED" and migration["error"]["code"] == "ACCOUNT_RESOURCE_DOES_NOT_EXIST"
    assert migration["found"] == 0 and migration["items"] == []


def test_another_accounts_jobs_answer_as_unknown_ones(server: api.Server, sw: servers.Seaweed) -> None:
    alice_key = api.account_in(server, f"alice-{uuid.uuid4().hex[:6]}")
    alice = api.rest(alice_key)
    bob_key = api.account_in(server, f"bob-{uuid.uuid4().hex[:6]}")
    bob = api.rest(bob_key)
    migration_id = alice.post(
        server.url + "/migrations", json={"roleArn": sw.roles.missing}, timeout=30
    ).json()["migrationId"]
    cleanup_id = alice.post(
        server.url + "/sourcecleanups", json={"roleArn": sw.roles.missing, "cutoff": "2020-01-01"}, timeout=30
    ).json()["cleanupId"]
    seen = _until_done(alice, f"{server.url}/migrations/{migration_id}", "migration")

    def answered(path: str, job_id: str) -> tuple[int, str]:
        got = bob.get(f"{server.url}/{path}/{job_id}", timeout=30)
        return got.status_code, got.json()["message"].replace(f" {job_id} in account", " <ID> in account")

    for path, job_id in (("migrations", migration_id), ("sourcecleanups", cleanup_id)):
        unknown = str(int(job_id) + 100_000)
        assert answered(path, job_id) == answered(path, unknown)
        assert answered(path, job_id)[0] == 404 and bob_key.account_id in answered(path, job_id)[1]
    # an id no job can have is unknown like any other; alice's migration is as it was
    too_big = alice.get(f"{server.url}/migrations/99999999999", timeout=30)
    assert too_big.status_code == 404
    assert too_big.json()["message"] == f"no migration 99999999999 in account {alice_key.account_id}"
    assert alice.get(f"{server.url}/migrations/{migration_id}", timeout=30).json()["migration"] == seen


def test_requests_refused_before_anything_starts(server: api.Server) -> None:
    http = api.rest(api.account_in(server, f"bad-{uuid.uuid4().hex[:6]}"))
    for body, field in (
        ({"roleArn": "not-an-arn"}, "roleArn"),
        ({}, "roleArn"),
        ({"roleArn": "arn:aws:iam::123456789012:role/r", "retryErrors": "often"}, "retryErrors"),
    ):
        refused = http.post(server.url + "/migrations", json=body, timeout=30)
        assert refused.status_code == 400 and field in refused.json()["message"], refused.text
    role = "arn:aws:iam::123456789012:role/r"
    bad_date = http.post(server.url + "/sourcecleanups", json={"roleArn": role, "cutoff": "10/08/2020"})
    assert bad_date.status_code == 400 and "cutoff" in bad_date.json()["message"]
    assert http.get(server.url + "/migrations/abc", timeout=30).status_code == 400
    unsigned = api.rest(None).post(server.url + "/migrations", json={"roleArn": "x"}, timeout=30)
    assert unsigned.status_code == 403
    assert http.get(server.url + "/models", timeout=30).json()["models"] == []
