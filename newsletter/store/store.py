"""The store of record, as one object the CLI, dispatch and the web endpoint share.

`Store` owns the engine and the transactions; the work is done by the
functions of the neighbouring modules, each inside one transaction opened
here. Every database error leaves as StoreError, naming the store with its
password masked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Self, TextIO

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import URL

from newsletter.config import Config
from newsletter.errors import InputError, StoreError, SubscriberNotFoundError
from newsletter.secrets import Secret
from newsletter.store import imports, lists, migrate
from newsletter.store import subscribers as ops
from newsletter.addresses import parse_email
from newsletter.store.archive import ArchiveMixin
from newsletter.csvio.chunks import Chunk, chunk_entries, file_chunks, gc_paused
from newsletter.csvio.csvfile import Entry, clean_attribute_key, clean_text
from newsletter.store.engine import (
    WRITE,
    describe_store,
    display_url,
    make_engine,
    parse_url,
    translated_errors,
)
from newsletter.store.feedback import FeedbackMixin
from newsletter.store.models import (
    ImportReport,
    ListCount,
    Source,
    Status,
    Subscriber,
    SubscriberDetails,
)
from newsletter.names import check_name
from newsletter.store.sending import SendingMixin
from newsletter.store.subscribers import AddOutcome, StatusChange
from newsletter.tokens import make_token, read_token

_LIST_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def utc_now() -> datetime:
    return datetime.now(UTC)


class Store(SendingMixin, FeedbackMixin, ArchiveMixin):
    """Subscribers, lists, statuses and (for dispatch) sends, in SQLite or PostgreSQL."""

    def __init__(self, engine: Engine, url: URL) -> None:
        self._engine = engine
        self._writer = engine.execution_options(**WRITE)
        self._url = url
        self.created = False  # set by `open` when it made a new, empty store
        # (device, inode) of the SQLite file as opened: checked before every transaction.
        self._identity: tuple[int, int] | None = None

    # -- opening and closing -------------------------------------------------

    @classmethod
    def open(
        cls,
        url: str | URL,
        *,
        base_dir: Path | None = None,
        upgrade: bool = True,
        create: bool = False,
    ) -> Self:
        """Open the store at `url`; migrate it to this code's schema unless `upgrade` is off.

        A store that does not exist - no SQLite file, or a PostgreSQL database or schema
        whose newsletter tables were never made - is created only when `create` is set
        (`db init`, `subscribers import` and `sync`); otherwise StoreError (exit 7). A
        store that vanished is never quietly replaced by an empty one: that would forget
        every unsubscribe, and the next sync would mail those readers again. `created`
        says whether this call made it."""
        parsed = url if isinstance(url, URL) else parse_url(url, base_dir or Path.cwd())
        sqlite_file = _sqlite_file(parsed)
        if sqlite_file is not None and not _has_content(sqlite_file):
            if not create:
                raise _missing(
                    parsed, "is an empty file" if sqlite_file.exists() else "does not exist"
                )
            sqlite_file.parent.mkdir(parents=True, exist_ok=True)
        store = cls(make_engine(parsed), parsed)
        try:
            if store.schema_state().current is None:
                if not create:
                    raise _missing(parsed, "was never initialised (it has no newsletter tables)")
                store.created = True
            if upgrade:
                store.upgrade()
            store._identity = _file_identity(sqlite_file) if sqlite_file else None
        except BaseException:
            store.close()
            raise
        return store

    @classmethod
    def from_config(cls, config: Config, *, upgrade: bool = True, create: bool = False) -> Self:
        """The store config.yaml (or $NEWSLETTER_DATABASE_URL) names; see `open`."""
        url = parse_url(config.database_url, config.base_dir, source=config.database_url_source)
        return cls.open(url, upgrade=upgrade, create=create)

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.display_url!r})"

    @property
    def display_url(self) -> str:
        """The store's URL with any password masked."""
        return display_url(self._url)

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self._engine.dialect.name

    def _check_same_file(self) -> None:
        """StoreError if the SQLite file opened was deleted or replaced since.

        SQLite keeps writing to a deleted file's inode without complaint: a send would
        report success into a store nobody will ever read again."""
        if self._identity is None:
            return
        path = Path(self._url.database or "")
        now = _file_identity(path)
        if now == self._identity:
            return
        what = "was deleted" if now is None else "was replaced by another file"
        raise StoreError(
            f"{describe_store(self._url)} {what} while this command ran; stopped, "
            "nothing more is recorded",
            hint="restore the store from a backup (or move it back), then run the same "
            "command again: finished deliveries are not repeated",
        )

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        self._check_same_file()
        with translated_errors(self._url), self._engine.begin() as conn:
            yield conn

    @contextmanager
    def _write(self, *, dry_run: bool = False) -> Iterator[Connection]:
        """One write transaction: committed at the end (rolled back for a dry run),
        rolled back on any exception, KeyboardInterrupt included."""
        self._check_same_file()
        with (
            translated_errors(self._url),
            self._writer.connect() as conn,
            conn.begin() as transaction,
        ):
            yield conn
            if dry_run:
                transaction.rollback()

    # -- schema ----------------------------------------------------------------

    def schema_state(self) -> migrate.SchemaState:
        with self._read() as conn:
            return migrate.schema_state(conn)

    def upgrade(self) -> migrate.SchemaState:
        """Migrate to the newest schema this code knows; the state found before."""
        before = self.schema_state()
        if not before.up_to_date:
            with self._write() as conn:
                migrate.upgrade(conn)
        return before

    def downgrade(self, target: str) -> None:
        """Migrate down to `target` ("base": an empty store). For developers and tests."""
        with self._write() as conn:
            migrate.downgrade(conn, target)

    # -- imports and syncs -------------------------------------------------------

    def import_csv(self, path: Path, list_name: str, *, dry_run: bool = False) -> ImportReport:
        """Add and update a list's members from a CSV file, in one transaction."""
        return self._import(file_chunks(path), list_name, origin=path.name, dry_run=dry_run)

    def import_entries(
        self,
        entries: Iterable[Entry],
        list_name: str,
        *,
        origin: str,
        source: Source = Source.IMPORT,
        remove_missing: bool = False,
        dry_run: bool = False,
    ) -> ImportReport:
        """Apply parsed CSV entries to a list, in one transaction (rolled back on a dry run)."""
        return self._import(
            chunk_entries(entries),
            list_name,
            origin=origin,
            source=source,
            remove_missing=remove_missing,
            dry_run=dry_run,
        )

    def _import(
        self,
        chunks: Iterable[Chunk],
        list_name: str,
        *,
        origin: str,
        source: Source = Source.IMPORT,
        remove_missing: bool = False,
        dry_run: bool = False,
    ) -> ImportReport:
        run = imports.ImportRun(
            list_name=check_list_name(list_name),
            origin=origin,
            source=source,
            now=utc_now(),
            remove_missing=remove_missing,
        )
        with gc_paused(), self._write(dry_run=dry_run) as conn:
            report = imports.import_chunks(conn, run, chunks)
        return _dry(report) if dry_run else report

    def sync_files(self, files: Mapping[str, Path], *, dry_run: bool = False) -> list[ImportReport]:
        """Make each list's membership match its file, all lists in one transaction."""
        now = utc_now()
        reports = []
        with gc_paused(), self._write(dry_run=dry_run) as conn:
            for list_name, path in files.items():
                run = imports.ImportRun(
                    list_name=check_list_name(list_name),
                    origin=path.name,
                    source=Source.SYNC,
                    now=now,
                    remove_missing=True,
                )
                reports.append(imports.import_chunks(conn, run, file_chunks(path)))
        return [_dry(report) for report in reports] if dry_run else reports

    # -- one subscriber ------------------------------------------------------------

    def add(
        self,
        email: str,
        list_name: str,
        *,
        name: str | None = None,
        attributes: Mapping[str, str] | None = None,
    ) -> AddOutcome:
        """Put an address on a list (creating it if new). SuppressedError if suppressed."""
        address = parse_email(email, new=True)
        clean_name = _clean_name(name) if name else None
        clean_attributes = {_key(k): _clean(v, k) for k, v in (attributes or {}).items()}
        with self._write() as conn:
            return ops.add_to_list(
                conn,
                address,
                check_list_name(list_name),
                name=clean_name,
                attributes=clean_attributes,
                now=utc_now(),
            )

    def remove(self, email: str, list_name: str) -> None:
        """Take an address off one list."""
        with self._write() as conn:
            ops.remove_from_list(conn, parse_email(email), check_list_name(list_name), utc_now())

    def unsubscribe(
        self, email: str, *, reason: str | None = None, source: Source = Source.CLI
    ) -> StatusChange:
        """Stop all mail to an address, on every list; an unknown address is kept suppressed."""
        with self._write() as conn:
            return ops.unsubscribe(
                conn, parse_email(email), reason=reason, source=source, now=utc_now()
            )

    def resubscribe(
        self, email: str, *, reason: str | None = None, source: Source = Source.CLI
    ) -> StatusChange:
        """Lift an unsubscribe, bounce or complaint: the only way back to `subscribed`."""
        with self._write() as conn:
            return ops.resubscribe(
                conn, parse_email(email), reason=reason, source=source, now=utc_now()
            )

    def set_status(
        self, email: str, status: Status, *, reason: str | None, source: Source
    ) -> StatusChange:
        """Record a bounce, complaint or unsubscribe from a provider or the web."""
        with self._write() as conn:
            return ops.set_status(
                conn,
                parse_email(email),
                status,
                reason=reason,
                source=source,
                now=utc_now(),
                create_missing=status != Status.SUBSCRIBED,
            )

    def get(self, email: str) -> Subscriber | None:
        """The subscriber with this address (any case, any spacing), if any."""
        with self._read() as conn:
            return ops.find(conn, parse_email(email))

    def get_by_id(self, subscriber_id: int) -> Subscriber | None:
        with self._read() as conn:
            return ops.find_by_id(conn, subscriber_id)

    def details(self, email: str) -> SubscriberDetails:
        """Status, lists and status history of one address."""
        with self._read() as conn:
            return ops.details(conn, parse_email(email))

    # -- lists -----------------------------------------------------------------------

    def iter_members(
        self, list_name: str, *, status: Status | None = None, batch_size: int = 1000
    ) -> Iterator[list[Subscriber]]:
        """Current members of a list (of one status, if given), streamed in batches."""
        with self._read() as conn:
            yield from lists.iter_batches(conn, check_list_name(list_name), status, batch_size)

    def iter_active_members(
        self, list_name: str, batch_size: int = 1000
    ) -> Iterator[list[Subscriber]]:
        """The members a send goes to (on the list, status subscribed), in batches."""
        return self.iter_members(list_name, status=Status.SUBSCRIBED, batch_size=batch_size)

    def has_active_members(self, list_name: str) -> bool:
        """Whether a send to the list would reach anyone (a member who is subscribed)."""
        with self._read() as conn:
            return lists.has_members(conn, check_list_name(list_name), Status.SUBSCRIBED)

    def export_csv(self, list_name: str, out: TextIO, *, status: Status | None) -> int:
        """Write a list's members as CSV to `out`; the number of rows."""
        return lists.write_csv(lambda: self.iter_members(list_name, status=status), out)

    def list_counts(self) -> list[ListCount]:
        with self._read() as conn:
            return lists.list_counts(conn)

    def status_counts(self) -> dict[Status, int]:
        with self._read() as conn:
            return lists.status_counts(conn)

    # -- tokens ------------------------------------------------------------------------

    def token_for(self, email: str, secret: Secret) -> str:
        """The signed unsubscribe token of a subscriber."""
        with self._read() as conn:
            return make_token(ops.require(conn, parse_email(email)).id, secret)

    def subscriber_for_token(self, token: str, secret: Secret) -> Subscriber:
        """The subscriber a token names; TokenError if it is not genuine."""
        found = self.get_by_id(read_token(token, secret))
        if found is None:
            raise SubscriberNotFoundError("this link names a subscriber who is no longer stored")
        return found


def _sqlite_file(url: URL) -> Path | None:
    return Path(url.database) if url.get_backend_name() == "sqlite" and url.database else None


def _has_content(path: Path) -> bool:
    # SQLite treats an empty file as an empty database: it is no store either.
    try:
        return path.stat().st_size > 0
    except OSError:
        return False


def _file_identity(path: Path) -> tuple[int, int] | None:
    try:
        found = path.stat()
    except OSError:
        return None
    return (found.st_dev, found.st_ino)


def _missing(url: URL, why: str) -> StoreError:
    return StoreError(
        f"no store: {describe_store(url)} {why}",
        hint="a store is created only on purpose: `newsletter db init`, or the first "
        "`newsletter subscribers sync` or `import`; if it should be there, it was deleted or "
        "moved, or database.url / $NEWSLETTER_DATABASE_URL points somewhere else",
    )


def check_list_name(name: str) -> str:
    """A list name as config.yaml allows them; InputError otherwise."""
    if not _LIST_NAME.fullmatch(name):
        raise InputError(
            f"{name!r} is not a valid list name",
            hint="use lower-case letters, digits, '-' and '_', starting with a letter or digit",
        )
    return name


def _clean(value: str, field: str) -> str:
    try:
        return clean_text(value, field)
    except ValueError as err:
        raise InputError(str(err)) from err


def _key(key: str) -> str:
    try:
        return clean_attribute_key(key)
    except ValueError as err:
        raise InputError(str(err)) from err


def _clean_name(name: str) -> str:
    try:
        return check_name(clean_text(name, "name"))
    except ValueError as err:
        raise InputError(str(err)) from err


def _dry(report: ImportReport) -> ImportReport:
    return replace(report, dry_run=True)
