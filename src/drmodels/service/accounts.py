"""Accounts and their API keys: create, list, keys create/delete, the secret a signature is checked with,
and the password the console signs in with (Argon2id).

A secret access key is shown once, when it is made, and kept sealed (service/secrets.py): the server
needs it back to verify signatures, so it cannot be hashed. Every model belongs to one account; the
embedded default account 000000000000 (the CLI's) exists without being created and can have keys too.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from drmodels.clock import utcnow
from drmodels.errors import AlreadyExists, Conflict, NotFound
from drmodels.registry.db import Registry
from drmodels.registry.tables import AccessKey, Account, Model
from drmodels.rules import requests
from drmodels.rules.requests import DEFAULT_ACCOUNT
from drmodels.service.secrets import Keyring

MAX_KEYS = 10
"""Access keys an account may hold at once."""
KEY_PREFIX = "AKDR"
_HASHER = PasswordHasher()
_SIGNING_KEY = sa.select(AccessKey.account_id, AccessKey.secret).where(AccessKey.id == sa.bindparam("key"))


@dataclass(frozen=True)
class NewKey:
    """A key pair just made: the only time its secret is seen."""

    account_id: str
    access_key_id: str
    secret_access_key: str


@dataclass(frozen=True)
class AccountInfo:
    account_id: str
    name: str | None
    created_at: datetime
    access_key_ids: tuple[str, ...]
    models: int
    has_password: bool


@dataclass(frozen=True)
class SigningKey:
    """What a request signed with an access key is verified against."""

    account_id: str
    secret: str


def _access_key_id() -> str:
    return KEY_PREFIX + base64.b32encode(secrets.token_bytes(10)).decode()  # 20 characters, as AWS's


class AccountService:
    def __init__(self, registry: Registry, keyring: Keyring, clock: Callable[[], datetime] = utcnow) -> None:
        self.registry = registry
        self.keyring = keyring
        self.clock = clock

    def create(self, name: str, password: str | None = None) -> tuple[AccountInfo, NewKey]:
        """A new account with a random 12-digit id and its first access key."""
        requests.check_account_name(name)
        hashed = _HASHER.hash(requests.check_password(password)) if password is not None else None
        for _ in range(5):  # a random id that is taken: draw again
            account_id = f"{secrets.randbelow(10**12):012d}"
            if account_id == DEFAULT_ACCOUNT:
                continue
            try:
                with self.registry.session() as s:
                    if s.scalar(sa.select(Account.id).where(Account.name == name)) is not None:
                        raise AlreadyExists("name", f"an account named {name!r} already exists")
                    s.add(Account(id=account_id, name=name, password_hash=hashed, created_at=self.clock()))
                    s.flush()
                    key = self._add_key(s, account_id)
            except IntegrityError as exc:
                with self.registry.session() as s:
                    if s.scalar(sa.select(Account.id).where(Account.name == name)) is not None:
                        raise AlreadyExists("name", f"an account named {name!r} already exists") from exc
                continue
            return self.get(account_id), key
        raise Conflict("could not draw a free account id; try again")

    def _add_key(self, s: Session, account_id: str) -> NewKey:
        count = s.scalar(sa.select(sa.func.count()).where(AccessKey.account_id == account_id)) or 0
        if count >= MAX_KEYS:
            raise Conflict(
                f"account {account_id} already has {count} access keys (at most {MAX_KEYS}); "
                "delete one with `drmodels account keys delete ACCESS_KEY_ID`"
            )
        key = NewKey(account_id, _access_key_id(), secrets.token_urlsafe(30))
        s.add(
            AccessKey(
                id=key.access_key_id,
                account_id=account_id,
                secret=self.keyring.seal(key.secret_access_key),
                created_at=self.clock(),
            )
        )
        return key

    def _ensure(self, s: Session, account_id: str) -> Account:
        account = s.get(Account, requests.check_account(account_id))
        if account is None and account_id == DEFAULT_ACCOUNT:
            account = Account(id=DEFAULT_ACCOUNT, name=None, created_at=self.clock())
            s.add(account)
            s.flush()
        if account is None:
            raise NotFound(f"no account {account_id}; `drmodels account list` shows the accounts there are")
        return account

    def require(self, account_id: str) -> str:
        """The account id, when the account exists (the default account always does)."""
        with self.registry.session() as s:
            return self._ensure(s, account_id).id

    def create_key(self, account_id: str = DEFAULT_ACCOUNT) -> NewKey:
        with self.registry.session() as s:
            self._ensure(s, account_id)
            return self._add_key(s, account_id)

    def delete_key(self, access_key_id: str) -> str:
        """Remove the key at once (requests signed with it are refused from now on); its account id."""
        with self.registry.session() as s:
            key = s.get(AccessKey, access_key_id)
            if key is None:
                raise NotFound(f"no access key {access_key_id}")
            s.delete(key)
            return key.account_id

    def signing_key(self, access_key_id: str) -> SigningKey | None:
        """The account and secret of an access key; None when there is no such key (or it was deleted).

        Read on every signed request, outside the ORM; never cached, so a deleted key stops at once.
        """
        rows = self.registry.rows(_SIGNING_KEY, {"key": access_key_id})
        return SigningKey(rows[0].account_id, self.keyring.unseal(rows[0].secret)) if rows else None

    def get(self, account_id: str) -> AccountInfo:
        infos = self._infos(Account.id == requests.check_account(account_id))
        if not infos:
            raise NotFound(f"no account {account_id}; `drmodels account list` shows the accounts there are")
        return infos[0]

    def list(self) -> Sequence[AccountInfo]:
        return self._infos(sa.true())

    def _infos(self, where: sa.ColumnElement[bool]) -> Sequence[AccountInfo]:
        with self.registry.session() as s:
            accounts = s.scalars(
                sa.select(Account).where(where).order_by(Account.created_at, Account.id)
            ).all()
            ids = [a.id for a in accounts]
            keys: dict[str, list[str]] = {i: [] for i in ids}
            for key_id, owner in s.execute(
                sa.select(AccessKey.id, AccessKey.account_id)
                .where(AccessKey.account_id.in_(ids))
                .order_by(AccessKey.created_at, AccessKey.id)
            ):
                keys[owner].append(key_id)
            counts = dict(
                s.execute(
                    sa.select(Model.account_id, sa.func.count())
                    .where(Model.account_id.in_(ids))
                    .group_by(Model.account_id)
                ).all()
            )
            return [
                AccountInfo(
                    a.id, a.name, a.created_at, tuple(keys[a.id]), counts.get(a.id, 0), bool(a.password_hash)
                )
                for a in accounts
            ]

    def set_password(self, account_id: str, password: str) -> None:
        hashed = _HASHER.hash(requests.check_password(password))
        with self.registry.session() as s:
            self._ensure(s, account_id).password_hash = hashed

    def check_password(self, name: str, password: str) -> str | None:
        """The id of the account named `name` (or with that 12-digit id) when `password` is its password,
        else None."""
        with self.registry.session() as s:
            account = s.scalars(sa.select(Account).where(Account.name == name)).one_or_none()
            if account is None and len(name) == 12 and name.isdigit():
                account = s.get(Account, name)
            stored = account.password_hash if account is not None else None
            if account is None or stored is None:
                _HASHER.hash(password)  # as long as a real check: no timing tells which names exist
                return None
            try:
                _HASHER.verify(stored, password)
            except (VerificationError, InvalidHashError):
                return None
            if _HASHER.check_needs_rehash(stored):
                account.password_hash = _HASHER.hash(password)
            return account.id
