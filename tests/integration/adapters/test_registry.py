"""The registry on SQLite and PostgreSQL: migrations up/down/up, constraints, big sizes, cascades."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.exc import IntegrityError

from drmodels.adapters.store.local import LocalStore
from drmodels.errors import InvalidRequest
from drmodels.registry.db import Registry, alembic_config
from drmodels.registry.tables import Account, ImportJob, Model, ModelEvent
from drmodels.service.imports.job import run_import
from drmodels.service.models import ModelService
from support.deps import make_deps
from support.import_fixtures import registry, registry_url, write_model  # noqa: F401  (fixtures)


def _model(model_id: str, name: str, account: str = "123456789012") -> Model:
    return Model(
        id=model_id, account_id=account, name=name, status="IMPORTING",
        arn=f"arn:aws:deepracer:us-east-1:{account}:model/reinforcement_learning/{model_id}",
    )  # fmt: skip


def test_migrations_down_and_up(registry_url: str) -> None:  # noqa: F811
    reg = Registry(registry_url)
    cfg = alembic_config(registry_url)
    command.downgrade(cfg, "base")
    assert set(sa.inspect(reg.engine).get_table_names()) <= {"alembic_version"}
    command.upgrade(cfg, "head")
    assert {"accounts", "models", "import_jobs", "model_events"} <= set(
        sa.inspect(reg.engine).get_table_names()
    )
    reg.close()


def test_models_jobs_events_round_trip(registry: Registry) -> None:  # noqa: F811
    big = 5 * 2**31  # over a 32-bit integer: sizes are BIGINT
    with registry.session() as s:
        s.add(Account(id="123456789012"))
        s.flush()
        model = _model("m1", "my-model")
        model.size_bytes = big
        model.car_configuration = {"Sensors": ["FRONT_FACING_CAMERA"]}
        s.add(model)
        s.flush()
        s.add(ImportJob(model_id="m1", source="s3://b/p", bytes_total=big))
        s.add(ModelEvent(model_id="m1", kind="accepted", message="hello"))
    with registry.session() as s:
        got = s.get_one(Model, "m1")
        assert got.size_bytes == big
        assert got.car_configuration == {"Sensors": ["FRONT_FACING_CAMERA"]}
        assert got.jobs[0].bytes_total == big and got.jobs[0].attempts == 0
        assert got.events[0].message == "hello"
        assert got.was_imported and not got.was_migrated
        s.delete(got)
    with registry.session() as s:
        assert s.scalars(sa.select(ImportJob)).all() == []
        assert s.scalars(sa.select(ModelEvent)).all() == []


def test_name_unique_per_account(registry: Registry) -> None:  # noqa: F811
    with registry.session() as s:
        s.add_all([Account(id="123456789012"), Account(id="210987654321")])
        s.flush()
        s.add(_model("a", "same"))
        s.add(_model("b", "same", account="210987654321"))  # another account may use the name
    with pytest.raises(IntegrityError), registry.session() as s:
        s.add(_model("c", "same"))


def test_import_service_on_each_registry(registry: Registry, tmp_path: Path) -> None:  # noqa: F811
    """The whole service on this registry: import, duplicate name, failure, retry, delete."""
    src = write_model(tmp_path / "src", checkpoints=2)
    deps = replace(make_deps(tmp_path, store=LocalStore(tmp_path / "store")), registry=registry)
    svc = ModelService(deps, account_id="123456789012")
    assert run_import(svc.accept("pg-or-lite", str(src), "d").job_id, svc.deps) == "READY"
    with pytest.raises(InvalidRequest, match="already exists"):
        svc.accept("pg-or-lite", str(src))
    model = svc.get("pg-or-lite")
    assert model.arn.startswith("arn:aws:deepracer:us-east-1:123456789012:model/reinforcement_learning/")
    assert model.size_bytes and model.manifest and model.jobs[0].attempts == 1
    (src / "reward_function.py").rename(tmp_path / "reward.py")
    assert run_import(svc.accept("second", str(src)).job_id, svc.deps) == "IMPORT_ERROR"
    (tmp_path / "reward.py").rename(src / "reward_function.py")
    assert run_import(svc.retry("second"), svc.deps) == "READY"
    assert [m.name for m in svc.list()] == ["pg-or-lite", "second"]
    svc.delete("second")
    assert [m.name for m in svc.list()] == ["pg-or-lite"]
