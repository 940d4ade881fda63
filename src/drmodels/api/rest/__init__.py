"""The DeepRacer-on-AWS style REST face: one router per feature, all signed for `execute-api`.

A feature adds its module here (`models.py`: DeepRacer on AWS's model routes; `migrations.py`: account
migrations and source cleanups) and its router to FEATURES; the face's OpenAPI document then includes it.
"""

from __future__ import annotations

from fastapi import APIRouter

from drmodels.api.rest import migrations, models

FEATURES: list[APIRouter] = [models.router, migrations.router]
