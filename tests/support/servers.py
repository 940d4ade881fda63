"""Real servers for the test suite and the benchmarks: SeaweedFS (`weed mini`) and moto_server.

No in-process mocks: each server is a subprocess on free 127.0.0.1 ports, started with our own
configuration, polled until it answers, and stopped with SIGTERM, then SIGKILL after a grace period.
A missing binary raises ServerError (a test failure, never a skip).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drmodels.rules import permissions

ACCOUNT = "000000000000"
REGION = "us-east-1"
STOP_GRACE_S = 5.0


class ServerError(RuntimeError):
    """A test server that could not be found, started or reached."""


@dataclass(frozen=True)
class Keys:
    access_key: str
    secret_key: str

    def env(self) -> dict[str, str]:
        return {"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key}


def role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


@dataclass(frozen=True)
class Roles:
    """ARNs of the roles declared in our iam.json; the importer identity may assume the trusted ones."""

    read: str
    """s3:ListBucket + s3:GetObject (+ the spec's other read actions) on every bucket."""
    list_only: str
    """s3:ListBucket only: listing works, every GetObject/HeadObject is denied."""
    no_list: str
    """s3:GetObject only: reads work, ListObjectsV2 is denied."""
    untrusted: str
    """Full read policy, but the trust policy names another principal: AssumeRole is refused."""
    missing: str
    """Not declared at all."""
    migration: str = role_arn("DrmMigrationRole")
    """Exactly the spec's "Model migration permissions" (every *deepracer* bucket)."""
    migration_cleanup: str = role_arn("DrmMigrationCleanupRole")
    """The migration policy plus s3:DeleteObject on *deepracer*/* (removing sources after the cutoff)."""
    export: str = role_arn("DrmExportRole")
    """The read policy plus s3:PutObject (and multipart) on every bucket: "Copy to S3"."""


@dataclass(frozen=True)
class Seaweed:
    """A running `weed mini`: S3 + STS on one endpoint."""

    endpoint: str
    admin: Keys
    importer: Keys
    roles: Roles
    data_dir: Path
    log_path: Path

    @property
    def log_dir(self) -> Path:
        """glog's files and the gRPC sockets: inside the server's own folder, never in /tmp."""
        return self.data_dir / "logs"

    def env(self, keys: Keys | None = None) -> dict[str, str]:
        """AWS env vars that point any AWS client (boto3, s5cmd) at this server, isolated from ~/.aws."""
        return {
            **(keys or self.admin).env(),
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }


ADMIN = Keys("drmadminkey", "drmadminsecret")
IMPORTER = Keys("drmimporterkey", "drmimportersecret")
IMPORTER_ARN = f"arn:aws:iam::{ACCOUNT}:user/importer"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def free_ports(n: int) -> list[int]:
    """n distinct free ports (held open together, so they differ)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def find_binary(name: str) -> str:
    """The binary next to this interpreter (the venv) or on PATH; ServerError if absent."""
    here = Path(sys.executable).parent / name
    if here.exists():
        return str(here)
    found = shutil.which(name)
    if found is None:
        raise ServerError(
            f"`{name}` not found next to {sys.executable} nor on PATH; "
            f"install the test extras: pip install -e '.[test]'"
        )
    return found


def s3_config() -> dict[str, Any]:
    """Static identities: an admin with every action, an importer with none of its own (roles only)."""
    return {
        "identities": [
            {
                "name": "admin",
                "credentials": [{"accessKey": ADMIN.access_key, "secretKey": ADMIN.secret_key}],
                "actions": ["Admin", "Read", "List", "Tagging", "Write"],
            },
            {
                "name": "importer",
                "credentials": [{"accessKey": IMPORTER.access_key, "secretKey": IMPORTER.secret_key}],
                "actions": [],
            },
        ]
    }


def _statement(actions: list[str], resources: list[str]) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources}


_VALIDATE = _statement(["sts:ValidateSession"], ["*"])
_ALL_BUCKETS = ["arn:aws:s3:::*"]
_ALL_OBJECTS = ["arn:aws:s3:::*/*"]
# The spec's minimal import policy ("Model import permissions"), over every bucket.
_READ_ACTIONS = [
    "s3:ListBucket",
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:GetObjectAcl",
    "s3:GetBucketPolicy",
    "s3:GetBucketAcl",
    "s3:GetBucketLocation",
]

# What "Copy to S3" (GetAssetUrl S3_PKG_*) needs in the user's bucket.
_WRITE_ACTIONS = ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]


def _spec(document: dict[str, Any]) -> list[dict[str, Any]]:
    """A policy document of the spec (rules/permissions.py), plus what SeaweedFS needs for sessions."""
    return [*document["Statement"], _VALIDATE]


POLICIES: dict[str, list[dict[str, Any]]] = {
    "DrmMigrationPolicy": _spec(permissions.migration_policy()),
    "DrmMigrationCleanupPolicy": _spec(permissions.migration_policy(cleanup=True)),
    "DrmReadPolicy": [
        _statement(["s3:ListAllMyBuckets"], ["*"]),
        _statement(_READ_ACTIONS, _ALL_BUCKETS + _ALL_OBJECTS),
        _VALIDATE,
    ],
    "DrmListOnlyPolicy": [_statement(["s3:ListBucket"], _ALL_BUCKETS), _VALIDATE],
    "DrmNoListPolicy": [_statement(["s3:GetObject"], _ALL_OBJECTS), _VALIDATE],
    "DrmExportPolicy": [
        _statement(["s3:ListAllMyBuckets"], ["*"]),
        _statement(_READ_ACTIONS + _WRITE_ACTIONS, _ALL_BUCKETS + _ALL_OBJECTS),
        _VALIDATE,
    ],
}

ROLES: dict[str, tuple[str, str]] = {
    # role name -> (trusted principal, attached policy)
    "DrmReadRole": (IMPORTER_ARN, "DrmReadPolicy"),
    "DrmListOnlyRole": (IMPORTER_ARN, "DrmListOnlyPolicy"),
    "DrmNoListRole": (IMPORTER_ARN, "DrmNoListPolicy"),
    "DrmUntrustedRole": (f"arn:aws:iam::{ACCOUNT}:user/someoneelse", "DrmReadPolicy"),
    "DrmExportRole": (IMPORTER_ARN, "DrmExportPolicy"),
    "DrmMigrationRole": (IMPORTER_ARN, "DrmMigrationPolicy"),
    "DrmMigrationCleanupRole": (IMPORTER_ARN, "DrmMigrationCleanupPolicy"),
}


def iam_config(extra: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] | None = None) -> dict[str, Any]:
    """SeaweedFS advanced IAM: STS signing key, default Deny, our roles and their policies.

    `extra`: more roles, name -> (trust policy, policy statements), as IAM (moto) describes them.
    """
    roles = [
        {
            "roleName": name,
            "roleArn": role_arn(name),
            "trustPolicy": {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": ["sts:AssumeRole"]}
                ],
            },
            "attachedPolicies": [policy],
        }
        for name, (principal, policy) in ROLES.items()
    ]
    policies = [
        {"name": name, "document": {"Version": "2012-10-17", "Statement": statements}}
        for name, statements in POLICIES.items()
    ]
    for name, (trust, statements) in (extra or {}).items():
        roles.append({"roleName": name, "roleArn": role_arn(name), "trustPolicy": trust,
                      "attachedPolicies": [f"{name}Policy"]})  # fmt: skip
        policies.append(
            {"name": f"{name}Policy", "document": {"Version": "2012-10-17", "Statement": statements}}
        )
    return {
        "sts": {
            "tokenDuration": 3600 * 10**9,
            "maxSessionLength": 12 * 3600 * 10**9,
            "issuer": "seaweedfs-sts",
            "signingKey": "ZHJtb2RlbHMtdGVzdC1zaWduaW5nLWtleS0zMi1ieXRlcw==",
        },
        "policy": {"defaultEffect": "Deny", "storeType": "memory"},
        "roles": roles,
        "policies": policies,
    }


def _poll(url: str, proc: subprocess.Popen[bytes], log_path: Path, timeout_s: float) -> None:
    """Wait until `url` answers any HTTP status; ServerError if the process dies or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerError(f"server exited with {proc.returncode}; log tail:\n{_tail(log_path)}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return  # 403 / 400 etc.: it answers
        except OSError:
            time.sleep(0.1)
    raise ServerError(f"{url} did not answer within {timeout_s:.0f} s; log tail:\n{_tail(log_path)}")


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def stop(proc: subprocess.Popen[bytes], grace_s: float = STOP_GRACE_S) -> None:
    """SIGTERM the server's process group, SIGKILL it after `grace_s` (weed can take ~30 s)."""
    if proc.poll() is not None:
        return
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


@contextmanager
def seaweed(
    base_dir: Path | None = None,
    timeout_s: float = 30.0,
    extra_roles: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] | None = None,
) -> Iterator[Seaweed]:
    """Run `weed mini` with our s3.json / iam.json on free ports; yields a Seaweed, then stops it.

    `extra_roles` stand in for IAM changes reaching STS: SeaweedFS reads its roles only at its first
    start on a data folder (later starts keep the roles it saved in its filer).
    """
    weed = find_binary("weed")
    own_dir = base_dir is None
    root = Path(tempfile.mkdtemp(prefix="drm-weed-")) if base_dir is None else base_dir
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    (root / "s3.json").write_text(json.dumps(s3_config(), indent=1))
    (root / "iam.json").write_text(json.dumps(iam_config(extra_roles), indent=1))
    s3, master, volume, filer, s3g, masterg, volumeg, filerg, admin, adming = free_ports(10)
    logs = root / "logs"  # glog's files, and (TMPDIR) its gRPC sockets: inside root, never in /tmp
    logs.mkdir(exist_ok=True)
    cmd = [
        weed,
        f"-logdir={logs}",
        "mini",
        f"-dir={data}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-admin.ui=false",
        f"-admin.port={admin}",
        f"-admin.port.grpc={adming}",
        "-webdav=false",
        "-master.telemetry=false",
        f"-s3.port={s3}",
        f"-s3.port.grpc={s3g}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-master.port={master}",
        f"-master.port.grpc={masterg}",
        f"-volume.port={volume}",
        f"-volume.port.grpc={volumeg}",
        f"-filer.port={filer}",
        f"-filer.port.grpc={filerg}",
        f"-filer.localSocket={root / 'filer.sock'}",
        f"-s3.localSocket={root / 's3.sock'}",
        "-s3.iam.readOnly=false",
        "-volume.max=1000",  # one volume per bucket: the auto limit (free disk / 1 GiB) runs out in a suite
        "-master.volumeSizeLimitMB=64",
        f"-s3.config={root / 's3.json'}",
        f"-s3.iam.config={root / 'iam.json'}",
    ]
    log_path = root / "weed.log"
    # weed mini makes an admin of AWS_ACCESS_KEY_ID from its environment: start it without AWS_*
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | {"TMPDIR": str(logs)}
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, cwd=root, start_new_session=True, env=env
        )
    endpoint = f"http://127.0.0.1:{s3}"
    try:
        _poll(endpoint + "/", proc, log_path, timeout_s)
        yield Seaweed(
            endpoint=endpoint,
            admin=ADMIN,
            importer=IMPORTER,
            roles=Roles(
                read=role_arn("DrmReadRole"),
                list_only=role_arn("DrmListOnlyRole"),
                no_list=role_arn("DrmNoListRole"),
                untrusted=role_arn("DrmUntrustedRole"),
                missing=role_arn("DrmNoSuchRole"),
                export=role_arn("DrmExportRole"),
            ),
            data_dir=root,
            log_path=log_path,
        )
    finally:
        stop(proc)
        _remove_grpc_sockets([s3g, masterg, volumeg, filerg, adming])
        if own_dir:
            shutil.rmtree(root, ignore_errors=True)


GRPC_SOCKET = "/tmp/seaweedfs-{kind}-grpc-{port}.sock"
"""Where weed puts its gRPC sockets, whatever TMPDIR says (the path is compiled in)."""


def _remove_grpc_sockets(ports: list[int]) -> None:
    """Remove the sockets of our server (named by our ports) that weed leaves in /tmp when stopped."""
    for port in ports:
        for kind in ("master", "volume", "filer", "s3", "admin"):
            Path(GRPC_SOCKET.format(kind=kind, port=port)).unlink(missing_ok=True)


@dataclass(frozen=True)
class Moto:
    """A running moto_server (IAM/STS/S3 in moto's emulation); auth is off until enforce_auth()."""

    endpoint: str

    def enforce_auth(self) -> None:
        """Switch on IAM enforcement (create users, keys, roles and policies before this)."""
        req = urllib.request.Request(
            self.endpoint + "/moto-api/reset-auth",
            data=b"0",
            method="POST",
            headers={"Content-Type": "text/plain"},
        )
        with urllib.request.urlopen(req, timeout=5):
            pass


def iam_client(server: Moto) -> Any:
    import boto3

    return boto3.client(
        "iam", endpoint_url=server.endpoint, region_name=REGION, aws_access_key_id="moto",
        aws_secret_access_key="moto",
    )  # fmt: skip


def mirror_roles(server: Moto) -> None:
    """Create in moto's IAM the roles SeaweedFS serves (iam.json): what the doctor reads through IAM."""
    iam = iam_client(server)
    config = iam_config()
    documents = {p["name"]: p["document"] for p in config["policies"]}
    for role in config["roles"]:
        name = role["roleName"]
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(role["trustPolicy"]))
        for policy in role["attachedPolicies"]:
            iam.put_role_policy(
                RoleName=name, PolicyName=policy, PolicyDocument=json.dumps(documents[policy])
            )


def role_from_iam(server: Moto, name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(trust, statements) of a role as moto's IAM holds it, for `seaweed(extra_roles=...)`."""
    iam = iam_client(server)
    trust = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
    statements: list[dict[str, Any]] = [_VALIDATE]
    for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
        statements += _listed(document["Statement"])
    return {**trust, "Statement": _listed(trust["Statement"])}, statements


def _listed(raw: Any) -> list[dict[str, Any]]:
    """Statements with list-valued Action and Resource: SeaweedFS 4.48's iam.json reads only lists."""
    statements = [raw] if isinstance(raw, dict) else list(raw)
    return [
        {k: [v] if k in ("Action", "Resource") and isinstance(v, str) else v for k, v in st.items()}
        for st in statements
    ]


@contextmanager
def moto(timeout_s: float = 30.0) -> Iterator[Moto]:
    """Run `moto_server` on a free port; yields a Moto, then stops it."""
    binary = find_binary("moto_server")
    port = free_port()
    root = Path(tempfile.mkdtemp(prefix="drm-moto-"))
    log_path = root / "moto.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [binary, "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        _poll(endpoint + "/moto-api/", proc, log_path, timeout_s)
        yield Moto(endpoint)
    finally:
        stop(proc)
        shutil.rmtree(root, ignore_errors=True)


def s3_client(server: Seaweed, keys: Keys | None = None, max_pool_connections: int = 16) -> Any:
    """A boto3 S3 client for `server` (admin keys by default), independent of the environment."""
    import boto3
    from botocore.config import Config

    keys = keys or server.admin
    return boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id=keys.access_key,
        aws_secret_access_key=keys.secret_key,
        config=Config(max_pool_connections=max_pool_connections, s3={"addressing_style": "path"}),
    )


def put_objects(client: Any, bucket: str, prefix: str, objects: dict[str, bytes], threads: int = 8) -> None:
    """PUT each {relative key: body} under s3://bucket/prefix/ (bucket created if missing)."""
    from concurrent.futures import ThreadPoolExecutor

    with suppress(client.exceptions.BucketAlreadyOwnedByYou, client.exceptions.BucketAlreadyExists):
        client.create_bucket(Bucket=bucket)
    root = prefix.strip("/") + "/" if prefix.strip("/") else ""
    with ThreadPoolExecutor(threads) as pool:
        list(
            pool.map(
                lambda kv: client.put_object(Bucket=bucket, Key=root + kv[0], Body=kv[1]), objects.items()
            )
        )


def upload_tree(client: Any, local: Path, bucket: str, prefix: str, threads: int = 8) -> int:
    """Upload every file under `local` to s3://bucket/prefix/, keeping relative paths; returns the count."""
    files = {p.relative_to(local).as_posix(): p.read_bytes() for p in sorted(local.rglob("*")) if p.is_file()}
    put_objects(client, bucket, prefix, files, threads)
    return len(files)
