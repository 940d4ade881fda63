"""Where a model's content lives in the store."""

from __future__ import annotations

from drmodels.formats.car_archive import ARCHIVE_NAME


def model_prefix(model_id: str) -> str:
    return f"models/{model_id}"


def virtual_prefix(model_id: str) -> str:
    """The virtual model: a prefix root that is itself a valid import source."""
    return f"models/{model_id}/virtual"


def virtual_key(model_id: str, key: str) -> str:
    return f"{virtual_prefix(model_id)}/{key}"


def car_archive_key(model_id: str) -> str:
    return f"models/{model_id}/{ARCHIVE_NAME}"
