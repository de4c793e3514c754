"""Connecting to the store: URL handling, SQLite settings, error translation.

SQLite runs in WAL mode so the cron job can read and write while the web
endpoint does too; foreign keys are enforced; a writer waits up to
``BUSY_TIMEOUT_MS`` for another instead of failing at once. Python's sqlite3
module would otherwise open transactions on its own schedule, so the driver's
transaction handling is turned off and the engine issues BEGIN itself: plain
(deferred) for reads, BEGIN IMMEDIATE for writes, which takes the write lock up
front and so cannot fail halfway with "database is locked".

PostgreSQL goes through psycopg 3; a bare ``postgresql://`` URL is given that
driver, since SQLAlchemy's default one is not installed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.pool import ConnectionPoolEntry

from newsletter.errors import ConfigError, StoreError
from newsletter.store.jsontext import dump_json

BUSY_TIMEOUT_MS = 10_000
# Page cache per SQLite connection (negative = KiB): big enough that a large import
# rarely spills pages to the WAL mid-transaction, small enough for the 200 MB budget.
SQLITE_CACHE_KIB = 8_192
# Temporary tables (an import's staging table) have their own cache.
SQLITE_TEMP_CACHE_KIB = 16_384
WRITE = {"newsletter_write": True}  # execution option: this connection will write


def parse_url(raw: str, base_dir: Path, *, source: str = "the database URL") -> URL:
    """A SQLAlchemy URL: relative SQLite paths made absolute against `base_dir`."""
    try:
        url = make_url(raw)
    except ArgumentError as err:
        # The message never repeats the URL: it may carry a password.
        raise ConfigError(f"{source}: not a valid database URL") from err
    if url.get_backend_name() == "sqlite":
        return _absolute_sqlite(url, base_dir)
    if url.get_backend_name() == "postgresql":
        return url.set(drivername="postgresql+psycopg") if url.drivername == "postgresql" else url
    raise ConfigError(f"{source}: unsupported database {url.get_backend_name()!r}")


def _absolute_sqlite(url: URL, base_dir: Path) -> URL:
    database = url.database or ""
    if database in {"", ":memory:"} or database.startswith("file:"):
        raise ConfigError(
            "an in-memory SQLite store would forget everything when the command ends",
            hint="use sqlite:///FILE, for example sqlite:///newsletter.sqlite3",
        )
    path = Path(database)
    return url.set(database=str(path if path.is_absolute() else base_dir / path))


def display_url(url: URL) -> str:
    """The URL with any password masked: the only form that may be printed."""
    return url.render_as_string(hide_password=True)


def make_engine(url: URL) -> Engine:
    """An engine for `url`, with the SQLite settings described above."""
    engine = create_engine(
        url,
        json_serializer=dump_json,
        pool_pre_ping=True,
        # psycopg 3 forgets an INSERT's rowcount when the cursor closes; imports count with it.
        execution_options={"preserve_rowcount": True},
    )
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        dbapi.isolation_level = None  # the engine, not the driver, begins transactions
        for pragma in (
            f"busy_timeout = {BUSY_TIMEOUT_MS}",
            "journal_mode = WAL",
            "synchronous = NORMAL",  # safe in WAL mode: a crash loses no committed data
            "foreign_keys = ON",
            f"cache_size = -{SQLITE_CACHE_KIB}",
            f"temp.cache_size = -{SQLITE_TEMP_CACHE_KIB}",
        ):
            dbapi.execute(f"PRAGMA {pragma}")

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        writes = connection.get_execution_options().get("newsletter_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


@contextmanager
def translated_errors(url: URL) -> Iterator[None]:
    """Turn the database's own errors into StoreError, naming the store without its password."""
    try:
        yield
    except DBAPIError as err:
        raise StoreError(
            f"{display_url(url)}: {_first_line(err.orig)}",
            hint=_hint(err),
        ) from err
    except SQLAlchemyError as err:
        raise StoreError(f"{display_url(url)}: {_first_line(err)}") from err


def _first_line(err: BaseException | None) -> str:
    text = str(err).strip() if err is not None else ""
    return text.splitlines()[0] if text else type(err).__name__


def _hint(err: DBAPIError) -> str | None:
    text = str(err.orig).lower()
    if "locked" in text or "busy" in text:
        return "another newsletter command is writing to the store; try again when it finishes"
    if "unable to open" in text:
        return "check that the folder of the SQLite file exists and is writable"
    if "connection" in text or "connect" in text:
        return "check that the PostgreSQL server is running and the URL is right"
    return None
