"""Usage metering (a job) and the monthly bill of an account: one entry, two categories.

`meter` turns the account's usage records (registry/usage.py) into metered days for a month, up to the
clock's now, and saves them (idempotent: a day metered again is replaced). `bill` meters the month, then
prices it (rules/pricing.py) with the settings' prices. `start_metering` / `run_metering` are the job form,
for a scheduler or worker to keep metered days current.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from drmodels.registry import account_jobs
from drmodels.registry.statuses import JobStatus
from drmodels.registry.tables import AccountJob, UsageDay
from drmodels.registry.usage import records_between, save_days
from drmodels.rules import requests
from drmodels.rules.pricing import Bill, DayUsage, Span, add_months, meter_month, parse_month, price
from drmodels.service.account_jobs import Held, run_account_job
from drmodels.service.deps import Deps

METERING = "metering"


def meter(deps: Deps, account_id: str, month: str) -> list[DayUsage]:
    requests.check_account(account_id)
    first = parse_month(month)
    start = datetime(first.year, first.month, 1)
    after = add_months(first, 1)
    now = deps.clock()
    with deps.registry.session() as s:
        records = records_between(s, account_id, start, datetime(after.year, after.month, 1))
        spans = [Span(r.kind, r.size_bytes, r.started_at, r.ended_at, r.migrated_at) for r in records]
        days = meter_month(spans, first, now, deps.prices.free_storage_months)
        save_days(
            s,
            account_id,
            [
                UsageDay(
                    account_id=account_id, day=d.day, storage_byte_seconds=d.storage_byte_seconds,
                    free_byte_seconds=d.free_byte_seconds, service_seconds=d.service_seconds, metered_at=now,
                )
                for d in days
            ],
        )  # fmt: skip
    return days


def bill(deps: Deps, account_id: str, month: str) -> Bill:
    """The account's bill for `month` (YYYY-MM), so far if the month is still running."""
    days = meter(deps, account_id, month)
    return price(account_id, parse_month(month), days, deps.prices, deps.clock())


def start_metering(deps: Deps, account_id: str, month: str) -> int:
    requests.check_account(account_id)
    parse_month(month)
    return account_jobs.create(deps.registry, account_id, METERING, None, {"month": month}, deps.clock())


def run_metering(job_id: int, deps: Deps) -> JobStatus:
    """Metering as a (leased) job."""

    def work(job: AccountJob, _held: Held) -> dict[str, Any]:
        days = meter(deps, job.account_id, job.params["month"])
        return {"month": job.params["month"], "days": len(days)}

    return run_account_job(deps, job_id, work)
