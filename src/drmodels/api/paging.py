"""Page tokens of both faces (ListModels' NextToken, GET /models' token): opaque, and stable while models
are added, because they carry a position (creation time, model id) rather than an offset."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import datetime
from typing import TypeVar

from drmodels.errors import InvalidRequest
from drmodels.registry.queries import ModelRecord

VERSION = 1
T = TypeVar("T")


def encode(model: ModelRecord, descending: bool) -> str:
    """The token of the page after `model` (standard base64: the service model's NextToken pattern)."""
    position = [VERSION, "D" if descending else "A", model.creation_time.isoformat(), model.id]
    return base64.b64encode(json.dumps(position, separators=(",", ":")).encode()).decode()


def decode(token: str | None, descending: bool, field: str) -> tuple[datetime, str] | None:
    """The position a token carries; InvalidRequest for a token this server did not issue for this order."""
    if token is None:
        return None
    try:
        version, order, at, model_id = json.loads(base64.b64decode(token.encode(), validate=True))
        position = (datetime.fromisoformat(at), str(model_id))
    except (ValueError, TypeError, binascii.Error):
        raise InvalidRequest(
            field, "is not a page token this server issued; start again without it"
        ) from None
    if version != VERSION or order != ("D" if descending else "A"):
        raise InvalidRequest(field, "was issued for another sort order; keep the order while paging")
    return position


def split(rows: Sequence[T], limit: int) -> tuple[Sequence[T], bool]:
    """The page (rows were asked with limit + 1) and whether another page follows."""
    return rows[:limit], len(rows) > limit
