"""The CLI's Rich consoles: lines are never wrapped, so an ARN or a path is never cut in two.

In a terminal the terminal wraps long lines itself; elsewhere (a pipe, a file, CI logs) the width is
unbounded, so tables keep each row on one line and nothing is folded.
"""

from __future__ import annotations

import json
import math

from rich.console import Console

UNBOUNDED = 100_000
"""The width outside a terminal: wide enough that Rich never folds a line."""


def console(*, stderr: bool = False) -> Console:
    out = Console(stderr=stderr, soft_wrap=True)
    if out.is_terminal:
        return out
    return Console(stderr=stderr, soft_wrap=True, width=UNBOUNDED)


def strict_json(value: object) -> str:
    """Strict JSON for --json output: a non-finite number (a model stored before drmodels refused
    them) is null, never the `NaN` / `Infinity` that JSON parsers reject."""
    return json.dumps(_finite(value), indent=2, ensure_ascii=False, allow_nan=False)


def _finite(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
