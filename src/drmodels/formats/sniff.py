"""What a file is, from its first bytes: the archive formats a model may come packed in."""

from __future__ import annotations

GZIP, BZIP2, XZ, ZIP, TAR = "gzip", "bzip2", "xz", "zip", "tar"
HEAD_BYTES = 512
"""Bytes to read to tell the formats apart (a tar header's `ustar` magic sits at offset 257)."""

_MAGIC = (
    (b"\x1f\x8b", GZIP),
    (b"BZh", BZIP2),
    (b"\xfd7zXZ\x00", XZ),
    (b"PK\x03\x04", ZIP),
    (b"PK\x05\x06", ZIP),  # an empty zip: only its end record
)


def archive_kind(head: bytes) -> str | None:
    """gzip, bzip2, xz, zip or tar; None when the bytes start none of them."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head[257:262] == b"ustar":
        return TAR
    return None


def describe(head: bytes) -> str:
    """What the first bytes look like, for a message: empty, text (quoted), or binary."""
    if not head:
        return "it is empty"
    sample = head[:40]
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError:
        return "it starts with binary bytes " + sample[:8].hex(" ")
    if "\x00" in text or not text.strip():
        return "it starts with binary bytes " + sample[:8].hex(" ")
    shown = " ".join(text.split())[:30]
    return f"it starts with the text {shown!r}"
