"""Your models: one row per model, filtered by status and name, paged; and the statuses the page's
script polls while imports run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from drmodels.errors import InvalidRequest
from drmodels.registry.queries import ModelRecord
from drmodels.registry.statuses import ModelStatus
from drmodels.rules.limits import human_size
from drmodels.web.site import console_of, page, signed_in

PAGE_SIZE = 25
WORKING = frozenset({ModelStatus.IMPORTING, ModelStatus.MIGRATING, ModelStatus.DELETING})
MAX_POLLED = 100


def action_space(car: dict[str, Any] | None) -> str:
    """ "discrete N" or "continuous", from the model's CarConfiguration."""
    space = (car or {}).get("ActionSpace") or {}
    if "ContinuousActionSpace" in space or str(space.get("ActionSpaceType", "")).lower() == "continuous":
        return "continuous"
    return f"discrete {len(space.get('DiscreteActionSpace') or [])}" if space else "-"


@dataclass(frozen=True)
class Row:
    name: str
    status: str
    error_code: str | None
    sensors: str
    algorithm: str
    action_space: str
    size: str
    created: str

    @property
    def working(self) -> bool:
        return self.status in WORKING


def row(model: ModelRecord) -> Row:
    car = model.car_configuration or {}
    return Row(
        name=model.name,
        status=model.status,
        error_code=model.error_code,
        sensors=", ".join(car.get("Sensors") or []) or "-",
        algorithm=model.agent_algorithm or "-",
        action_space=action_space(model.car_configuration),
        size=human_size(model.size_bytes or 0) if model.status == ModelStatus.READY else "-",
        created=f"{model.creation_time:%Y-%m-%d %H:%M}",
    )


def _page_number(raw: str | None) -> int:
    if not raw:
        return 1
    if not raw.isdigit() or not 1 <= int(raw) <= 1_000_000:
        raise InvalidRequest("page", f"must be a page number from 1; got {raw[:20]!r}")
    return int(raw)


async def models(request: Request) -> Response:
    session = await signed_in(request)
    status = request.query_params.get("status") or None
    if status is not None and status not in ModelStatus.__members__:
        raise InvalidRequest("status", f"must be one of {', '.join(ModelStatus)}; got {status[:40]!r}")
    name = (request.query_params.get("name") or "").strip()[:64] or None
    number = _page_number(request.query_params.get("page"))
    service = console_of(request).models(session)
    found, total = await run_in_threadpool(service.search, status, name, (number - 1) * PAGE_SIZE, PAGE_SIZE)
    pages = max(1, -(-total // PAGE_SIZE))
    rows = [row(m) for m in found]
    return page(
        request, "models.html", rows=rows, total=total, number=number, pages=pages, status=status or "",
        name=name or "", statuses=list(ModelStatus), live=any(r.working for r in rows),
        deleted=request.query_params.get("deleted", "")[:64],
    )  # fmt: skip


async def statuses(request: Request) -> Response:
    """{"models": [{name, status, error_code, size}]}: the named models of this account (others left out)."""
    session = await signed_in(request)
    names = request.query_params.getlist("name")[:MAX_POLLED]
    service = console_of(request).models(session)

    def read() -> list[dict[str, Any]]:
        return [
            {"name": m.name, "status": m.status, "error_code": m.error_code, "size": row(m).size}
            for m in service.named(names)
        ]

    return JSONResponse({"models": await run_in_threadpool(read)}, headers={"Cache-Control": "no-store"})


ROUTES = [Route("/models", models), Route("/statuses", statuses)]
