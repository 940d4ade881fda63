"""The DeepRacer-on-AWS style REST face: one router per feature, all signed for `execute-api`.

A feature adds its module here (e.g. `migrations.py` with `POST /migrations`, `GET /migrations/{id}`)
and its router to FEATURES; the face's OpenAPI document then includes it.
"""

from __future__ import annotations

from fastapi import APIRouter

from drmodels.api.rest import models

FEATURES: list[APIRouter] = [models.router]
