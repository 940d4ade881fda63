"""Open the registry: an engine on SQLite (default) or PostgreSQL, migrated to head on open.

Many processes may open one registry at once (parallel imports, workers, the server), so:
- on SQLite every transaction starts with BEGIN IMMEDIATE: writers queue on the database lock
  (busy timeout) instead of failing when two read-then-write transactions meet;
- opening runs under a lock (a lock file beside a SQLite database, a PostgreSQL advisory lock), so
  the first process creates the database, switches it to WAL and migrates it, and the others then
  find it ready (SQLite answers "database is locked" at once, without waiting, to a second process
  switching a new file to WAL).
A registry that cannot be used (a bad URL, a server that does not answer, a file that is not a
database, one written by a newer drmodels) is a ConfigError of one line.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.orm import Session, sessionmaker

from drmodels.errors import ConfigError

MIGRATIONS = Path(__file__).with_name("migrations")
BUSY_TIMEOUT_S = 30
MIGRATION_LOCK = 0x64726D6F
"""The PostgreSQL advisory lock id the migrations run under ('drmo')."""


def default_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / 'registry.sqlite3').resolve()}"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["url"] = url
    return cfg


def shown(url: str) -> str:
    """The URL as messages may show it: without its password."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url


def _sqlite_pragmas(dbapi_conn: Any, _record: object) -> None:
    dbapi_conn.isolation_level = None  # the driver begins nothing itself: _begin_immediate does
    cursor = dbapi_conn.cursor()
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable at each checkpoint; safe with WAL
    cursor.close()


def _begin_immediate(conn: sa.Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_file(url: str) -> Path | None:
    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else ""
    return Path(path) if path and path != ":memory:" else None


@contextmanager
def _opening(url: str) -> Iterator[None]:
    """Hold the lock file of a SQLite database while it is opened (created, migrated)."""
    path = _sqlite_file(url)
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{path}.lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _reader(url: str, pool_size: int) -> sa.Engine:
    """The engine of the API's hot-path reads (`Registry.rows`): single statements, no transaction of
    their own. SQLite: no BEGIN IMMEDIATE (WAL readers never wait on writers). PostgreSQL: no pre-ping
    (a round trip per checkout: measured 1 ms of wall time and 0.2 ms of CPU per read); a dead
    connection is retried once instead."""
    if not url.startswith("sqlite"):
        return sa.create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_recycle=300)
    engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_S})
    sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _engine(url: str, pool_size: int) -> sa.Engine:
    if not url.startswith("sqlite"):
        return sa.create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size)
    engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_S})
    sa.event.listen(engine, "connect", _sqlite_pragmas)
    sa.event.listen(engine, "begin", _begin_immediate)
    return engine


class Registry:
    """The database behind the service: one engine, short sessions, migrated when opened."""

    def __init__(self, url: str, *, migrate: bool = True, pool_size: int = 10) -> None:
        self.url = url
        try:
            with _opening(url):
                self.engine = _engine(url, pool_size)
                if migrate:
                    self._migrate()
            self._reader = _reader(url, pool_size)
        except ConfigError:
            raise
        except (sa.exc.SQLAlchemyError, CommandError, OSError, ImportError, ValueError) as exc:
            raise ConfigError(f"registry {shown(url)}: {_why(exc)}") from None
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def _migrate(self) -> None:
        cfg = alembic_config(self.url)
        known = {s.revision for s in ScriptDirectory.from_config(cfg).walk_revisions()}
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            current = set(MigrationContext.configure(conn).get_current_heads())
            if current - known:
                raise ConfigError(
                    f"registry {shown(self.url)} was written by a newer drmodels (revision "
                    f"{', '.join(sorted(current - known))}); upgrade drmodels to use it"
                )
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed on success, rolled back on error."""
        with self._sessions() as s, s.begin():
            yield s

    @property
    def in_process(self) -> bool:
        """SQLite: a read is CPU work in this process, never a wait on a server."""
        return self.engine.dialect.name == "sqlite"

    def rows(self, statement: sa.Executable, params: dict[str, Any]) -> Sequence[sa.Row[Any]]:
        """A read outside the ORM (a pooled connection, no session): the API's hot path."""
        try:
            with self._reader.connect() as conn:
                return conn.execute(statement, params).all()
        except sa.exc.DBAPIError as exc:
            if not exc.connection_invalidated:  # the server went away: the pool is renewed, read again
                raise
        with self._reader.connect() as conn:
            return conn.execute(statement, params).all()

    def close(self) -> None:
        self.engine.dispose()
        self._reader.dispose()


def _why(exc: BaseException) -> str:
    """One line on why the registry cannot be opened."""
    if isinstance(exc, sa.exc.ArgumentError | sa.exc.NoSuchModuleError):
        return (
            f"not a database URL ({exc}); use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB "
            "(DRMODELS_REGISTRY_URL)"
        )
    if isinstance(exc, ImportError):
        return (
            f"its database driver is not installed ({exc}); for PostgreSQL: pip install 'drmodels[postgres]'"
        )
    if isinstance(exc, sa.exc.DatabaseError):
        inner = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        if "file is not a database" in inner:
            return "the file is not a SQLite database; point DRMODELS_REGISTRY_URL or --data-dir elsewhere"
        return f"cannot be opened ({inner})"
    if isinstance(exc, OSError):
        return f"its folder cannot be created ({exc.strerror or exc})"
    return str(exc).splitlines()[0]
