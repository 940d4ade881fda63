"""The bill's arithmetic with a given clock: month boundaries, deletes mid-month, the free window, prices,
two categories, totals to the cent (amounts worked out by hand in each test)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from drmodels.errors import InvalidRequest
from drmodels.rules.pricing import (
    GIB,
    MODEL_STORAGE,
    SERVICE_USE,
    Prices,
    Span,
    add_months,
    free_until,
    meter_month,
    parse_month,
    price,
)

PRICES = Prices()


def bill_for(spans: list[Span], month: str, now: datetime, prices: Prices = PRICES):  # type: ignore[no-untyped-def]
    first = parse_month(month)
    return price(
        "123456789012", first, meter_month(spans, first, now, prices.free_storage_months), prices, now
    )


def lines(bill) -> dict[str, tuple[Decimal, Decimal]]:  # type: ignore[no-untyped-def]
    return {line.category: (line.quantity, line.amount) for line in bill.lines}


def test_a_whole_month_of_10_gib_is_10_gb_months() -> None:
    spans = [Span("storage", 10 * GIB, datetime(2021, 5, 20), None)]
    bill = bill_for(spans, "2021-06", datetime(2021, 7, 3))
    assert lines(bill)[MODEL_STORAGE] == (Decimal("10.000000"), Decimal("0.23"))
    assert bill.complete and bill.total == Decimal("0.23")
    assert len(bill.daily) == 30 and all(d.gb == Decimal("10.000000") for d in bill.daily)


def test_storage_across_a_month_boundary_is_split_between_the_months() -> None:
    # 30 GiB from May 16 00:00 to June 16 00:00: 16 of May's 31 days, 15 of June's 30 days
    spans = [Span("storage", 30 * GIB, datetime(2021, 5, 16), datetime(2021, 6, 16))]
    may, june = (
        bill_for(spans, "2021-05", datetime(2021, 8, 1)),
        bill_for(spans, "2021-06", datetime(2021, 8, 1)),
    )
    assert lines(may)[MODEL_STORAGE][0] == (Decimal(30) * 16 / 31).quantize(Decimal("0.000001"))
    assert lines(june)[MODEL_STORAGE][0] == Decimal("15.000000")
    assert lines(may)[MODEL_STORAGE][1] == Decimal("0.36")  # 15.483871 x 0.023 = 0.3561
    assert lines(june)[MODEL_STORAGE][1] == Decimal("0.35")  # 15 x 0.023 = 0.345 -> half up


def test_a_delete_mid_month_stops_the_meter_mid_day() -> None:
    spans = [Span("storage", 48 * GIB, datetime(2021, 6, 1), datetime(2021, 6, 2, 12))]
    bill = bill_for(spans, "2021-06", datetime(2021, 7, 1))
    assert lines(bill)[MODEL_STORAGE][0] == Decimal("2.400000")  # 48 GiB x 36 h / 720 h
    assert [d.gb for d in bill.daily[:3]] == [Decimal("48.000000"), Decimal("24.000000"), Decimal("0.000000")]


def test_a_running_month_is_billed_up_to_now() -> None:
    spans = [Span("storage", 30 * GIB, datetime(2021, 6, 1), None)]
    bill = bill_for(spans, "2021-06", datetime(2021, 6, 11))
    assert not bill.complete and len(bill.daily) == 10
    assert lines(bill)[MODEL_STORAGE][0] == Decimal("10.000000")


def test_migrated_storage_is_free_in_the_migration_month_and_the_next() -> None:
    assert free_until(datetime(2020, 7, 14, 9), 2) == datetime(2020, 9, 1)
    assert free_until(datetime(2020, 12, 31), 2) == datetime(2021, 2, 1)
    span = Span("storage", 10 * GIB, datetime(2020, 7, 14, 9), None, migrated_at=datetime(2020, 7, 14, 8))
    july, august, september = (
        bill_for([span], m, datetime(2020, 10, 2)) for m in ("2020-07", "2020-08", "2020-09")
    )
    assert lines(july)[MODEL_STORAGE] == (Decimal("0.000000"), Decimal("0.00"))
    assert july.lines[1].free_quantity > 0
    assert lines(august)[MODEL_STORAGE] == (Decimal("0.000000"), Decimal("0.00"))
    assert lines(september)[MODEL_STORAGE] == (Decimal("10.000000"), Decimal("0.23"))
    imported = Span("storage", 10 * GIB, datetime(2020, 7, 14, 9), None)  # not migrated: billed at once
    assert lines(bill_for([imported], "2020-08", datetime(2020, 10, 2)))[MODEL_STORAGE][1] == Decimal("0.23")


def test_service_use_is_hours_of_work_at_the_hourly_price() -> None:
    spans = [
        Span("import", 0, datetime(2021, 6, 3, 10), datetime(2021, 6, 3, 10, 30)),
        Span("migration", 0, datetime(2021, 6, 30, 23), datetime(2021, 7, 1, 1)),  # 1 h in June
    ]
    bill = bill_for(spans, "2021-06", datetime(2021, 7, 2))
    assert lines(bill)[SERVICE_USE] == (Decimal("1.500000"), Decimal("5.25"))


def test_prices_come_from_the_settings_and_the_total_is_the_sum_of_the_lines() -> None:
    prices = Prices(Decimal("2.00"), Decimal("0.10"), 0)
    spans = [
        Span("storage", 3 * GIB, datetime(2021, 6, 1), None, migrated_at=datetime(2021, 6, 1)),
        Span("import", 0, datetime(2021, 6, 5), datetime(2021, 6, 5, 0, 20)),  # 1/3 h -> 0.6667 -> 0.67
    ]
    bill = bill_for(spans, "2021-06", datetime(2021, 7, 1), prices)
    assert [line.category for line in bill.lines] == [SERVICE_USE, MODEL_STORAGE]
    assert lines(bill)[SERVICE_USE][1] == Decimal("0.67")
    assert lines(bill)[MODEL_STORAGE] == (Decimal("3.000000"), Decimal("0.30"))  # free window 0 months
    assert bill.total == Decimal("0.97")
    data = bill.as_dict()
    assert data["total"] == 0.97
    assert [set(line) >= {"category", "quantity", "unit", "amount"} for line in data["lines"]] == [True, True]


def test_a_bad_month_is_refused() -> None:
    for month in ("2021-13", "21-06", "June", "0000-01", "9999-12"):  # no date holds year 0 or 10000-01
        with pytest.raises(InvalidRequest):
            parse_month(month)
    assert parse_month("2021-06") == date(2021, 6, 1)
    assert add_months(parse_month("9998-12"), 1) == date(9999, 1, 1)


def test_a_bill_names_its_month_with_four_digits() -> None:
    assert bill_for([], "0999-01", datetime(2026, 1, 1)).month == "0999-01"
