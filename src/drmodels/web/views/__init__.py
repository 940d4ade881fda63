"""The console's pages, one module each; ROUTES is every route, in the order they match."""

from __future__ import annotations

from starlette.routing import BaseRoute

from drmodels.web.views import bill, bulk, imports, migrations, model, models, session

ROUTES: list[BaseRoute] = [
    *session.ROUTES, *models.ROUTES, *model.ROUTES, *imports.ROUTES, *bulk.ROUTES, *migrations.ROUTES,
    *bill.ROUTES,
]  # fmt: skip
