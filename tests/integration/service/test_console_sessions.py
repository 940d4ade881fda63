"""What the console stands on, on SQLite and PostgreSQL: revocable sign-in sessions, signing in by name or
id, and the models list's filters and pages."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from drmodels.config import load_settings
from drmodels.registry.db import Registry
from drmodels.registry.queries import ensure_account
from drmodels.registry.tables import Model
from drmodels.service.accounts import AccountService
from drmodels.service.models import ModelService
from drmodels.service.secrets import Keyring
from drmodels.service.sessions import SESSION_LIFETIME, SessionService
from support.deps import make_deps
from support.import_fixtures import registry, registry_url  # noqa: F401  (fixtures)

START = datetime(2026, 12, 1, 12, 0, 0)


class Clock:
    """A clock the test moves (the services take their clock as a parameter)."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def test_a_session_is_found_until_it_ends_or_expires(registry: Registry, tmp_path: Path) -> None:  # noqa: F811
    clock = Clock()
    accounts = AccountService(registry, Keyring(load_settings(data_dir=tmp_path / "data")), clock)
    info, _ = accounts.create("racer", "a long password")
    sessions = SessionService(registry, clock)
    first, second = sessions.start(info.account_id, "racer"), sessions.start(info.account_id, "racer")
    assert first.token != second.token and first.session.csrf != second.session.csrf
    assert sessions.find(first.token) == first.session
    assert sessions.find(first.token[:-1] + "x") is None
    assert sessions.find("") is None and sessions.find("x" * 500) is None
    sessions.end(first.token)
    assert sessions.find(first.token) is None  # signed out: revoked at once
    assert sessions.find(second.token) == second.session  # the other browser stays signed in
    clock.now = START + SESSION_LIFETIME
    assert sessions.find(second.token) is None  # expired


def test_passwords_sign_in_by_name_or_id(registry: Registry, tmp_path: Path) -> None:  # noqa: F811
    accounts = AccountService(registry, Keyring(load_settings(data_dir=tmp_path / "data")))
    info, _ = accounts.create("league-7", "a long password")
    assert accounts.check_password("league-7", "a long password") == info.account_id
    assert accounts.check_password(info.account_id, "a long password") == info.account_id
    assert accounts.check_password(info.account_id, "another password") is None
    assert accounts.check_password("000000000001", "a long password") is None


def _add(db: Registry, account: str, name: str, status: str, minute: int) -> None:
    with db.session() as s:
        s.add(
            Model(
                id=f"{account}{name}"[:32].ljust(32, "0"), account_id=account, name=name,
                arn=f"arn:aws:deepracer:us-east-1:{account}:model/reinforcement_learning/{name}",
                status=status, creation_time=START + timedelta(minutes=minute),
            )
        )  # fmt: skip


def test_the_models_list_filters_by_status_and_name_and_pages(tmp_path: Path, registry_url: str) -> None:  # noqa: F811
    deps = make_deps(tmp_path, registry_url=registry_url)
    mine, theirs = ModelService(deps, "111111111111"), ModelService(deps, "222222222222")
    for account in ("111111111111", "222222222222"):
        with deps.registry.session() as s:
            ensure_account(s, account, START)
    names = ["Fast-1", "fast-2", "slow-1", "slow_2", "slowx2", "Half-100"]
    for minute, name in enumerate(names):
        _add(deps.registry, "111111111111", name, "READY" if minute % 2 == 0 else "IMPORT_ERROR", minute)
    _add(deps.registry, "222222222222", "fast-9", "READY", 99)

    rows, total = mine.search(None, None, 0, 4)
    assert total == 6 and [r.name for r in rows] == ["Half-100", "slowx2", "slow_2", "slow-1"]  # newest first
    rows, total = mine.search(None, None, 4, 4)
    assert total == 6 and [r.name for r in rows] == ["fast-2", "Fast-1"]
    assert sorted(r.name for r in mine.search(None, "FAST", 0, 25)[0]) == ["Fast-1", "fast-2"]  # any case
    assert [r.name for r in mine.search(None, "_", 0, 25)[0]] == ["slow_2"]  # _ and % are plain characters
    assert mine.search(None, "%", 0, 25)[1] == 0
    assert sorted(r.name for r in mine.search("READY", "slow", 0, 25)[0]) == ["slow-1", "slowx2"]
    assert [r.name for r in theirs.search(None, "fast", 0, 25)[0]] == ["fast-9"]  # each account its own
    assert sorted(m.name for m in mine.named(["fast-2", "fast-9", "nope"])) == ["fast-2"]
    deps.registry.close()
