"""One store's engine, transactions and clock, shared by its repositories.

Every repository method is one transaction opened here: `read()` or
`write()`. Before each, a SQLite store checks that its file is still the one
opened; every database error leaves as StoreError (see `engine.translated_errors`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import URL

from newsletter.clock import Clock
from newsletter.errors import StoreError
from newsletter.store.engine import WRITE, describe_store, display_url, translated_errors


class Database:
    """The engine of one store, its URL, its clock and its two kinds of transaction."""

    def __init__(self, engine: Engine, url: URL, clock: Clock) -> None:
        self.engine = engine
        self.url = url
        self.clock = clock
        self._writer = engine.execution_options(**WRITE)
        # (device, inode) of the SQLite file as opened: checked before every transaction.
        self._identity: tuple[int, int] | None = None

    @property
    def display_url(self) -> str:
        """The store's URL with any password masked."""
        return display_url(self.url)

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self.engine.dialect.name

    def watch_file(self, path: Path) -> None:
        """From now on, refuse every transaction if the SQLite file at `path` is deleted
        or replaced (see `check_same_file`)."""
        self._identity = file_identity(path)

    def dispose(self) -> None:
        self.engine.dispose()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """One read transaction (a plain BEGIN)."""
        self.check_same_file()
        with translated_errors(self.url), self.engine.begin() as conn:
            yield conn

    @contextmanager
    def write(self, *, dry_run: bool = False) -> Iterator[Connection]:
        """One write transaction: committed at the end (rolled back for a dry run),
        rolled back on any exception, KeyboardInterrupt included."""
        self.check_same_file()
        with (
            translated_errors(self.url),
            self._writer.connect() as conn,
            conn.begin() as transaction,
        ):
            yield conn
            if dry_run:
                transaction.rollback()

    def checkpoint(self) -> None:
        """On SQLite, copy the write-ahead log into the database file and empty it, so
        the old versions of changed pages (an erased address) are gone from the disk.
        Waits for readers as a writer does; nothing on PostgreSQL, whose dumps hold
        only live rows and whose dead ones vacuum reclaims."""
        if self.dialect != "sqlite":
            return
        self.check_same_file()
        with translated_errors(self.url):
            raw = self.engine.raw_connection()
            try:
                raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
            finally:
                raw.close()

    def check_same_file(self) -> None:
        """StoreError if the SQLite file opened was deleted or replaced since.

        SQLite keeps writing to a deleted file's inode without complaint: a send would
        report success into a store nobody will ever read again."""
        if self._identity is None:
            return
        now = file_identity(Path(self.url.database or ""))
        if now == self._identity:
            return
        what = "was deleted" if now is None else "was replaced by another file"
        raise StoreError(
            f"{describe_store(self.url)} {what} while this command ran; stopped, "
            "nothing more is recorded",
            hint="restore the store from a backup (or move it back), then run the same "
            "command again: finished deliveries are not repeated",
        )


def file_identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of a file, or None if there is none."""
    try:
        found = path.stat()
    except OSError:
        return None
    return (found.st_dev, found.st_ino)
