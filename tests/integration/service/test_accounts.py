"""Accounts, access keys, passwords, model tags and job resumption, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import re
import socket
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from drmodels.config import load_settings
from drmodels.errors import AlreadyExists, ConfigError, Conflict, InvalidRequest, NotFound
from drmodels.registry.db import Registry
from drmodels.registry.tables import AccessKey, Base, ImportJob
from drmodels.service.accounts import MAX_KEYS, AccountService
from drmodels.service.jobs import worker_id
from drmodels.service.models import ModelService
from drmodels.service.resume import resume_jobs
from drmodels.service.secrets import KEY_FILE, ExpiredLink, Keyring
from drmodels.service.tags import MAX_TAGS, TagService
from support.deps import make_deps
from support.import_fixtures import registry, registry_url  # noqa: F401  (fixtures)


def _accounts(registry: Registry, tmp_path: Path) -> AccountService:  # noqa: F811
    return AccountService(registry, Keyring(load_settings(data_dir=tmp_path / "data")))


def test_tables_match_the_migrations(registry: Registry) -> None:  # noqa: F811
    with registry.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_accounts_and_keys(registry: Registry, tmp_path: Path) -> None:  # noqa: F811
    service = _accounts(registry, tmp_path)
    info, key = service.create("league-1", password="a long password")
    assert re.fullmatch(r"[0-9]{12}", info.account_id) and info.account_id != "000000000000"
    assert re.fullmatch(r"AKDR[A-Z2-7]{16}", key.access_key_id) and len(key.secret_access_key) == 40
    with pytest.raises(AlreadyExists):
        service.create("league-1")
    with pytest.raises(InvalidRequest):
        service.create("no spaces allowed")
    second = service.create_key(info.account_id)
    assert service.get(info.account_id).access_key_ids == (key.access_key_id, second.access_key_id)
    found = service.signing_key(second.access_key_id)
    assert found is not None and (found.account_id, found.secret) == (
        info.account_id,
        second.secret_access_key,
    )
    # the registry holds the secret sealed, never as it is
    with registry.session() as s:
        stored = s.scalars(sa.select(AccessKey.secret)).all()
    assert all(key.secret_access_key not in v and second.secret_access_key not in v for v in stored)
    assert service.delete_key(second.access_key_id) == info.account_id
    assert service.signing_key(second.access_key_id) is None
    with pytest.raises(NotFound):
        service.delete_key(second.access_key_id)
    for _ in range(MAX_KEYS - 1):
        service.create_key(info.account_id)
    with pytest.raises(Conflict):
        service.create_key(info.account_id)
    # the embedded default account exists without being created, and can have keys
    default = service.create_key()
    assert default.account_id == "000000000000"
    assert [a.account_id for a in service.list()] == [info.account_id, "000000000000"]
    with pytest.raises(NotFound):
        service.require("123456789012")


def test_passwords(tmp_path: Path) -> None:
    service = _accounts(make_deps(tmp_path).registry, tmp_path)
    info, _ = service.create("racer", password="correct horse battery")
    assert service.check_password("racer", "correct horse battery") == info.account_id
    assert service.check_password("racer", "wrong password!") is None
    assert service.check_password("nobody", "correct horse battery") is None
    service.set_password(info.account_id, "another long one")
    assert service.check_password("racer", "another long one") == info.account_id
    with pytest.raises(InvalidRequest):
        service.set_password(info.account_id, "short")


def test_the_secret_key_file_and_the_configured_key(tmp_path: Path) -> None:
    data = tmp_path / "data"
    keyring = Keyring(load_settings(data_dir=data))
    sealed = keyring.seal("s3cr3t")
    assert (data / KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert Keyring(load_settings(data_dir=data)).unseal(sealed) == "s3cr3t"  # the same file, the same key
    os.chmod(data / KEY_FILE, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        Keyring(load_settings(data_dir=data)).seal("x")
    configured = Keyring(load_settings(data_dir=data, secret_key="A" * 43 + "="))
    with pytest.raises(ConfigError, match="not the key the secret was made with"):
        configured.unseal(sealed)
    link = configured.link({"m": "x"}, ttl_seconds=60)
    assert configured.read_link(link)["m"] == "x"
    with pytest.raises(ExpiredLink, match="expired"):
        configured.read_link(configured.link({"m": "x"}, ttl_seconds=-1))


def test_tags_are_limited_and_per_model(tmp_path: Path) -> None:
    deps = make_deps(tmp_path)
    models = ModelService(deps, "123456789012")
    arn = models.accept("tagged", str(tmp_path)).arn
    tags = TagService(models)
    tags.tag(arn, {f"k{i}": "v" for i in range(MAX_TAGS)})
    tags.tag(arn, {"k0": "changed"})
    with pytest.raises(InvalidRequest, match=f"at most {MAX_TAGS}"):
        tags.tag(arn, {"one-more": "v"})
    assert tags.list(arn)["k0"] == "changed" and len(tags.list(arn)) == MAX_TAGS
    models.delete("tagged")  # the tags go with the model
    with pytest.raises(NotFound):
        tags.list(arn)


def test_resume_takes_queued_and_lost_jobs_only(tmp_path: Path) -> None:
    submitted: list[tuple[str, int]] = []

    class Recorder:
        def submit(self, kind: str, job_id: int) -> None:
            submitted.append((kind, job_id))

    deps = replace(make_deps(tmp_path), runner=Recorder())
    models = ModelService(deps)
    queued, lost, alive = (models.accept(n, str(tmp_path)).job_id for n in ("queued", "lost", "alive"))
    dead = f"{socket.gethostname()}:999999999:gone"  # this host, a pid that does not run
    with deps.registry.session() as s:
        for job_id, owner in ((lost, dead), (alive, worker_id())):
            job = s.get_one(ImportJob, job_id)
            job.status, job.owner, job.heartbeat_at = "RUNNING", owner, deps.clock()
    assert [(j.kind, j.id) for j in resume_jobs(deps)] == [("import", queued), ("import", lost)]
    assert submitted == [("import", queued), ("import", lost)]


def test_hot_path_reads_survive_a_database_restart() -> None:
    """Reads outside the ORM skip the pre-ping; a connection the server dropped is read again once."""
    import sqlalchemy as sa

    from drmodels.registry.queries import read_model
    from support.import_fixtures import PG_ADMIN_URL, pg_database

    with pg_database() as url:
        reg = Registry(url)
        assert read_model(reg, "123456789012", "id", "nothing") is None  # a pooled connection now
        name = url.rsplit("/", 1)[1]
        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"),
                      {"d": name})  # fmt: skip
        admin.dispose()
        assert read_model(reg, "123456789012", "id", "nothing") is None
        reg.close()
