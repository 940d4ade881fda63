"""The flat-fee bill: usage metered per UTC day, priced per month as one entry with two categories.

Pure: usage spans and the clock's `now` in, days and a bill out. Storage is the store's bytes of each
model from READY to deletion, in GB-hours (GB = 2^30 bytes, as AWS bills storage) summed per day and
priced per GB-month (byte-hours / hours of that month). A migrated model's storage is free from its
migration until the start of the `free_storage_months`-th calendar month after it (2: migrated in July,
free in July and August). Service use is the time the service worked on the account's models (import and
migration jobs, validation included), priced per hour. Amounts are rounded half-up to the cent per line;
the total is the sum of the lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from drmodels.errors import InvalidRequest

GIB = 2**30
DAY = timedelta(days=1)
CENT = Decimal("0.01")
STORAGE = "storage"
SERVICE_USE = "service use"
MODEL_STORAGE = "model storage"
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
LAST_YEAR = 9998


@dataclass(frozen=True)
class Prices:
    """Defaults: AWS's public DeepRacer prices."""

    service_hour: Decimal = Decimal("3.50")
    storage_gb_month: Decimal = Decimal("0.023")
    free_storage_months: int = 2


@dataclass(frozen=True)
class Span:
    """One usage record: `size_bytes` stored (kind 'storage') or the service at work (any other kind)."""

    kind: str
    size_bytes: int
    start: datetime
    end: datetime | None
    migrated_at: datetime | None = None


@dataclass(frozen=True)
class DayUsage:
    day: date
    storage_byte_seconds: int
    free_byte_seconds: int
    service_seconds: float


def parse_month(month: str) -> date:
    """The first day of a `YYYY-MM` month."""
    match = _MONTH.match(month)
    if match is None or not 1 <= int(match[2]) <= 12:
        raise InvalidRequest("month", f"a month is written YYYY-MM (for example 2020-07); got {month!r}")
    if not 1 <= int(match[1]) <= LAST_YEAR:  # a month whose next month a date can hold
        raise InvalidRequest("month", f"a month from 0001-01 to {LAST_YEAR}-12; got {month!r}")
    return date(int(match[1]), int(match[2]), 1)


def add_months(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_days(first: date) -> list[date]:
    end = add_months(first, 1)
    return [first + timedelta(days=i) for i in range((end - first).days)]


def free_until(migrated_at: datetime, months: int) -> datetime:
    """The end of a migrated model's free storage: the start of the calendar month `months` later."""
    first = add_months(migrated_at.date().replace(day=1), months)
    return datetime(first.year, first.month, first.day)


def _micros(start: datetime, end: datetime) -> int:
    if end <= start:
        return 0
    delta = end - start
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def meter_day(spans: Iterable[Span], day: date, now: datetime, free_months: int) -> DayUsage:
    """One UTC day's usage, counted up to `now` (a day still running is counted so far)."""
    start = datetime(day.year, day.month, day.day)
    end = min(start + DAY, now)
    stored = free = 0
    service = 0
    for span in spans:
        lo, hi = max(span.start, start), min(span.end or now, end)
        if span.kind != STORAGE:
            service += _micros(lo, hi)
            continue
        stored += span.size_bytes * _micros(lo, hi)
        if span.migrated_at is not None:
            free += span.size_bytes * _micros(lo, min(hi, free_until(span.migrated_at, free_months)))
    return DayUsage(day, stored // 1_000_000, free // 1_000_000, service / 1_000_000)


def meter_month(spans: Iterable[Span], first: date, now: datetime, free_months: int) -> list[DayUsage]:
    """Every day of the month that has begun by `now`."""
    spans = list(spans)
    return [
        meter_day(spans, day, now, free_months)
        for day in month_days(first)
        if datetime(day.year, day.month, day.day) < now
    ]


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class BillLine:
    category: str
    quantity: Decimal
    unit: str
    rate: Decimal
    amount: Decimal
    free_quantity: Decimal = Decimal(0)
    """Storage inside migrated models' free window, not charged (already left out of `quantity`)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "quantity": float(self.quantity),
            "unit": self.unit,
            "rate": float(self.rate),
            "amount": float(self.amount),
            "free_quantity": float(self.free_quantity),
        }


@dataclass(frozen=True)
class DailyStorage:
    day: date
    gb: Decimal
    """Average GB stored that day (what the console's daily chart draws)."""
    free_gb: Decimal

    def as_dict(self) -> dict[str, Any]:
        return {"date": self.day.isoformat(), "gb": float(self.gb), "free_gb": float(self.free_gb)}


@dataclass(frozen=True)
class Bill:
    account_id: str
    month: str
    lines: tuple[BillLine, ...]
    total: Decimal
    daily: tuple[DailyStorage, ...]
    complete: bool
    """False while the month is still running: the bill so far."""
    currency: str = "USD"

    def as_dict(self) -> dict[str, Any]:
        return {
            "account": self.account_id,
            "month": self.month,
            "currency": self.currency,
            "complete": self.complete,
            "lines": [line.as_dict() for line in self.lines],
            "total": float(self.total),
            "daily_storage": [d.as_dict() for d in self.daily],
        }


def price(account_id: str, first: date, days: Iterable[DayUsage], prices: Prices, now: datetime) -> Bill:
    """One entry, two categories: service use (hours) and model storage (GB-months)."""
    days = sorted(days, key=lambda d: d.day)
    month_seconds = Decimal(len(month_days(first)) * 86400)
    hours = Decimal(str(sum(d.service_seconds for d in days))) / 3600
    stored = Decimal(sum(d.storage_byte_seconds for d in days)) / GIB / month_seconds
    free = Decimal(sum(d.free_byte_seconds for d in days)) / GIB / month_seconds
    billable = stored - free
    service = _cents(hours * prices.service_hour)
    lines = (
        BillLine(SERVICE_USE, _round(hours), "hours", prices.service_hour, service),
        BillLine(
            MODEL_STORAGE, _round(billable), "GB-month", prices.storage_gb_month,
            _cents(billable * prices.storage_gb_month), _round(free),
        ),
    )  # fmt: skip
    daily = tuple(
        DailyStorage(
            d.day,
            _round(Decimal(d.storage_byte_seconds) / GIB / 86400),
            _round(Decimal(d.free_byte_seconds) / GIB / 86400),
        )
        for d in days
    )
    end = add_months(first, 1)
    complete = now >= datetime(end.year, end.month, end.day)
    month = f"{first.year:04d}-{first.month:02d}"  # strftime leaves years before 1000 unpadded
    return Bill(account_id, month, lines, sum((line.amount for line in lines), Decimal(0)), daily, complete)


def _round(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)
