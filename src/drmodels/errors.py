"""The one exception tree of drmodels; each entrypoint maps it to its own answers in one place.

    DrmodelsError
    ├── ConfigError          a DRMODELS_* setting (or store / registry URL) that cannot be used
    ├── FormatError          bytes that are not the format they claim to be (formats/); the rules
    │                        turn these into Problems, so they never reach an entrypoint
    ├── ProblemError         carries the Problems (spec code + our explanation and fix) that end it
    │   ├── SourceError      a model source that cannot be reached or read (adapters/sources/base.py)
    │   ├── CopyFailed       one planned object could not be copied into the store
    │   └── ImportFailed     an import job refused the model or failed
    ├── StoreError           our own model store failed (SERVICE_ERROR when it ends an import)
    │   └── SizeMismatch     a stream gave another size than announced (adapters/store/base.py)
    ├── InvalidRequest       a request refused before anything starts; `field` names the input
    ├── NotFound             no such model in this account (another account's model included)
    ├── Conflict             the action does not fit the model's status
    ├── Unauthorized         missing or wrong credentials (the API)
    ├── LeaseLost            a worker's job was taken over by another worker: it stops, writing nothing
    └── BrokerUnavailable    the job broker could not be reached (the job stays QUEUED in the registry)

This module sits below every layer: Problem is only named for type checking, so formats/ and
rules/ can raise from this tree without importing anything above them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from drmodels.rules.problems import Code, Problem


class DrmodelsError(Exception):
    """Root of every error drmodels raises on purpose."""


class ConfigError(DrmodelsError):
    """A setting that cannot be used; the message is one line naming the variable and the fix."""


class FormatError(DrmodelsError, ValueError):
    """Bytes that are not a valid instance of the format being read; the message says where."""


class ProblemError(DrmodelsError):
    """An operation ended by Problems: the first is the cause, the others are reported with it."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        if not problems:
            raise ValueError("ProblemError needs at least one Problem")
        super().__init__(problems[0].explanation)
        self.problems: tuple[Problem, ...] = tuple(problems)

    @property
    def problem(self) -> Problem:
        return self.problems[0]

    @property
    def code(self) -> Code:
        return self.problems[0].code


class CopyFailed(ProblemError):
    """One planned object could not be copied into the store."""


class ImportFailed(ProblemError):
    """An import job refused the model or failed; every problem found is in `problems`."""


class StoreError(DrmodelsError):
    """Our own side failed (disk, store bucket)."""


class InvalidRequest(DrmodelsError, ValueError):
    """A request refused before anything starts: which field, and why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class NotFound(DrmodelsError, LookupError):
    """Nothing by that name here; another account's model is answered the same way."""


class Conflict(DrmodelsError):
    """The action does not fit the model's status."""


class Unauthorized(DrmodelsError):
    """Missing, unknown or wrong credentials."""


class LeaseLost(DrmodelsError):
    """This worker no longer holds the job it runs (it was taken as lost and another took it over)."""


class BrokerUnavailable(DrmodelsError):
    """The broker (DRMODELS_BROKER_URL) could not be reached; registered jobs stay QUEUED for the sweep."""
