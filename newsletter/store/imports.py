"""Importing and syncing a list from CSV rows: streamed in, merged set-based.

Rows arrive in chunks (see `chunks`) and go into a temporary staging table, one row per
distinct address (duplicates in the file merge there: the last non-empty name
wins, attribute columns combine). Then a handful of set-based statements
compare the staging table with the store, count what will happen, and do it.
The caller holds one transaction around all of it, so an error or an
interruption anywhere leaves the store exactly as it was.

Suppression wins: an address whose status is not `subscribed` is counted as
suppressed and left alone (no new membership, no update); so is an address that
was erased (newsletter.store.erasures), which is not stored at all. A sync also ends the
membership of every member whose address is no longer in the file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ColumnElement,
    Connection,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    bindparam,
    case,
    exists,
    false,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    true,
    type_coerce,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.schema import CreateTable
from sqlalchemy.sql.dml import Insert

from newsletter.csvio import Chunk, Rejection, StagedRow
from newsletter.store import erasures
from newsletter.store.models import ImportReport, Source, Status
from newsletter.store.schema import EMAIL_LENGTH, Id, Json, UtcDateTime, memberships
from newsletter.store.schema import status_history as history
from newsletter.store.schema import subscribers as subs

MAX_LISTED_REJECTIONS = 10_000  # rejections kept with line and reason; the rest are counted
SUBSCRIBED = Status.SUBSCRIBED.value

_staging_metadata = MetaData()
staging = Table(
    "newsletter_import_staging",
    _staging_metadata,
    Column("email", String(EMAIL_LENGTH), primary_key=True),
    Column("name", Text),
    # none_as_null: a row without attribute columns stores SQL NULL, not JSON null.
    Column(
        "attributes", JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
    ),
    Column("line", Integer, nullable=False),
    Column("subscriber_id", Id),  # the existing subscriber with this address, if any
    Column("status", String(16)),  # that subscriber's status
    Column("was_member", Boolean, nullable=False, server_default="0"),
    prefixes=["TEMPORARY"],
    # Clustered by email on SQLite: every later join walks it in email order.
    sqlite_with_rowid=False,
)
_by_subscriber = Index("ix_newsletter_import_staging_subscriber_id", staging.c.subscriber_id)
_STAGED = ("email", "name", "attributes", "line")  # the columns a CSV row fills


@dataclass
class _Staged:
    accepted: int = 0
    rejected_count: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    def reject(self, rejection: Rejection) -> None:
        self.rejected_count += 1
        if len(self.rejected) < MAX_LISTED_REJECTIONS:
            self.rejected.append(rejection)


@dataclass(frozen=True)
class ImportRun:
    """One list's import or sync inside the caller's transaction."""

    list_name: str
    origin: str  # where the rows came from, for the report and the status history
    source: Source
    now: datetime
    remove_missing: bool = False  # sync: end memberships of addresses not in the rows
    secret: erasures.SecretSource | None = None  # recognises erased addresses, if any


def import_chunks(conn: Connection, run: ImportRun, chunks: Iterable[Chunk]) -> ImportReport:
    """Apply chunks of CSV rows to one list; the caller commits or rolls back."""
    conn.execute(CreateTable(staging))  # the table alone; its index comes after the rows
    staged = _stage(conn, chunks)
    distinct = _count(conn, staging)
    _mark_existing(conn, run.list_name)
    erased = _drop_erased(conn, run)
    removed = _remove_missing(conn, run) if run.remove_missing else 0
    counts = _apply(conn, run)
    staging.drop(conn)
    return ImportReport(
        list_name=run.list_name,
        source=run.origin,
        added=counts.added,
        updated=counts.updated,
        unchanged=counts.unchanged,
        suppressed=counts.suppressed + erased,
        removed=removed,
        duplicates=staged.accepted - distinct,
        rejected_count=staged.rejected_count,
        rejected=tuple(staged.rejected),
    )


def _drop_erased(conn: Connection, run: ImportRun) -> int:
    """Take erased addresses out of the staged rows (they are counted as suppressed and
    never stored); how many. Costs nothing in a store that never erased anyone."""
    if run.secret is None or not erasures.any_erased(conn):
        return 0
    new = list(
        conn.execute(select(staging.c.email).where(staging.c.subscriber_id.is_(None))).scalars()
    )
    gone = sorted(erasures.erased_among(conn, new, run.secret))
    for start in range(0, len(gone), 500):
        conn.execute(staging.delete().where(staging.c.email.in_(gone[start : start + 500])))
    return len(gone)


def _stage(conn: Connection, chunks: Iterable[Chunk]) -> _Staged:
    staged = _Staged()
    write = _staging_writer(conn)
    for chunk in chunks:
        for rejection in chunk.rejections:
            staged.reject(rejection)
        if chunk.rows:
            write(chunk.rows)
            staged.accepted += len(chunk.rows)
    return staged


def _staging_writer(conn: Connection) -> Callable[[list[StagedRow]], None]:
    """A function writing rows into staging with one executemany.

    The Core upsert is compiled once and run at the driver level with plain
    tuples: SQLAlchemy's per-row parameter processing would triple the time
    of a million-row import. Attributes arrive already serialised as JSON."""
    compiled = _staging_upsert(conn.dialect.name).compile(dialect=conn.dialect)
    sql = str(compiled)
    positional = compiled.positiontup is not None
    if positional and tuple(compiled.positiontup or ()) != _STAGED:
        raise RuntimeError(f"unexpected staging parameters {compiled.positiontup}")

    def write(rows: list[StagedRow]) -> None:
        params = rows if positional else [dict(zip(_STAGED, row, strict=True)) for row in rows]
        conn.exec_driver_sql(sql, params)

    return write


def _staging_upsert(dialect: str) -> Insert:
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(staging)
    new = statement.excluded
    return statement.values({name: bindparam(name) for name in _STAGED}).on_conflict_do_update(
        index_elements=[staging.c.email],
        set_={
            "name": func.coalesce(new.name, staging.c.name),
            "attributes": _combine(staging.c.attributes, new.attributes, dialect),
            "line": new.line,
        },
    )


def _combine(old: ColumnElement[Any], new: ColumnElement[Any], dialect: str) -> Any:
    """Attribute JSON `new` laid over `old` (either may be NULL): later columns win."""
    return case(
        (old.is_(None), new),
        (new.is_(None), old),
        else_=_json_merge(old, new, dialect),
    )


def _json_merge(old: ColumnElement[Any], new: ColumnElement[Any], dialect: str) -> Any:
    # Attributes are flat string maps, so SQLite's merge-patch and PostgreSQL's
    # jsonb concatenation mean the same thing: keys of `new` replace those of `old`.
    if dialect == "postgresql":
        return old.op("||", return_type=JSONB)(new)
    return func.json_patch(old, new, type_=Json)


def _mark_existing(conn: Connection, list_name: str) -> None:
    """Note, per staged address, the existing subscriber, their status and membership.

    One UPDATE … FROM (SQLite ≥ 3.33, PostgreSQL): each staged row is found once
    and given all three at a time. On SQLite the store is looked up by the email
    index for each staged row, walked in email order; PostgreSQL picks a join."""
    member = exists().where(
        memberships.c.list_name == list_name,
        memberships.c.subscriber_id == subs.c.id,
        memberships.c.removed_at.is_(None),
    )
    matched = conn.execute(
        update(staging)
        .where(subs.c.email == staging.c.email)
        .values(subscriber_id=subs.c.id, status=subs.c.status, was_member=member)
    ).rowcount
    # Built now rather than with the table: cheaper than keeping it up to date
    # while rows stream in. Later statements find staged rows by subscriber id; when
    # no address was already stored (a first import) they read every staged row
    # anyway, in email order, and the index would only cost its building and a
    # detour through it for each new subscriber (a fifth of their insert).
    if matched:
        _by_subscriber.create(conn)


def _remove_missing(conn: Connection, run: ImportRun) -> int:
    in_file = select(staging.c.subscriber_id).where(staging.c.subscriber_id.is_not(None))
    result = conn.execute(
        update(memberships)
        .values(removed_at=run.now)
        .where(
            memberships.c.list_name == run.list_name,
            memberships.c.removed_at.is_(None),
            memberships.c.subscriber_id.not_in(in_file),
        )
    )
    return result.rowcount


@dataclass(frozen=True)
class _Counts:
    added: int
    updated: int
    unchanged: int
    suppressed: int


def _apply(conn: Connection, run: ImportRun) -> _Counts:
    dialect = conn.dialect.name
    suppressed = _count(conn, staging, staging.c.status.is_not(None), ~_is_subscribed())
    kept = _count(conn, staging, staging.c.was_member == true(), _is_subscribed())
    # Changed details are counted as `updated` only for members; for addresses
    # joining the list they are part of being `added`. Counting the (usually
    # few) joiners is cheaper than testing every member twice.
    joining = _count(conn, _with_subscriber(), staging.c.was_member == false(), _changed(dialect))
    changed = _update_details(conn, run, dialect)
    created = _insert_new(conn, run)
    added = _reactivate(conn, run) + _insert_memberships(conn, run, created)
    updated = changed - joining
    return _Counts(added=added, updated=updated, unchanged=kept - updated, suppressed=suppressed)


def _is_subscribed() -> ColumnElement[bool]:
    return staging.c.status == SUBSCRIBED


def _with_subscriber() -> Any:
    return staging.join(subs, subs.c.id == staging.c.subscriber_id)


def _count(conn: Connection, source: Any, *where: ColumnElement[bool]) -> int:
    return conn.execute(select(func.count()).select_from(source).where(*where)).scalar_one()


def _changed(dialect: str) -> ColumnElement[bool]:
    """The row would change a subscribed subscriber's name or attributes."""
    name = and_(staging.c.name.is_not(None), staging.c.name.is_distinct_from(subs.c.name))
    merged = _json_merge(subs.c.attributes, staging.c.attributes, dialect)
    if dialect == "postgresql":
        differs = type_coerce(merged, JSONB) != type_coerce(subs.c.attributes, JSONB)
    else:  # compare SQLite's canonical text of both (json() minifies like json_patch)
        differs = type_coerce(merged, Text) != type_coerce(func.json(subs.c.attributes), Text)
    attributes = and_(staging.c.attributes.is_not(None), differs)
    return and_(subs.c.status == SUBSCRIBED, or_(name, attributes))


def _update_details(conn: Connection, run: ImportRun, dialect: str) -> int:
    """Lay the file's names and attributes over subscribed subscribers'; how many changed."""
    result = conn.execute(
        update(subs)
        .values(
            name=func.coalesce(staging.c.name, subs.c.name),
            attributes=_combine(subs.c.attributes, staging.c.attributes, dialect),
            updated_at=run.now,
        )
        .where(subs.c.id == staging.c.subscriber_id, _changed(dialect))
    )
    return result.rowcount


def _insert_new(conn: Connection, run: ImportRun) -> Any:
    """Create the subscribers whose addresses are new, with their first status history
    row; a SELECT of the new subscribers' ids (`_created`)."""
    last_id = conn.execute(select(func.max(subs.c.id))).scalar_one()
    now = literal(run.now, UtcDateTime())
    reason = f"{run.source.value} into list {run.list_name} from {run.origin}"
    new_rows = select(
        staging.c.email,
        staging.c.name,
        func.coalesce(staging.c.attributes, literal({}, Json), type_=Json),
        literal(SUBSCRIBED),
        now,
        literal(reason),
        now,
        now,
    ).where(staging.c.subscriber_id.is_(None))
    conn.execute(
        insert(subs).from_select(
            [
                "email",
                "name",
                "attributes",
                "status",
                "status_changed_at",
                "status_reason",
                "created_at",
                "updated_at",
            ],
            new_rows,
        )
    )
    created = _created(conn.dialect.name, last_id)
    conn.execute(
        insert(history).from_select(
            ["subscriber_id", "from_status", "to_status", "reason", "source", "at"],
            created.with_only_columns(
                subs.c.id,
                null(),
                literal(SUBSCRIBED),
                literal(reason),
                literal(run.source.value),
                now,
            ),
        )
    )
    return created


def _created(dialect: str, last_id: int | None) -> Any:
    """The subscribers this import has just created, as a SELECT of their ids.

    On SQLite they are the ids above the largest before the insert: the import holds
    the database's only write lock (BEGIN IMMEDIATE) and ids are AUTOINCREMENT, so no
    one else can have made one meanwhile; a range of the table's own key, no join. A
    PostgreSQL sequence gives ids to concurrent transactions too: there, the staged
    addresses that had no subscriber are looked up again."""
    if dialect == "sqlite":
        return select(subs.c.id).where(subs.c.id > (last_id or 0))
    return (
        select(subs.c.id)
        .select_from(staging.join(subs, subs.c.email == staging.c.email))
        .where(staging.c.subscriber_id.is_(None))
    )


def _reactivate(conn: Connection, run: ImportRun) -> int:
    """Members who had left the list and are back in the file rejoin it."""
    result = conn.execute(
        update(memberships)
        .values(removed_at=None, added_at=run.now)
        .where(
            memberships.c.list_name == run.list_name,
            memberships.c.removed_at.is_not(None),
            memberships.c.subscriber_id.in_(
                select(staging.c.subscriber_id).where(
                    _is_subscribed(), staging.c.was_member == false()
                )
            ),
        )
    )
    return result.rowcount


def _insert_memberships(conn: Connection, run: ImportRun, created: Any) -> int:
    """New memberships: every subscriber just created, and every subscribed one who was
    never on the list (one who had left it was rejoined by `_reactivate`)."""
    now = literal(run.now, UtcDateTime())
    columns = ["list_name", "subscriber_id", "added_at"]
    joined = conn.execute(
        insert(memberships).from_select(
            columns, created.with_only_columns(literal(run.list_name), subs.c.id, now)
        )
    ).rowcount
    already = exists().where(
        memberships.c.list_name == run.list_name,
        memberships.c.subscriber_id == staging.c.subscriber_id,
    )
    returning = select(literal(run.list_name), staging.c.subscriber_id, now).where(
        _is_subscribed(), staging.c.was_member == false(), ~already
    )
    return joined + conn.execute(insert(memberships).from_select(columns, returning)).rowcount
