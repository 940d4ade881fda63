"""Control-file text: UTF-8 decoding and JSON parsing whose every error names a line and a column."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from drmodels.errors import FormatError

PathPart = str | int
JsonPath = tuple[PathPart, ...]
Position = tuple[int, int]

_WS = re.compile(r"[ \t\n\r]*")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_SCALAR = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null")
_LINE_COMMENT = re.compile(r"^\s*//|[,{\[]\s*//", re.MULTILINE)
_TRAILING_COMMA = re.compile(r",\s*[}\]]")


BOM = b"\xef\xbb\xbf"
"""The UTF-8 byte order mark: Python's `json.load(open(path))` refuses a file that starts with it."""
MAX_INT_DIGITS = 4300
"""Python's limit on the digits of an integer parsed from text (sys.get_int_max_str_digits)."""
_LONG_NUMBER = re.compile(rf"\d{{{MAX_INT_DIGITS + 1},}}")


class TextError(FormatError):
    """A control file that is not text we can read; the message says why and where."""


def decode_text(data: bytes) -> str:
    """UTF-8 text (a BOM is tolerated); binary or other encodings are refused with the offset."""
    nul = data.find(b"\x00", 0, 8192)
    if nul >= 0:
        raise TextError(f"it is binary, not text (a NUL byte at offset {nul})")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise TextError(
            f"it is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}, line {line})"
        ) from None


def line_col(text: str, pos: int) -> Position:
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1


def _syntax_hint(text: str) -> str:
    hints = []
    if _LINE_COMMENT.search(text):
        hints.append("JSON has no comments: remove the `//` lines")
    if _TRAILING_COMMA.search(text):
        hints.append("JSON allows no comma before `}` or `]`: remove the trailing comma")
    return ("; " + "; ".join(hints)) if hints else ""


class JsonSyntaxError(FormatError):
    """Text that is not one JSON document; `hint` names the usual hand-edit mistakes it shows."""

    def __init__(self, message: str, line: int, column: int, hint: str) -> None:
        super().__init__(f"{message} at line {line}, column {column}{hint}")
        self.message, self.line, self.column, self.hint = message, line, column, hint


class JsonTooDeep(FormatError):
    """Nesting deeper than the parser allows."""


def parse_json(text: str) -> Any:
    """One JSON document, as `json.loads` (the simulation app's parser) reads it."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise JsonSyntaxError(exc.msg, exc.lineno, exc.colno, _syntax_hint(text)) from None
    except RecursionError:
        raise JsonTooDeep("nested too deeply") from None
    except ValueError:  # an integer past Python's digit limit: json.loads raises it without a position
        found = _LONG_NUMBER.search(text)
        line, column = line_col(text, found.start()) if found else (1, 1)
        digits = len(found.group()) if found else MAX_INT_DIGITS + 1
        raise JsonSyntaxError(
            f"a number of {digits} digits, more than Python's {MAX_INT_DIGITS}-digit limit", line, column, ""
        ) from None


def locate(text: str, target: JsonPath) -> Position | None:
    """Line and column where the value at `target` starts in a valid JSON text, if found."""
    found: list[int] = []

    def value(i: int, path: JsonPath) -> int:
        i = _WS.match(text, i).end()  # type: ignore[union-attr]
        if path == target:
            found.append(i)
            raise StopIteration
        if text.startswith("{", i):
            return members(i + 1, path, "}", lambda j, n: _key(text, j))
        if text.startswith("[", i):
            return members(i + 1, path, "]", lambda j, n: (n, j))
        if text.startswith('"', i):
            return _string_end(text, i)
        match = _SCALAR.match(text, i)
        if match is None:
            raise ValueError(i)
        return match.end()

    def members(i: int, path: JsonPath, close: str, head: Callable[[int, int], tuple[PathPart, int]]) -> int:
        n = 0
        while True:
            i = _WS.match(text, i).end()  # type: ignore[union-attr]
            if text.startswith(close, i):
                return i + 1
            if text.startswith(",", i):
                i += 1
                continue
            part, i = head(i, n)
            i = value(i, (*path, part))
            n += 1

    try:
        value(0, ())
    except StopIteration:
        return line_col(text, found[0])
    except (ValueError, IndexError, RecursionError):
        return None
    return None


def _string_end(text: str, i: int) -> int:
    match = _STRING.match(text, i)
    if match is None:
        raise ValueError(i)
    return match.end()


def _key(text: str, i: int) -> tuple[str, int]:
    end = _string_end(text, i)
    key: str = json.loads(text[i:end])
    return key, text.index(":", end) + 1


def describe_path(path: JsonPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "(document)"


def where(text: str | None, path: JsonPath) -> str:
    """' (line L, column C)' for a field of a JSON text (or of its parent when the field is missing)."""
    if text is None:
        return ""
    for depth in range(len(path), -1, -1):  # a missing field is placed at its parent
        pos = locate(text, path[:depth])
        if pos is not None:
            return f" (line {pos[0]}, column {pos[1]})"
    return ""
