"""S3Source against a real SeaweedFS: listing, reads, streams, and every error mapped to its code."""

from __future__ import annotations

import math
import os
from typing import Any

import pytest

from drmodels.adapters.ports import Source, SourceError
from drmodels.adapters.sources.s3 import S3Source, parse_s3_url
from drmodels.rules.objects import ObjectInfo
from drmodels.rules.problems import Code
from support import servers

pytestmark = pytest.mark.servers


def _source(url: str, role_arn: str | None = None) -> Source:
    return S3Source.from_url(url, role_arn=role_arn)


def _put(s3: Any, bucket: str, objects: dict[str, bytes], prefix: str = "m") -> None:
    servers.put_objects(s3, bucket, prefix, objects)


# ------------------------------------------------------------------ URLs


@pytest.mark.parametrize(
    ("url", "bucket", "prefix"),
    [
        ("s3://bkt/models/m1", "bkt", "models/m1/"),
        ("s3://bkt/models/m1/", "bkt", "models/m1/"),
        ("s3://bkt//models/m1///", "bkt", "models/m1/"),
        ("s3://bkt", "bkt", ""),
        ("s3://bkt/", "bkt", ""),
        ("S3://bkt/a", "bkt", "a/"),
    ],
)
def test_parse_url_normalises_prefix(url: str, bucket: str, prefix: str) -> None:
    assert parse_s3_url(url) == (bucket, prefix)


@pytest.mark.parametrize("url", ["s3://", "s3:///prefix", "s3://a/b", "s3://bad bucket/x", "s3://b@d/x"])
def test_invalid_bucket_name_is_bucket_does_not_exist(url: str) -> None:
    with pytest.raises(SourceError) as err:
        parse_s3_url(url)
    assert err.value.code is Code.SRC_BUCKET_DOES_NOT_EXIST
    assert url in err.value.message


def test_not_an_s3_url() -> None:
    with pytest.raises(SourceError) as err:
        parse_s3_url("/tmp/model")
    assert "s3://BUCKET/PREFIX" in err.value.fix


# ------------------------------------------------------------------ listing


def test_list_paginates_one_list_per_1000_keys(aws_env: servers.Seaweed, s3_admin: Any, bucket: str) -> None:
    n = 1500
    objects = {f"sim-trace/{i:05d}.csv": b"x" * (i % 7) for i in range(n)}
    _put(s3_admin, bucket, objects)
    source = S3Source.from_url(f"s3://{bucket}/m")
    listed = list(source.list())
    assert len(listed) == n
    assert {o.key: o.size for o in listed} == {k: len(v) for k, v in objects.items()}
    assert source.requests["ListObjectsV2"] == math.ceil(n / 1000)
    assert source.requests["HeadObject"] == 0


def test_list_keys_relative_sizes_etags_and_folder_markers(
    aws_env: servers.Seaweed, s3_admin: Any, bucket: str
) -> None:
    objects = {"model/": b"", "model/model_metadata.json": b"{}", "ip/hyperparameters.json": b"[1]"}
    _put(s3_admin, bucket, objects)
    s3_admin.put_object(Bucket=bucket, Key="m-other/x", Body=b"not ours")  # shares the string prefix "m"
    listed = sorted(_source(f"s3://{bucket}/m/").list(), key=lambda o: o.key)
    etag = s3_admin.head_object(Bucket=bucket, Key="m/model/model_metadata.json")["ETag"].strip('"')
    assert [o.key for o in listed] == ["ip/hyperparameters.json", "model/model_metadata.json"]
    assert listed[1] == ObjectInfo("model/model_metadata.json", 2, etag)
    assert '"' not in (listed[0].etag or '"')


def test_whole_bucket_when_prefix_empty(aws_env: servers.Seaweed, s3_admin: Any, bucket: str) -> None:
    _put(s3_admin, bucket, {"reward_function.py": b"def reward_function(p): return 1.0\n"}, prefix="")
    for url in (f"s3://{bucket}", f"s3://{bucket}/"):
        source = S3Source.from_url(url)
        assert [o.key for o in source.list()] == ["reward_function.py"]
        assert source.location == url


def test_empty_prefix_lists_nothing(aws_env: servers.Seaweed, s3_admin: Any, bucket: str) -> None:
    _put(s3_admin, bucket, {"a.json": b"{}"}, prefix="elsewhere")
    source = S3Source.from_url(f"s3://{bucket}/nothing-here")
    assert list(source.list()) == []
    assert source.requests["ListObjectsV2"] == 1
    assert source.requests["HeadObject"] == 1


def test_prefix_that_is_a_file(aws_env: servers.Seaweed, s3_admin: Any, bucket: str) -> None:
    _put(s3_admin, bucket, {"model/model_metadata.json": b"{}"}, prefix="models/m1")
    source = S3Source.from_url(f"s3://{bucket}/models/m1/model/model_metadata.json")
    with pytest.raises(SourceError) as err:
        list(source.list())
    assert err.value.code is Code.FILE_DOES_NOT_EXIST
    assert f"s3://{bucket}/models/m1/model/model_metadata.json is a file" in err.value.message
    assert "model/ and ip/" in err.value.fix
    assert f"s3://{bucket}/models/m1" in err.value.fix


ODD_KEYS = [
    "with space/a b.json",
    "unicode/Modèle-ü-日本.json",
    "colon/12:30:00.csv",
    "plus/a+b.csv",
    "percent/100%25 done %.txt",
    "equals/k=v&x=y.log",
    "tilde~/semi;comma,quote'.txt",
]


def test_odd_keys_round_trip(aws_env: servers.Seaweed, s3_admin: Any, bucket: str) -> None:
    objects = {k: k.encode() for k in ODD_KEYS}
    _put(s3_admin, bucket, objects, prefix="odd prefix+=")
    source = S3Source.from_url(f"s3://{bucket}/odd prefix+=")
    assert sorted(o.key for o in source.list()) == sorted(ODD_KEYS)
    for key in ODD_KEYS:
        assert source.read(key, 1000) == key.encode()
        with source.open(key) as stream:
            assert stream.read() == key.encode()


# ------------------------------------------------------------------ reads


def test_read_and_open(aws_env: servers.Seaweed, s3_admin: Any, bucket: str) -> None:
    big = os.urandom(3 * 1024 * 1024 + 17)
    _put(s3_admin, bucket, {"model/.coach_checkpoint": b"13_Step-25173.ckpt\n", "model/big.data": big})
    source = S3Source.from_url(f"s3://{bucket}/m")
    assert source.read("model/.coach_checkpoint", 1024) == b"13_Step-25173.ckpt\n"
    with source.open("model/big.data") as stream:
        head = stream.read(10)
        chunks = [head]
        while chunk := stream.read(256 * 1024):
            chunks.append(chunk)
    assert head == big[:10]
    assert b"".join(chunks) == big
    assert source.requests["GetObject"] == 2


def test_read_exactly_max_bytes_and_empty(aws_env: servers.Seaweed, s3_admin: Any, bucket: str) -> None:
    _put(s3_admin, bucket, {"ten.json": b"0123456789", "empty.json": b""})
    source = S3Source.from_url(f"s3://{bucket}/m")
    assert source.read("ten.json", 10) == b"0123456789"
    assert source.read("empty.json", 10) == b""
    assert source.requests["GetObject"] == 2  # the empty object's 416 carries its size: no second GET


def test_read_beyond_max_bytes_refused(aws_env: servers.Seaweed, s3_admin: Any, bucket: str) -> None:
    _put(s3_admin, bucket, {"model/model_metadata.json": b"{" + b" " * 5000 + b"}"})
    source = S3Source.from_url(f"s3://{bucket}/m")
    sizes: list[int] = []
    source._client.meta.events.register(  # the bytes the server sent, per GET
        "after-call.s3.GetObject", lambda parsed, **_: sizes.append(int(parsed["ContentLength"]))
    )
    with pytest.raises(SourceError) as err:
        source.read("model/model_metadata.json", 100)
    assert err.value.code is Code.JSON_YAML_FILE_SIZE_LIMIT_EXCEEDED
    assert f"s3://{bucket}/m/model/model_metadata.json" in err.value.message
    assert "5002 bytes" in err.value.message
    assert err.value.path == "model/model_metadata.json"
    assert sizes == [100]  # never more than max_bytes on the wire
    assert source.requests["GetObject"] == 1


def test_read_missing_key_is_file_does_not_exist(aws_env: servers.Seaweed, bucket: str) -> None:
    source = S3Source.from_url(f"s3://{bucket}/m")
    for call in (lambda: source.read("model/gone.json", 10), lambda: source.open("model/gone.json")):
        with pytest.raises(SourceError) as err:
            call()
        assert err.value.code is Code.FILE_DOES_NOT_EXIST
        assert f"s3://{bucket}/m/model/gone.json" in err.value.message
        assert err.value.path == "model/gone.json"


# ------------------------------------------------------------------ errors


def test_bucket_missing(aws_env: servers.Seaweed) -> None:
    source = S3Source.from_url("s3://drm-no-such-bucket-4711/models/m1")
    with pytest.raises(SourceError) as err:
        list(source.list())
    assert err.value.code is Code.SRC_BUCKET_DOES_NOT_EXIST
    assert "drm-no-such-bucket-4711" in err.value.message


def test_role_with_read_policy_works(importer_env: servers.Seaweed, s3_admin: Any, bucket: str) -> None:
    _put(s3_admin, bucket, {"ip/hyperparameters.json": b"{}"})
    source = S3Source.from_url(f"s3://{bucket}/m", role_arn=importer_env.roles.read)
    assert [o.key for o in source.list()] == ["ip/hyperparameters.json"]
    assert source.read("ip/hyperparameters.json", 100) == b"{}"
    assert source.requests == {"AssumeRole": 1, "ListObjectsV2": 1, "GetObject": 1}


def test_importer_keys_alone_are_denied(importer_env: servers.Seaweed, s3_admin: Any, bucket: str) -> None:
    _put(s3_admin, bucket, {"a": b"1"})
    with pytest.raises(SourceError) as err:
        list(S3Source.from_url(f"s3://{bucket}/m").list())
    assert err.value.code is Code.ACCESS_DENIED_TO_BUCKET
    assert "your AWS credentials" in err.value.message


def test_role_without_get_object_denied_on_read(
    importer_env: servers.Seaweed, s3_admin: Any, bucket: str
) -> None:
    _put(s3_admin, bucket, {"model/model_metadata.json": b"{}"})
    role = importer_env.roles.list_only
    source = S3Source.from_url(f"s3://{bucket}/m", role_arn=role)
    assert [o.key for o in source.list()] == ["model/model_metadata.json"]
    for call in (
        lambda: source.read("model/model_metadata.json", 100),
        lambda: source.open("model/model_metadata.json"),
    ):
        with pytest.raises(SourceError) as err:
            call()
        e = err.value
        assert e.code is Code.ACCESS_DENIED_TO_BUCKET
        assert f"s3://{bucket}/m/model/model_metadata.json" in e.message
        assert "s3:GetObject" in e.message and role in e.message
        assert f"arn:aws:s3:::{bucket}/m/model/model_metadata.json" in e.fix
        assert e.path == "model/model_metadata.json"


def test_role_without_list_bucket_denied_on_list(
    importer_env: servers.Seaweed, s3_admin: Any, bucket: str
) -> None:
    _put(s3_admin, bucket, {"model/model_metadata.json": b"{}"})
    role = importer_env.roles.no_list
    source = S3Source.from_url(f"s3://{bucket}/m", role_arn=role)
    assert source.read("model/model_metadata.json", 100) == b"{}"
    with pytest.raises(SourceError) as err:
        list(source.list())
    e = err.value
    assert e.code is Code.ACCESS_DENIED_TO_BUCKET
    assert bucket in e.message and "s3:ListBucket" in e.message and role in e.message
    assert f"s3:ListBucket on arn:aws:s3:::{bucket} " in e.fix


@pytest.mark.parametrize("which", ["untrusted", "missing"])
def test_role_not_assumable(importer_env: servers.Seaweed, bucket: str, which: str) -> None:
    role = getattr(importer_env.roles, which)
    with pytest.raises(SourceError) as err:
        S3Source.from_url(f"s3://{bucket}/m", role_arn=role)
    e = err.value
    assert e.code is Code.ACCOUNT_RESOURCE_DOES_NOT_EXIST
    assert role in e.message and "sts:AssumeRole" in e.message
    assert "trust policy" in e.fix and "deepracer.amazonaws.com" in e.fix


def test_malformed_role_arn(importer_env: servers.Seaweed, bucket: str) -> None:
    with pytest.raises(SourceError) as err:
        S3Source.from_url(f"s3://{bucket}/m", role_arn="not-an-arn")
    assert err.value.code is Code.ACCOUNT_RESOURCE_DOES_NOT_EXIST
    assert "not-an-arn" in err.value.message


def test_no_credentials(aws_env: servers.Seaweed, monkeypatch: pytest.MonkeyPatch, bucket: str) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    for role in (None, aws_env.roles.read):
        with pytest.raises(SourceError) as err:
            S3Source.from_url(f"s3://{bucket}/m", role_arn=role)
        assert err.value.code is Code.ACCOUNT_RESOURCE_DOES_NOT_EXIST
        assert "AWS_ACCESS_KEY_ID" in err.value.fix


def test_rejected_keys(aws_env: servers.Seaweed, monkeypatch: pytest.MonkeyPatch, bucket: str) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "nosuchkey")
    source = S3Source.from_url(f"s3://{bucket}/m")
    with pytest.raises(SourceError) as err:
        list(source.list())
    assert err.value.code is Code.ACCOUNT_RESOURCE_DOES_NOT_EXIST
    assert "InvalidAccessKeyId" in err.value.message and bucket in err.value.message
    with pytest.raises(SourceError) as err:
        S3Source.from_url(f"s3://{bucket}/m", role_arn=aws_env.roles.read)
    assert err.value.code is Code.ACCOUNT_RESOURCE_DOES_NOT_EXIST


def test_unreachable_endpoint(aws_env: servers.Seaweed, monkeypatch: pytest.MonkeyPatch) -> None:
    dead = f"http://127.0.0.1:{servers.free_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", dead)
    source = S3Source.from_url("s3://drm-unreachable/m")
    for call in (lambda: list(source.list()), lambda: source.read("a.json", 10)):
        with pytest.raises(SourceError) as err:
            call()
        assert err.value.code is Code.SERVICE_ERROR
        assert "drm-unreachable" in err.value.message and "127.0.0.1" in err.value.message
    with pytest.raises(SourceError) as err:
        S3Source.from_url("s3://drm-unreachable/m", role_arn=aws_env.roles.read)
    assert err.value.code is Code.SERVICE_ERROR


def test_service_specific_endpoint_env_is_honoured(
    aws_env: servers.Seaweed, monkeypatch: pytest.MonkeyPatch, s3_admin: Any, bucket: str
) -> None:
    """AWS_ENDPOINT_URL_S3 wins over AWS_ENDPOINT_URL (boto3 reads both itself)."""
    _put(s3_admin, bucket, {"a.json": b"{}"})
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{servers.free_port()}")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", aws_env.endpoint)
    assert [o.key for o in S3Source.from_url(f"s3://{bucket}/m").list()] == ["a.json"]


def test_listing_and_head_timestamps_parse(aws_env: servers.Seaweed, s3_admin: Any, bucket: str) -> None:
    """s3client swaps botocore's dateutil parser for a faster one: both timestamp forms still parse."""
    from drmodels.adapters.s3.client import make_s3_client

    _put(s3_admin, bucket, {"a.json": b"{}"})
    client = make_s3_client()
    listed = client.list_objects_v2(Bucket=bucket)["Contents"][0]["LastModified"]
    headed = client.head_object(Bucket=bucket, Key="m/a.json")["LastModified"]
    assert listed.tzinfo is not None and headed.tzinfo is not None
    assert abs((listed - headed).total_seconds()) < 1


def test_service_specific_endpoints_with_role(
    importer_env: servers.Seaweed, monkeypatch: pytest.MonkeyPatch, s3_admin: Any, bucket: str
) -> None:
    """AWS_ENDPOINT_URL_STS and AWS_ENDPOINT_URL_S3 each override AWS_ENDPOINT_URL."""
    _put(s3_admin, bucket, {"a.json": b"{}"})
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{servers.free_port()}")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", importer_env.endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", importer_env.endpoint)
    source = S3Source.from_url(f"s3://{bucket}/m", role_arn=importer_env.roles.read)
    assert [o.key for o in source.list()] == ["a.json"]


def test_the_suites_seaweedfs_logs_in_its_own_folder(seaweed: servers.Seaweed) -> None:
    """glog writes weed.INFO & co. under the server's folder (the test's tmp dir), not in /tmp."""
    assert seaweed.log_dir.is_relative_to(seaweed.data_dir)
    assert any(p.name.startswith("weed.") for p in seaweed.log_dir.iterdir())
