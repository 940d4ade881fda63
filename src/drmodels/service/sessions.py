"""The web console's sign-in sessions: server-side rows, so sign-out (or deleting them) revokes at once.

The browser holds a random token; the registry keeps only its SHA-256 (a copy of the database signs no
one in), the account, the session's CSRF token and when it expires. Sessions last SESSION_LIFETIME from
sign-in; expired rows are removed when the next session starts.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from drmodels.clock import utcnow
from drmodels.registry.db import Registry
from drmodels.registry.tables import Account, ConsoleSession

SESSION_LIFETIME = timedelta(hours=12)
_FIND = (
    sa.select(ConsoleSession.account_id, ConsoleSession.csrf, ConsoleSession.expires_at, Account.name)
    .join(Account, Account.id == ConsoleSession.account_id)
    .where(ConsoleSession.id == sa.bindparam("id"))
)


@dataclass(frozen=True)
class Session:
    """A signed-in browser: its account and the token its forms must carry."""

    account_id: str
    account_name: str | None
    csrf: str


@dataclass(frozen=True)
class Started:
    token: str
    """The cookie's value: seen only now."""
    session: Session


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionService:
    def __init__(self, registry: Registry, clock: Callable[[], datetime] = utcnow) -> None:
        self.registry = registry
        self.clock = clock

    def start(self, account_id: str, account_name: str | None) -> Started:
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self.clock()
        with self.registry.session() as s:
            s.execute(sa.delete(ConsoleSession).where(ConsoleSession.expires_at <= now))
            s.add(
                ConsoleSession(
                    id=_digest(token), account_id=account_id, csrf=csrf, created_at=now,
                    expires_at=now + SESSION_LIFETIME,
                )
            )  # fmt: skip
        return Started(token, Session(account_id, account_name, csrf))

    def find(self, token: str) -> Session | None:
        """The live session of this cookie value; None when unknown, signed out or expired."""
        if not token or len(token) > 100:
            return None
        rows = self.registry.rows(_FIND, {"id": _digest(token)})
        if not rows or rows[0].expires_at <= self.clock():
            return None
        return Session(rows[0].account_id, rows[0].name, rows[0].csrf)

    def end(self, token: str) -> None:
        with self.registry.session() as s:
            s.execute(sa.delete(ConsoleSession).where(ConsoleSession.id == _digest(token)))
