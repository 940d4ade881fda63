"""Which file names a model may carry into the store: the rule every source and store applies.

The store keeps each object under its original relative name (a local folder or an S3 bucket), so a
name must be one both can hold and a download can give back unchanged: UTF-8 text, '/'-separated,
no empty, '.' or '..' segment, no backslash or control character, each segment at most 255 bytes
(a file name on Linux and macOS), the whole at most MAX_KEY_BYTES (S3's 1,024-byte keys, less our
own prefix). Mandatory files have fixed names that always pass; an optional file (a log, a metric)
whose name does not is left out with a warning naming it.
"""

from __future__ import annotations

import re

MAX_SEGMENT_BYTES = 255
MAX_KEY_BYTES = 900
"""A source key's limit: S3 keys hold 1,024 bytes, of which the store's root and
`models/<id>/virtual/` (47 bytes) take up to 124."""
STORE_KEY_BYTES = 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def decoded(name: str) -> tuple[str, str | None]:
    """A name from the file system or an archive (undecodable bytes as surrogates) as a key.

    A name that is not UTF-8 is shown with its bytes escaped (`bad-\\xff.log`; the backslash makes
    the key one no store accepts, so it never collides with a real one) and comes with the reason
    it cannot be imported.
    """
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        shown = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        return shown, "has a name that is not UTF-8 text"
    return name, None


def unstorable(key: str, max_bytes: int = MAX_KEY_BYTES) -> str | None:
    """Why no store can keep `key` under its own name (words that follow the name), or None."""
    if not key or key.startswith("/") or any(part in ("", ".", "..") for part in key.split("/")):
        return "has an empty, '.' or '..' part in its path"
    if "\\" in key:
        return "has a backslash in its name"
    if _CONTROL.search(key):
        return "has a control character (tab, newline...) in its name"
    try:
        encoded = key.encode("utf-8")
    except UnicodeEncodeError:
        return "has a name that is not UTF-8 text"
    if any(len(part) > MAX_SEGMENT_BYTES for part in encoded.split(b"/")):
        return f"has a name longer than {MAX_SEGMENT_BYTES} bytes"
    if len(encoded) > max_bytes:
        return f"has a path of {len(encoded)} bytes, longer than the {max_bytes} the store holds"
    return None
