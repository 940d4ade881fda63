"""The configured secret key and what is made with it: sealed API secrets and expiring asset links.

The key is DRMODELS_SECRET_KEY, or else DATA_DIR/secret.key, generated on first use with mode 0600
(refused when others can read it). Two keys are derived from it (HKDF-SHA256), one per purpose, each
used as a Fernet key (AES-128-CBC + HMAC-SHA256): a leaked asset link says nothing about the secrets.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import time
from functools import cached_property
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from drmodels.config import Settings
from drmodels.errors import ConfigError, Unauthorized

KEY_FILE = "secret.key"
UNSEALED_KEPT = 1024


class ExpiredLink(Unauthorized):
    """An asset link that is not ours, was altered, or has expired."""


def _derive(master: bytes, purpose: bytes) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)
    return Fernet(base64.urlsafe_b64encode(key))


def key_file_bytes(path: Path) -> bytes:
    """The key in `path`, created (atomically, mode 0600) when absent."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(base64.urlsafe_b64encode(os.urandom(32)) + b"\n")
        try:
            os.link(part, path)  # fails when another process made it first: theirs is kept
        except FileExistsError:
            pass
        finally:
            part.unlink()
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{path} (the secret key) can be read by other users (mode {stat.S_IMODE(mode):o}); "
            f"run: chmod 600 {path}"
        )
    data = path.read_bytes().strip()
    try:
        raw = base64.urlsafe_b64decode(data)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise ConfigError(f"{path} does not hold a secret key (32 url-safe base64 bytes)")
    return raw


class Keyring:
    """Seals secrets and signs links with keys derived from the configured one, loaded on first use."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._unsealed: dict[str, str] = {}

    @cached_property
    def _master(self) -> bytes:
        given = self._settings.secret_key
        if given is not None:
            return base64.urlsafe_b64decode(given.get_secret_value().encode())
        return key_file_bytes(self._settings.data_dir / KEY_FILE)

    @cached_property
    def _secrets(self) -> Fernet:
        return _derive(self._master, b"drmodels access-key secrets")

    @cached_property
    def _links(self) -> Fernet:
        return _derive(self._master, b"drmodels asset links")

    def seal(self, secret: str) -> str:
        return self._secrets.encrypt(secret.encode()).decode()

    def unseal(self, sealed: str) -> str:
        """The secret; the last UNSEALED_KEPT are remembered by their sealed form (a deleted key's
        sealed form is no longer read, so remembering it grants nothing)."""
        known = self._unsealed.get(sealed)
        if known is not None:
            return known
        try:
            secret = self._secrets.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise ConfigError(
                "an access key's secret cannot be decrypted with the configured secret key: "
                "DRMODELS_SECRET_KEY (or DATA_DIR/secret.key) is not the key the secret was made with"
            ) from None
        if len(self._unsealed) >= UNSEALED_KEPT:
            self._unsealed.clear()
        self._unsealed[sealed] = secret
        return secret

    def link(self, payload: dict[str, Any], ttl_seconds: int) -> str:
        """An opaque, encrypted token for `payload`, valid for `ttl_seconds`."""
        body = json.dumps({**payload, "exp": int(time.time()) + ttl_seconds}, separators=(",", ":"))
        return self._links.encrypt(body.encode()).decode()

    def read_link(self, token: str) -> dict[str, Any]:
        try:
            payload: dict[str, Any] = json.loads(self._links.decrypt(token.encode()))
        except (InvalidToken, ValueError):
            raise ExpiredLink("this download link is not one this server made, or it was altered") from None
        if payload.get("exp", 0) < time.time():
            raise ExpiredLink("this download link has expired; ask for a new one (GetAssetUrl)")
        return payload
