"""The bill: one month of the signed-in account (the current month unless `?month=YYYY-MM`), one entry with
two categories, service use and model storage, as `drmodels bill` gives it, and the daily storage chart."""

from __future__ import annotations

from datetime import date

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from drmodels.rules.pricing import LAST_YEAR, Bill, parse_month
from drmodels.service.billing import bill as make_bill
from drmodels.web.charts import render_daily_storage
from drmodels.web.site import console_of, page, signed_in


def _beside(first: date, months: int) -> str | None:
    """The month `months` away, as YYYY-MM; None outside the months a bill can be asked for."""
    index = first.year * 12 + first.month - 1 + months
    if not 12 <= index < (LAST_YEAR + 1) * 12:
        return None
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


async def bill(request: Request) -> Response:
    session = await signed_in(request)
    deps = console_of(request).services.deps
    month = (request.query_params.get("month") or "").strip()[:20] or f"{deps.clock():%Y-%m}"
    first = parse_month(month)
    found: Bill = await run_in_threadpool(make_bill, deps, session.account_id, month)
    return page(
        request, "bill.html", bill=found, chart=render_daily_storage(found),
        previous=_beside(first, -1), following=_beside(first, 1),
        free_months=deps.prices.free_storage_months,
    )  # fmt: skip


ROUTES = [Route("/bill", bill, methods=["GET"])]
