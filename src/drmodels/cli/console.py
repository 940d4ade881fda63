"""The CLI's Rich consoles: lines are never wrapped, so an ARN or a path is never cut in two.

In a terminal the terminal wraps long lines itself; elsewhere (a pipe, a file, CI logs) the width is
unbounded, so tables keep each row on one line and nothing is folded.
"""

from __future__ import annotations

from rich.console import Console

UNBOUNDED = 100_000
"""The width outside a terminal: wide enough that Rich never folds a line."""


def console(*, stderr: bool = False) -> Console:
    out = Console(stderr=stderr, soft_wrap=True)
    if out.is_terminal:
        return out
    return Console(stderr=stderr, soft_wrap=True, width=UNBOUNDED)
