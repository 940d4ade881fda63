"""Every error the service raises on purpose, as the CLI answers it: one line on stderr and an exit code."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.markup import escape
from typer.core import TyperGroup

from drmodels.cli.console import console
from drmodels.errors import DrmodelsError, InvalidRequest, ProblemError
from drmodels.service.download import NothingToDownload

USAGE = 2
"""A request that cannot be carried out as given (the same code as a usage error)."""
NOT_DONE = 1
"""The command ran and its answer is no (not importable, nothing to download)."""


def message(exc: BaseException) -> str:
    if isinstance(exc, InvalidRequest):
        return f"{exc.field}: {exc.message}"
    if isinstance(exc, ProblemError):
        problem = exc.problem
        return f"{problem.code.value}: {problem.explanation} {problem.fix}"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename + ': ' if exc.filename else ''}{exc.strerror}"
    return str(exc)


@contextmanager
def answered() -> Iterator[None]:
    """Turn the service's errors (and the file system's) into `error: ...` and an exit code."""
    try:
        yield
    except (DrmodelsError, OSError) as exc:
        console(stderr=True).print(f"[red]error:[/] {escape(message(exc))}", highlight=False)
        raise typer.Exit(NOT_DONE if isinstance(exc, NothingToDownload) else USAGE) from None


class AnsweringGroup(TyperGroup):
    """The app's command group: every command it runs is answered by `answered()`."""

    def invoke(self, ctx: Any) -> Any:
        with answered():
            return super().invoke(ctx)
