"""A JSON control file read as the simulation app reads it (`json.load`), its failures as Problems."""

from __future__ import annotations

from typing import Any

from drmodels.formats.jsontext import BOM, JsonSyntaxError, JsonTooDeep, TextError, decode_text, parse_json
from drmodels.rules.problems import Code, Problem, Severity
from drmodels.rules.repairs import StripBom


def load_json(path: str, data: bytes, *, severity: Severity = Severity.ERROR) -> tuple[Any, Problem | None]:
    """Parse one JSON document; on failure a MODEL_VALIDATION_SERVICE_ERROR naming line and column."""

    def problem(explanation: str, fix: str) -> tuple[Any, Problem]:
        return None, Problem(Code.MODEL_VALIDATION_SERVICE_ERROR, path, explanation, fix, severity)

    if data.startswith(BOM):
        return None, bom_problem(path, severity)
    try:
        text = decode_text(data)
    except TextError as exc:
        return problem(f"{path} cannot be read: {exc}.", f"Save {path} as UTF-8 JSON text.")
    if not text.strip():
        return problem(f"{path} is empty.", f"Restore {path} from the training output.")
    try:
        return parse_json(text), None
    except JsonSyntaxError as exc:
        return problem(
            f"{path} is not valid JSON: {exc}.",
            f"Fix the JSON syntax at line {exc.line} of {path} (a JSON validator shows it too).",
        )
    except JsonTooDeep:
        return problem(f"{path} is nested too deeply to be a DeepRacer file.", f"Restore {path}.")


def bom_problem(path: str, severity: Severity = Severity.ERROR) -> Problem:
    """A control file that starts with a UTF-8 byte order mark, which the simulation app refuses."""
    return Problem(
        Code.MODEL_VALIDATION_SERVICE_ERROR,
        path,
        f"{path} starts with a UTF-8 byte order mark (BOM, bytes EF BB BF), which Windows editors add; the "
        "simulation app reads it with Python's json.load / open(), which refuse it.",
        f"Save {path} as UTF-8 without BOM.",
        severity,
        True,
        StripBom(path),
    )
