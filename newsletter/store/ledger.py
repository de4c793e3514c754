"""The dispatch ledger: sends, the frozen audience, delivery states.

Functions on an open connection, each called inside one transaction by
`SendRepository`. The rules that make a send exactly-once live here:

- the audience is frozen once, when the send is created: one `pending`
  delivery per member who is subscribed at that moment and has not paused their
  mail past it (those are counted in `sends.paused_readers`, and get later issues once
  their pause ends);
- a batch is claimed (`pending → sending`) and committed before its request
  goes out, so a crash leaves it visibly `sending`;
- on the next run every `sending` delivery becomes `ambiguous`: it may or may
  not have reached the provider, and is never resent unless asked;
- a recipient who unsubscribed, bounced or complained before their batch was
  claimed is removed from the audience (counted in `sends.removed`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, overload

from sqlalchemy import Connection, delete, func, insert, literal, or_, select, update

from newsletter.states import DeliveryState, SendState
from newsletter.store.events import settle_by_evidence, settle_deliveries
from newsletter.store.schema import (
    deliveries,
    memberships,
    send_overlaps,
    sends,
    subscribers,
)


@dataclass(frozen=True)
class SendRecord:
    """One send of an issue to a list."""

    id: int
    issue_id: str
    list_name: str
    content_hash: str
    message_hash: str | None
    transport: str
    state: SendState
    started_at: datetime
    finished_at: datetime | None
    batch_id: str | None
    send_at: datetime | None
    note: str | None
    removed: int
    force_reason: str | None = None  # 0006: `send --force --reason`: why, who, when
    forced_by: str | None = None
    forced_at: datetime | None = None
    paused_readers: int = 0  # 0008: readers left out of the audience: they paused


@dataclass(frozen=True)
class ForcedSend:
    """A send made with `--force --reason`: why, and who asked. Recorded on the send
    when it opens, with the store's time."""

    reason: str
    by: str


class Claimed(NamedTuple):
    """A delivery taken for sending: who, and their subscriber row's name. A named
    tuple, not a dataclass: a million are made per large send, and a tuple is made
    several times faster than a frozen dataclass."""

    delivery_id: int
    subscriber_id: int
    email: str
    name: str | None


class ClaimedRows(Sequence[Claimed]):
    """A claimed batch as columns (delivery ids, subscriber ids, addresses, names): the
    same readers as a list of Claimed, but each Claimed tuple is made only when asked
    for (`rows[i]`, iteration). The dispatcher reads the columns and makes none: a
    million-reader send would otherwise make a million tuples only to take them apart
    again (about a microsecond each, a twentieth of the send's time per reader)."""

    __slots__ = ("delivery_ids", "emails", "names", "subscriber_ids")

    def __init__(
        self,
        delivery_ids: Sequence[int],
        subscriber_ids: Sequence[int],
        emails: Sequence[str],
        names: Sequence[str | None],
    ) -> None:
        if not len(delivery_ids) == len(subscriber_ids) == len(emails) == len(names):
            raise ValueError("a claimed batch's columns must all be as long")
        self.delivery_ids = delivery_ids
        self.subscriber_ids = subscriber_ids
        self.emails = emails
        self.names = names

    @classmethod
    def of(cls, readers: Iterable[Claimed]) -> ClaimedRows:
        """The columns of `readers` (already Claimed tuples), in order."""
        listed = list(readers)
        return cls(
            [r.delivery_id for r in listed],
            [r.subscriber_id for r in listed],
            [r.email for r in listed],
            [r.name for r in listed],
        )

    def __len__(self) -> int:
        return len(self.delivery_ids)

    @overload
    def __getitem__(self, index: int) -> Claimed: ...

    @overload
    def __getitem__(self, index: slice) -> ClaimedRows: ...

    def __getitem__(self, index: int | slice) -> Claimed | ClaimedRows:
        if isinstance(index, slice):
            return ClaimedRows(
                self.delivery_ids[index],
                self.subscriber_ids[index],
                self.emails[index],
                self.names[index],
            )
        return Claimed(
            self.delivery_ids[index],
            self.subscriber_ids[index],
            self.emails[index],
            self.names[index],
        )

    def __iter__(self) -> Iterator[Claimed]:
        return map(Claimed, self.delivery_ids, self.subscriber_ids, self.emails, self.names)

    def __repr__(self) -> str:
        return f"ClaimedRows({list(self)!r})"


def delivery_ids_of(readers: Sequence[Claimed]) -> Sequence[int]:
    """The delivery ids of `readers`, in order: a ClaimedRows' own column, or read from
    each tuple."""
    if isinstance(readers, ClaimedRows):
        return readers.delivery_ids
    return [reader.delivery_id for reader in readers]


# What to record after a batch came back: (state, provider id, error) → delivery ids.
# state is accepted | failed | ambiguous | pending (deferred: try again later).
Outcomes = dict[tuple[str, str | None, str | None], list[int]]


# --------------------------------------------------------------------------- sends


def _record(row: Any) -> SendRecord:
    values = {column: getattr(row, column) for column in SendRecord.__annotations__}
    return SendRecord(**{**values, "state": SendState(values["state"])})


def find_send(conn: Connection, issue_id: str, list_name: str) -> SendRecord | None:
    row = conn.execute(
        select(sends).where(sends.c.issue_id == issue_id, sends.c.list_name == list_name)
    ).first()
    return _record(row) if row else None


def get_send(conn: Connection, send_id: int) -> SendRecord:
    return _record(conn.execute(select(sends).where(sends.c.id == send_id)).one())


def all_sends(conn: Connection, issue_id: str | None = None) -> list[SendRecord]:
    query = select(sends).order_by(sends.c.issue_id.desc(), sends.c.list_name)
    if issue_id is not None:
        query = query.where(sends.c.issue_id == issue_id)
    return [_record(row) for row in conn.execute(query)]


def create_send(
    conn: Connection,
    *,
    issue_id: str,
    list_name: str,
    content_hash: str,
    message_hash: str,
    transport: str,
    now: datetime,
    send_at: datetime | None = None,
    batch_id: str | None = None,
) -> SendRecord:
    """Record the send and freeze its audience, in the caller's transaction."""
    send_id = conn.execute(
        insert(sends)
        .values(
            issue_id=issue_id,
            list_name=list_name,
            content_hash=content_hash,
            message_hash=message_hash,
            transport=transport,
            state=SendState.RUNNING,
            started_at=now,
            send_at=send_at,
            batch_id=batch_id,
            removed=0,
        )
        .returning(sends.c.id)
    ).scalar_one()
    freeze_audience(conn, send_id, issue_id, list_name, now)
    return get_send(conn, send_id)


def freeze_audience(
    conn: Connection, send_id: int, issue_id: str, list_name: str, now: datetime
) -> int:
    """One pending delivery per current, subscribed member who is in no other send of
    the same issue: set-based statements. A member another send already has (a reader
    on two lists) is recorded in `send_overlaps` instead, naming that send, so an
    issue reaches each reader once. Freezes of one issue are serialised (see
    `_serialise_freezes`), so two lists frozen at the same moment cannot both take a
    reader."""
    _serialise_freezes(conn, issue_id)
    others = list(
        conn.execute(
            select(sends.c.id).where(sends.c.issue_id == issue_id, sends.c.id != send_id)
        ).scalars()
    )
    members = (
        select(subscribers.c.id)
        .join(memberships, memberships.c.subscriber_id == subscribers.c.id)
        .where(
            memberships.c.list_name == list_name,
            memberships.c.removed_at.is_(None),
            subscribers.c.status == "subscribed",
        )
    )
    paused = members.where(subscribers.c.paused_until > now)
    members = members.where(
        or_(subscribers.c.paused_until.is_(None), subscribers.c.paused_until <= now)
    )
    if others:
        # Probes the (send_id, subscriber_id) unique index once per other send.
        elsewhere = (
            select(deliveries.c.subscriber_id, func.min(deliveries.c.send_id).label("via"))
            .where(deliveries.c.send_id.in_(others), deliveries.c.subscriber_id.in_(members))
            .group_by(deliveries.c.subscriber_id)
            .subquery()
        )
        overlap = select(
            literal(send_id, send_overlaps.c.send_id.type),
            elsewhere.c.subscriber_id,
            elsewhere.c.via,
        )
        columns = ["send_id", "subscriber_id", "via_send_id"]
        conn.execute(insert(send_overlaps).from_select(columns, overlap))
        already = select(deliveries.c.subscriber_id).where(
            deliveries.c.send_id.in_(others),
            deliveries.c.subscriber_id == subscribers.c.id,
        )
        members = members.where(~already.exists())
    audience = members.add_columns(
        subscribers.c.email,
        literal(send_id, deliveries.c.send_id.type),
        literal(DeliveryState.PENDING, deliveries.c.state.type),
        literal(0, deliveries.c.attempts.type),
        literal(now, deliveries.c.updated_at.type),
    ).order_by(memberships.c.subscriber_id)  # = subscribers.id, in the membership key's
    # order: SQLite needs no sort of a million rows (by subscribers.id it made one)
    columns = ["subscriber_id", "email", "send_id", "state", "attempts", "updated_at"]
    result = conn.execute(insert(deliveries).from_select(columns, audience))
    left_out = conn.execute(select(func.count()).select_from(paused.subquery())).scalar_one()
    if left_out:
        conn.execute(update(sends).where(sends.c.id == send_id).values(paused_readers=left_out))
    return int(result.rowcount or 0)


def _serialise_freezes(conn: Connection, issue_id: str) -> None:
    """Let one transaction at a time freeze an audience for `issue_id`, until it commits.

    SQLite needs nothing: every write transaction begins IMMEDIATE, so writers are
    serialised already. PostgreSQL runs them side by side, and neither would see the
    other's uncommitted deliveries: a transaction-scoped advisory lock on the issue
    makes the second wait, then see the first's (READ COMMITTED reads per statement)."""
    if conn.dialect.name != "postgresql":
        return
    digest = hashlib.sha256(f"newsletter:freeze:{issue_id}".encode()).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)
    conn.execute(select(func.pg_advisory_xact_lock(key)))


def overlaps(conn: Connection, send_id: int) -> dict[str, int]:
    """Members a send left out because another send of its issue has them, counted by
    that send's list: {"weekly": 12}."""
    rows = conn.execute(
        select(sends.c.list_name, func.count())
        .select_from(send_overlaps.join(sends, sends.c.id == send_overlaps.c.via_send_id))
        .where(send_overlaps.c.send_id == send_id)
        .group_by(sends.c.list_name)
        .order_by(sends.c.list_name)
    )
    return {list_name: int(count) for list_name, count in rows}


def update_send(conn: Connection, send_id: int, **values: Any) -> None:
    conn.execute(update(sends).where(sends.c.id == send_id).values(**values))


def mark_interrupted(conn: Connection, send_id: int, now: datetime) -> int:
    """`sending` left by a run that died: the provider may have them. → ambiguous."""
    result = conn.execute(
        update(deliveries)
        .where(deliveries.c.send_id == send_id, deliveries.c.state == DeliveryState.SENDING)
        .values(
            state=DeliveryState.AMBIGUOUS,
            updated_at=now,
            last_error="the run sending this batch was interrupted before the answer came",
        )
    )
    # SendGrid's processed/delivered events may have come in meanwhile: they settle it.
    return int(result.rowcount or 0) - settle_by_evidence(conn, send_id, now)


def requeue(conn: Connection, send_id: int, states: Iterable[str], now: datetime) -> int:
    """Put failed (and, if asked, ambiguous) deliveries back to pending for a retry."""
    result = conn.execute(
        update(deliveries)
        .where(deliveries.c.send_id == send_id, deliveries.c.state.in_(list(states)))
        .values(state=DeliveryState.PENDING, updated_at=now)
    )
    return int(result.rowcount or 0)


# --------------------------------------------------------------------------- batches


@dataclass(frozen=True)
class Batch:
    """Deliveries claimed for one request, and how far the scan went."""

    number: int
    claimed: ClaimedRows
    last_id: int  # the cursor for the next claim, even if everyone here was removed


def claim_batch(
    conn: Connection, send_id: int, after_id: int, size: int, number: int, now: datetime
) -> Batch | None:
    """The next `size` pending deliveries after `after_id`, marked sending (committed by
    the caller before anything is sent); None when none are left. Recipients who are
    no longer subscribed are removed from the audience instead."""
    rows = _next_pending(conn, send_id, after_id, size)
    if not rows:
        return None
    delivery_ids, subscriber_ids, emails, names, statuses = zip(*rows, strict=True)
    gone: list[int] = []
    if statuses.count("subscribed") != len(statuses):  # the usual case is checked in C
        gone = [i for i, s in zip(delivery_ids, statuses, strict=True) if s != "subscribed"]
    if gone:
        conn.execute(delete(deliveries).where(deliveries.c.id.in_(gone)))
        conn.execute(
            update(sends).where(sends.c.id == send_id).values(removed=sends.c.removed + len(gone))
        )
        claimed = ClaimedRows.of(
            Claimed(delivery_id, subscriber_id, email, name)
            for delivery_id, subscriber_id, email, name, status in rows
            if status == "subscribed"
        )
    else:  # the usual case: everyone still subscribed, the columns as they came
        claimed = ClaimedRows(delivery_ids, subscriber_ids, emails, names)
    if claimed:
        # The id range holds exactly the claimed rows now (the others were just removed),
        # and one range condition is far cheaper than a thousand bound ids.
        conn.execute(
            update(deliveries)
            .where(
                deliveries.c.send_id == send_id,
                deliveries.c.state == DeliveryState.PENDING,
                deliveries.c.id > after_id,
                deliveries.c.id <= rows[-1][0],
            )
            .values(
                state=DeliveryState.SENDING,
                attempts=deliveries.c.attempts + 1,
                batch=number,
                updated_at=now,
            )
        )
    return Batch(number=number, claimed=claimed, last_id=rows[-1][0])


def _next_pending(
    conn: Connection, send_id: int, after_id: int, size: int
) -> Sequence[Sequence[Any]]:
    """(delivery id, subscriber id, address, name, status) of the next `size` pending
    deliveries after `after_id`, in id order."""
    query = (
        select(
            deliveries.c.id,
            deliveries.c.subscriber_id,
            deliveries.c.email,
            subscribers.c.name,
            subscribers.c.status,
        )
        .join(subscribers, subscribers.c.id == deliveries.c.subscriber_id)
        .where(
            deliveries.c.send_id == send_id,
            deliveries.c.state == DeliveryState.PENDING,
            deliveries.c.id > after_id,
        )
        .order_by(deliveries.c.id)
        .limit(size)
    )
    result = conn.execute(query)
    # The driver's own tuples: these columns (integers, text) need no result processing,
    # and skipping SQLAlchemy's Row for a thousand rows per claim is a third of its cost.
    rows: Sequence[Sequence[Any]] = result.cursor.fetchall()
    result.close()
    return rows


def record_outcomes(
    conn: Connection, send_id: int, batch: int, outcomes: Outcomes, now: datetime
) -> None:
    """Write a batch's results: one UPDATE per distinct (state, provider id, error); the
    usual case, one answer for the whole batch, is one UPDATE by batch number."""
    whole_batch = len(outcomes) == 1
    for (state, provider_id, error), ids in outcomes.items():
        # The whole batch: its rows are those of the claimed id range still `sending`
        # under its number, found through the (send_id, id) index.
        which = (
            (deliveries.c.send_id == send_id)
            & deliveries.c.id.between(min(ids), max(ids))
            & (deliveries.c.batch == batch)
            if whole_batch and ids
            else deliveries.c.id.in_(ids)
        )
        conn.execute(
            update(deliveries)
            .where(which, deliveries.c.state == DeliveryState.SENDING)
            .values(
                state=state,
                provider_message_id=provider_id,
                last_error=error,
                updated_at=now,
            )
        )
    in_doubt = [
        i
        for (state, _, _), ids in outcomes.items()
        if state == DeliveryState.AMBIGUOUS
        for i in ids
    ]
    if in_doubt:
        # The answer was lost, but SendGrid's own events may already prove it went out.
        settle_deliveries(conn, in_doubt, now)


def counts(conn: Connection, send_id: int) -> dict[str, int]:
    rows = conn.execute(
        select(deliveries.c.state, func.count())
        .where(deliveries.c.send_id == send_id)
        .group_by(deliveries.c.state)
    )
    return {state: int(count) for state, count in rows}


def ambiguous_batches(conn: Connection, send_id: int) -> int:
    return int(
        conn.execute(
            select(func.count(func.distinct(deliveries.c.batch))).where(
                deliveries.c.send_id == send_id, deliveries.c.state == DeliveryState.AMBIGUOUS
            )
        ).scalar_one()
    )


def last_in_doubt_at(conn: Connection, send_id: int) -> datetime | None:
    """When the newest delivery now ambiguous (or still sending) was last touched: for a
    batch whose answer was lost, about when it went out."""
    value = conn.execute(
        select(func.max(deliveries.c.updated_at)).where(
            deliveries.c.send_id == send_id,
            deliveries.c.state.in_((DeliveryState.AMBIGUOUS, DeliveryState.SENDING)),
        )
    ).scalar_one()
    return value if value is None or isinstance(value, datetime) else None


def resolved_by_evidence(conn: Connection, send_id: int) -> int:
    """Deliveries of a send that were ambiguous until SendGrid's processed/delivered
    events proved them sent (newsletter.store.events)."""
    return int(
        conn.execute(
            select(func.count()).where(
                deliveries.c.send_id == send_id, deliveries.c.resolved_at.is_not(None)
            )
        ).scalar_one()
    )


def deliveries_in(conn: Connection, send_id: int, state: str, limit: int) -> list[tuple[str, str]]:
    """Some (email, last error) pairs of one state, for reports."""
    rows = conn.execute(
        select(deliveries.c.email, deliveries.c.last_error)
        .where(deliveries.c.send_id == send_id, deliveries.c.state == state)
        .order_by(deliveries.c.id)
        .limit(limit)
    )
    return [(row.email, row.last_error or "") for row in rows]
