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
from urllib.parse import quote, quote_plus

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.pool import ConnectionPoolEntry

from newsletter.errors import ConfigError, StoreError
from newsletter.jsontext import dump_json

BUSY_TIMEOUT_MS = 10_000
# Page cache per SQLite connection (negative = KiB): big enough that a large import
# rarely spills pages to the WAL mid-transaction, small enough for the 150 MB budget.
SQLITE_CACHE_KIB = 8_192
# Temporary tables (an import's staging table) have their own cache. 8 MiB imports a
# million rows in the same CPU time as 16 MiB did, with 10 MB less memory (issue 16).
SQLITE_TEMP_CACHE_KIB = 8_192
# New SQLite stores use 16 KiB pages, not SQLite's 4 KiB: a million-subscriber import
# spends about 15% less time writing its rows and their indexes, and the dispatch and
# web benchmarks did not move (issue 16, docs/benchmarks.md). SQLite fixes the page size
# when the file is created: a store made before keeps its 4 KiB pages.
SQLITE_PAGE_BYTES = 16_384
WAL_CHECKPOINT_BYTES = 64 * 1024 * 1024  # of WAL between checkpoints, whatever the page size
WRITE = {"newsletter_write": True}  # execution option: this connection will write


URL_SHAPES = "sqlite:///FILE or postgresql://USER:PASSWORD@HOST[:PORT]/DATABASE"
# The drivers this package installs and runs synchronously; any other (asyncpg, psycopg2,
# aiosqlite, pysqlcipher…) is either missing or cannot serve a synchronous engine.
DRIVERS = {"sqlite": "pysqlite", "postgresql": "psycopg"}
# Query options whose value may be shown: everything else (password=, sslpassword=, an
# `options` string…) is masked, since libpq takes a password from the query too.
SHOWN_OPTIONS = frozenset(
    {"sslmode", "connect_timeout", "application_name", "target_session_attrs"}
)
_ENCODE_HINT = (
    f"expected {URL_SHAPES}; percent-encode '@', ':' and '/' in the user name or "
    "password ('@' is %40, ':' is %3A, '/' is %2F)"
)


def parse_url(raw: str, base_dir: Path, *, source: str = "the database URL") -> URL:
    """A SQLAlchemy URL: relative SQLite paths made absolute against `base_dir`.

    Raises ConfigError (exit 4) for anything that is not a usable URL. The message
    names `source` (where the URL came from) and what is wrong, never the URL or
    any part of it: a URL that does not parse cannot be trusted to show where its
    password ends (``postgresql://user:PASSWORD/db`` puts the password in the port;
    an unencoded ``@`` in a password puts its tail in the host name)."""
    try:
        url = make_url(raw)
    except Exception as err:  # SQLAlchemy raises ArgumentError, ValueError, TypeError…
        raise ConfigError(
            f"{source}: not a valid database URL ({_parse_problem(raw)})", hint=_ENCODE_HINT
        ) from err
    backend = url.get_backend_name()
    if backend in DRIVERS and url.get_driver_name() != DRIVERS[backend]:
        raise ConfigError(
            f"{source}: the database driver {url.get_driver_name()!r} is not supported",
            hint=f"use {backend}:// (this package connects through {DRIVERS[backend]})",
        )
    if backend == "sqlite":
        return _absolute_sqlite(url, base_dir)
    if backend == "postgresql":
        _check_server_url(url, source)
        return url.set(drivername="postgresql+psycopg") if url.drivername == "postgresql" else url
    raise ConfigError(f"{source}: unsupported database {backend!r}", hint=f"expected {URL_SHAPES}")


def _parse_problem(raw: str) -> str:
    # Says what is wrong in words; never quotes the text, which may be a password.
    if "://" not in raw:
        return "no scheme such as postgresql:// or sqlite:///"
    if ":" in raw.split("://", 1)[1].split("/", 1)[0] and "@" not in raw:
        return "the port is not a number: is the host missing before the database name?"
    return "it does not parse"


def _check_server_url(url: URL, source: str) -> None:
    """Refuse a server URL whose parts show that a password was split in the wrong place."""
    if url.host and "@" in url.host:
        raise ConfigError(
            f"{source}: not a valid database URL (an unencoded '@' in the user name or password)",
            hint=_ENCODE_HINT,
        )
    if url.database and ("@" in url.database or "/" in url.database):
        raise ConfigError(
            f"{source}: not a valid database URL (the database name holds '@' or '/': "
            "is there an unencoded '/' in the user name or password?)",
            hint=_ENCODE_HINT,
        )


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
    """The URL with any password masked: the only form that may be printed.

    Only URLs that passed `parse_url` come here, so the password is where the
    masking looks for it. Query options other than `SHOWN_OPTIONS` are masked
    too: ``?password=…`` is libpq's other place for a password."""
    shown = url.set(query={}).render_as_string(hide_password=True)
    options = [
        f"{key}={quote_plus(value) if key in SHOWN_OPTIONS else '***'}"
        for key, values in url.query.items()
        for value in ([values] if isinstance(values, str) else values)
    ]
    return f"{shown}?{'&'.join(options)}" if options else shown


def describe_store(url: URL) -> str:
    """The store named for an error message: the SQLite file, or the PostgreSQL
    database's name. Never a URL, a host, a port, a user name or a password."""
    if url.get_backend_name() == "sqlite":
        return f"the SQLite store {url.database}"
    return f"the PostgreSQL store (database {url.database or '(default)'})"


def make_engine(url: URL) -> Engine:
    """An engine for `url`, with the SQLite settings described above.

    ConfigError when SQLAlchemy refuses the URL's options (its message may quote them)."""
    try:
        engine = create_engine(
            url,
            json_serializer=dump_json,
            pool_pre_ping=True,
            # psycopg 3 forgets an INSERT's rowcount when the cursor closes; imports count with it.
            execution_options={"preserve_rowcount": True},
        )
    except (ArgumentError, TypeError, ValueError) as err:
        raise ConfigError(
            f"{describe_store(url)}: the database URL's options are not valid",
            hint=f"expected {URL_SHAPES}",
        ) from err
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        dbapi.isolation_level = None  # the engine, not the driver, begins transactions
        for pragma in (
            f"busy_timeout = {BUSY_TIMEOUT_MS}",
            # Only takes effect on a file with nothing in it yet, so it comes before WAL
            # mode, which writes the file's first page.
            f"page_size = {SQLITE_PAGE_BYTES}",
            "journal_mode = WAL",
            "synchronous = NORMAL",  # safe in WAL mode: a crash loses no committed data
            # The WAL file is cut back to 64 MiB after each checkpoint (see below).
            f"journal_size_limit = {WAL_CHECKPOINT_BYTES}",
            "foreign_keys = ON",
            # Deleted and overwritten content is zeroed, not left in free space: an
            # erased address (`subscribers forget`) leaves no byte in the file.
            "secure_delete = ON",
            f"cache_size = -{SQLITE_CACHE_KIB}",
            f"temp.cache_size = -{SQLITE_TEMP_CACHE_KIB}",
        ):
            dbapi.execute(f"PRAGMA {pragma}")
        # Checkpoint the WAL every 64 MiB, not every 1,000 pages (SQLite's default): each
        # checkpoint syncs the file to disk, and with the default a large send spent as
        # long in those syncs as in all its CPU work on a virtual disk (docs/benchmarks.md,
        # issue 16). Counted in pages: the store's own, 16 KiB or (made before) 4 KiB.
        page_bytes = dbapi.execute("PRAGMA page_size").fetchone()[0]
        dbapi.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_BYTES // page_bytes}")

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        writes = connection.get_execution_options().get("newsletter_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


@contextmanager
def translated_errors(url: URL) -> Iterator[None]:
    """Turn the database's own errors into StoreError (exit 7).

    The message names the store by `describe_store` and carries the first line of
    the driver's own words with the URL's password blanked out;
    SQLAlchemy's wrapper text (which can quote the statement and its parameters)
    is dropped."""
    try:
        yield
    except DBAPIError as err:
        detail = _scrub(_first_line(err.orig), url)
        raise StoreError(f"{describe_store(url)}: {detail}", hint=_hint(err)) from err
    except SQLAlchemyError as err:
        raise StoreError(f"{describe_store(url)}: {_scrub(_first_line(err), url)}") from err


def _first_line(err: BaseException | None) -> str:
    text = str(err).strip() if err is not None else ""
    return text.splitlines()[0] if text else type(err).__name__


def _scrub(text: str, url: URL) -> str:
    """`text` with every form of the URL's password (and of any masked query option,
    see `display_url`) replaced by ***."""
    secrets = [str(url.password)] if url.password else []
    for key, values in url.query.items():
        if key not in SHOWN_OPTIONS:
            secrets += [values] if isinstance(values, str) else list(values)
    for secret in secrets:
        for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
            if form:
                text = text.replace(form, "***")
    return text


def _hint(err: DBAPIError) -> str | None:
    text = str(err.orig).lower()
    if "locked" in text or "busy" in text:
        return "another newsletter command is writing to the store; try again when it finishes"
    if "unable to open" in text:
        return "check that the folder of the SQLite file exists and is writable"
    if "connection" in text or "connect" in text:
        return "check that the PostgreSQL server is running and the URL is right"
    return None
