"""The store of record, as one object the CLI, dispatch and the web endpoint share.

`Store` opens and closes the store and migrates its schema; the work is done by
its six repositories, which share its one `Database` (engine, transactions,
clock):

- `store.subscribers`: subscribers and lists (`SubscriberRepository`);
- `store.sends`: sends, the ledger and the run lock (`SendRepository`);
- `store.feedback`: the provider's suppressions and events (`FeedbackRepository`);
- `store.issues`: issues as sent, and which are published (`IssueRepository`);
- `store.approvals`: who approved which version of an issue (`ApprovalRepository`);
- `store.readers`: readers' own sign-ups, their confirmation and consent (`ReaderRepository`).
- `store.erasures`: the keyed hashes of erased addresses (`ErasureRepository`).
- `store.events`: SendGrid's events as the report reads them (`EventRepository`).

Every database error leaves as StoreError, naming the store with its password masked.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Self

from sqlalchemy.engine import URL

from newsletter.clock import Clock, SystemClock
from newsletter.config import Config
from newsletter.errors import StoreError
from newsletter.store import migrate
from newsletter.store.approval_repository import ApprovalRepository
from newsletter.store.database import Database
from newsletter.store.engine import describe_store, make_engine, parse_url
from newsletter.store.erasure_repository import ErasureRepository
from newsletter.store.event_repository import EventRepository
from newsletter.store.feedback_repository import FeedbackRepository
from newsletter.store.issue_repository import IssueRepository
from newsletter.store.reader_repository import ReaderRepository
from newsletter.store.send_repository import SendRepository
from newsletter.store.subscriber_repository import SubscriberRepository


class Store:
    """Subscribers, lists, sends, provider feedback and issues, in SQLite or PostgreSQL."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.created = False  # set by `open` when it made a new, empty store
        self.subscribers = SubscriberRepository(database)
        self.sends = SendRepository(database)
        self.feedback = FeedbackRepository(database)
        self.issues = IssueRepository(database)
        self.approvals = ApprovalRepository(database)
        self.readers = ReaderRepository(database)
        self.erasures = ErasureRepository(database)
        self.events = EventRepository(database)

    # -- opening and closing -------------------------------------------------

    @classmethod
    def open(
        cls,
        url: str | URL,
        *,
        base_dir: Path | None = None,
        upgrade: bool = True,
        create: bool = False,
        clock: Clock | None = None,
    ) -> Self:
        """Open the store at `url`; migrate it to this code's schema unless `upgrade` is off.

        A store that does not exist - no SQLite file, or a PostgreSQL database or schema
        whose newsletter tables were never made - is created only when `create` is set
        (`db init`, `subscribers import` and `sync`); otherwise StoreError (exit 7). A
        store that vanished is never quietly replaced by an empty one: that would forget
        every unsubscribe, and the next sync would mail those readers again. `created`
        says whether this call made it. Every repository reads the time from `clock`
        (the system clock when None)."""
        parsed = url if isinstance(url, URL) else parse_url(url, base_dir or Path.cwd())
        sqlite_file = _sqlite_file(parsed)
        if sqlite_file is not None and not _has_content(sqlite_file):
            if not create:
                raise _missing(
                    parsed, "is an empty file" if sqlite_file.exists() else "does not exist"
                )
            sqlite_file.parent.mkdir(parents=True, exist_ok=True)
        store = cls(Database(make_engine(parsed), parsed, clock or SystemClock()))
        try:
            if store.schema_state().current is None:
                if not create:
                    raise _missing(parsed, "was never initialised (it has no newsletter tables)")
                store.created = True
            if upgrade:
                store.upgrade()
            if sqlite_file:
                store.database.watch_file(sqlite_file)
        except BaseException:
            store.close()
            raise
        return store

    @classmethod
    def from_config(
        cls,
        config: Config,
        *,
        upgrade: bool = True,
        create: bool = False,
        clock: Clock | None = None,
    ) -> Self:
        """The store config.yaml (or $NEWSLETTER_DATABASE_URL) names; see `open`."""
        url = parse_url(config.database_url, config.base_dir, source=config.database_url_source)
        store = cls.open(url, upgrade=upgrade, create=create, clock=clock)
        store.events.per_reader = config.tracking.per_reader
        return store

    def close(self) -> None:
        self.database.dispose()

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
        return self.database.display_url

    @property
    def clock(self) -> Clock:
        """The clock every repository reads the time from (see `open`)."""
        return self.database.clock

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self.database.dialect

    # -- schema ----------------------------------------------------------------

    def schema_state(self) -> migrate.SchemaState:
        with self.database.read() as conn:
            return migrate.schema_state(conn)

    def upgrade(self) -> migrate.SchemaState:
        """Migrate to the newest schema this code knows; the state found before."""
        before = self.schema_state()
        if not before.up_to_date:
            with self.database.write() as conn:
                migrate.upgrade(conn)
        return before

    def downgrade(self, target: str) -> None:
        """Migrate down to `target` ("base": an empty store). For developers and tests."""
        with self.database.write() as conn:
            migrate.downgrade(conn, target)


def _sqlite_file(url: URL) -> Path | None:
    return Path(url.database) if url.get_backend_name() == "sqlite" and url.database else None


def _has_content(path: Path) -> bool:
    # SQLite treats an empty file as an empty database: it is no store either.
    try:
        return path.stat().st_size > 0
    except OSError:
        return False


def _missing(url: URL, why: str) -> StoreError:
    return StoreError(
        f"no store: {describe_store(url)} {why}",
        hint="a store is created only on purpose: `newsletter db init`, or the first "
        "`newsletter subscribers sync` or `import`; if it should be there, it was deleted or "
        "moved, or database.url / $NEWSLETTER_DATABASE_URL points somewhere else",
    )
