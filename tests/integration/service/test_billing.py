# ruff: noqa: E501  (usage records written one per line)
"""Usage metered from the registry with an injected clock, and the bill the service makes of it."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from drmodels.registry.tables import Model, UsageDay, UsageRecord
from drmodels.rules.pricing import GIB, MODEL_STORAGE, SERVICE_USE, Prices
from drmodels.service.billing import bill, meter, run_metering, start_metering
from drmodels.service.imports.job import run_import
from drmodels.service.models import ModelService
from support.deps import make_deps
from support.import_fixtures import write_model

ACCOUNT = "123456789012"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _amounts(result: object) -> dict[str, tuple[Decimal, Decimal]]:
    return {line.category: (line.quantity, line.amount) for line in result.lines}  # type: ignore[attr-defined]


def test_storage_is_metered_from_ready_to_delete_with_the_injected_clock(tmp_path: Path) -> None:
    clock = Clock(datetime(2021, 6, 10, 12))
    deps = replace(make_deps(tmp_path), clock=clock)
    svc = ModelService(deps, ACCOUNT)
    accepted = svc.accept("kept", str(write_model(tmp_path / "src")))
    assert run_import(accepted.job_id, deps) == "READY"
    size = svc.get("kept").size_bytes or 0
    clock.now = datetime(2021, 6, 20, 12)
    svc.delete("kept")
    with deps.registry.session() as s:
        (span,) = s.scalars(sa.select(UsageRecord).where(UsageRecord.kind == "storage")).all()
        assert (span.started_at, span.ended_at, span.size_bytes) == (
            datetime(2021, 6, 10, 12), datetime(2021, 6, 20, 12), size
        )  # fmt: skip
        assert s.scalars(sa.select(Model)).all() == []  # the model is gone, its usage stays
    clock.now = datetime(2021, 7, 2)
    days = meter(deps, ACCOUNT, "2021-06")
    assert len(days) == 30 and sum(d.storage_byte_seconds for d in days) == size * 10 * 86400


def test_the_bill_from_registry_records(tmp_path: Path) -> None:
    clock = Clock(datetime(2021, 7, 3))
    deps = replace(make_deps(tmp_path), clock=clock, prices=Prices(Decimal("3.50"), Decimal("0.023"), 2))
    with deps.registry.session() as s:
        s.add_all([
            # 20 GiB imported in May, deleted mid-June (15 days of June)
            UsageRecord(account_id=ACCOUNT, model_id="a", kind="storage", size_bytes=20 * GIB,
                        started_at=datetime(2021, 5, 3), ended_at=datetime(2021, 6, 16)),
            # 30 GiB migrated June 1: free in June (and July)
            UsageRecord(account_id=ACCOUNT, model_id="b", kind="storage", size_bytes=30 * GIB,
                        started_at=datetime(2021, 6, 1, 1), ended_at=None, migrated_at=datetime(2021, 6, 1)),
            UsageRecord(account_id=ACCOUNT, model_id="b", kind="migration", started_at=datetime(2021, 6, 1),
                        ended_at=datetime(2021, 6, 1, 1)),
            UsageRecord(account_id=ACCOUNT, model_id="c", kind="import", started_at=datetime(2021, 6, 30, 23, 30),
                        ended_at=datetime(2021, 7, 1, 0, 30)),
            UsageRecord(account_id="999999999999", model_id="z", kind="storage", size_bytes=GIB,
                        started_at=datetime(2021, 1, 1), ended_at=None),  # another account's
        ])  # fmt: skip
    june = bill(deps, ACCOUNT, "2021-06")
    assert june.complete and [line.category for line in june.lines] == [SERVICE_USE, MODEL_STORAGE]
    assert _amounts(june)[SERVICE_USE] == (Decimal("1.500000"), Decimal("5.25"))  # 1 h + 30 min
    assert _amounts(june)[MODEL_STORAGE] == (Decimal("10.000000"), Decimal("0.23"))  # 20 GiB x 15/30
    assert june.lines[1].free_quantity == Decimal("29.958333")  # 30 GiB x 719/720 h, free
    assert june.total == Decimal("5.48")
    assert june.daily[0].gb == Decimal("20.000000") + Decimal(30 * 23) / 24
    september = replace(deps, clock=Clock(datetime(2021, 10, 1)))
    assert _amounts(bill(september, ACCOUNT, "2021-09"))[MODEL_STORAGE] == (
        Decimal("30.000000"),
        Decimal("0.69"),
    )
    with deps.registry.session() as s:
        assert (
            s.scalar(sa.select(sa.func.count()).select_from(UsageDay).where(UsageDay.account_id == ACCOUNT))
            == 60
        )


def test_metering_is_a_job_and_idempotent(tmp_path: Path) -> None:
    deps = replace(make_deps(tmp_path), clock=Clock(datetime(2021, 6, 11)))
    with deps.registry.session() as s:
        s.add(UsageRecord(account_id=ACCOUNT, model_id="a", kind="storage", size_bytes=GIB,
                          started_at=datetime(2021, 6, 1), ended_at=None))  # fmt: skip
    for _ in range(2):
        job_id = start_metering(deps, ACCOUNT, "2021-06")
        assert run_metering(job_id, deps) == "SUCCEEDED"
    with deps.registry.session() as s:
        days = s.scalars(sa.select(UsageDay).order_by(UsageDay.day)).all()
    assert len(days) == 10 and {d.storage_byte_seconds for d in days} == {GIB * 86400}


@pytest.mark.parametrize("month", ["2021-6", "2021-00", "next"])
def test_a_bad_month_is_an_invalid_request(tmp_path: Path, month: str) -> None:
    from drmodels.errors import InvalidRequest

    with pytest.raises(InvalidRequest):
        bill(make_deps(tmp_path), ACCOUNT, month)
