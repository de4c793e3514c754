"""What the provider tells us back: suppressions, delivery events, seen webhook events.

Functions on an open connection, each called inside one transaction by
`FeedbackRepository` (`store.feedback`). Everything is set-based (a few statements
per batch, not a few per address), because one SendGrid webhook request may
carry ten thousand events and must be answered within seconds.

Two rules hold whatever the input:

- a suppression only ever moves an address from `subscribed` to a suppressed
  status (or stores an unknown address as suppressed); nothing here resubscribes;
- an event id already applied is never applied again (SendGrid retries for days).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection, bindparam, delete, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from newsletter.addresses import InvalidAddressError, normalise_email
from newsletter.store.models import Source, Status
from newsletter.store.schema import UtcDateTime, deliveries, sends, webhook_events
from newsletter.store.schema import status_history as history
from newsletter.store.schema import subscribers as subs

CHUNK = 500  # rows per IN (...) list or multi-row INSERT: well inside every bind limit
KEEP_EVENT_IDS = timedelta(days=7)  # SendGrid stops retrying long before this
MAX_EVENT_ID = 255

T = TypeVar("T")


# Which of some normalised addresses were erased (newsletter.store.erasures.erased_among).
Erased = Callable[[Connection, Sequence[str]], set[str]]


@dataclass(frozen=True)
class Suppression:
    """Stop mailing `email`: bounced, complained or unsubscribed, and why."""

    email: str
    status: Status
    reason: str


@dataclass(frozen=True)
class DeliveryEvent:
    """A provider event about one message of one send (found by issue, list, subscriber)."""

    issue_id: str
    list_name: str
    subscriber_id: int | None
    email: str
    event: str  # delivered | deferred | bounce | blocked | dropped
    detail: str | None
    at: datetime


@dataclass(frozen=True)
class ProviderEvent:
    """One webhook event, reduced to what it changes in the store."""

    event_id: str
    event: str
    suppression: Suppression | None = None
    delivery: DeliveryEvent | None = None


@dataclass(frozen=True)
class SuppressReport:
    """What recording a set of suppressions did."""

    seen: int = 0  # distinct valid addresses
    suppressed: int = 0  # were subscribed (or unknown) and are now suppressed
    already: int = 0  # were suppressed already: left as they were
    invalid: int = 0  # not an email address: skipped

    def __add__(self, other: SuppressReport) -> SuppressReport:
        return SuppressReport(
            self.seen + other.seen,
            self.suppressed + other.suppressed,
            self.already + other.already,
            self.invalid + other.invalid,
        )


@dataclass(frozen=True)
class EventsReport:
    """What one webhook request did."""

    received: int
    duplicates: int
    suppressions: SuppressReport
    deliveries_updated: int


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --------------------------------------------------------------------------- suppressions


def _normalised(entries: Iterable[Suppression]) -> tuple[dict[str, Suppression], int]:
    """The first suppression per normalised address, and how many addresses were invalid."""
    wanted: dict[str, Suppression] = {}
    invalid = 0
    for entry in entries:
        try:
            email = normalise_email(entry.email)
        except InvalidAddressError:
            invalid += 1
            continue
        wanted.setdefault(email, Suppression(email, entry.status, entry.reason))
    return wanted, invalid


def _current(conn: Connection, emails: Sequence[str]) -> dict[str, tuple[int, str]]:
    found: dict[str, tuple[int, str]] = {}
    for part in chunks(emails):
        rows = conn.execute(
            select(subs.c.id, subs.c.email, subs.c.status).where(subs.c.email.in_(part))
        )
        found.update({row.email: (row.id, row.status) for row in rows})
    return found


def _history_rows(
    ids: dict[str, int],
    entries: dict[str, Suppression],
    before: str | None,
    source: Source,
    now: datetime,
) -> list[dict[str, Any]]:
    return [
        {
            "subscriber_id": ids[email],
            "from_status": before,
            "to_status": entries[email].status.value,
            "reason": entries[email].reason,
            "source": source.value,
            "at": now,
        }
        for email in ids
    ]


def _suppress_known(
    conn: Connection,
    targets: dict[str, int],
    entries: dict[str, Suppression],
    source: Source,
    now: datetime,
) -> None:
    # The status guard keeps a concurrent resubscribe or suppression from being overwritten.
    statement = (
        update(subs)
        .where(subs.c.id == bindparam("b_id"), subs.c.status == Status.SUBSCRIBED.value)
        .values(
            status=bindparam("b_status"),
            status_reason=bindparam("b_reason"),
            status_changed_at=now,
            updated_at=now,
        )
    )
    conn.execute(
        statement,
        [
            {
                "b_id": sid,
                "b_status": entries[email].status.value,
                "b_reason": entries[email].reason,
            }
            for email, sid in targets.items()
        ],
    )
    conn.execute(
        insert(history), _history_rows(targets, entries, Status.SUBSCRIBED.value, source, now)
    )


def _store_unknown(
    conn: Connection,
    emails: list[str],
    entries: dict[str, Suppression],
    source: Source,
    now: datetime,
) -> None:
    """Unknown addresses are kept as suppressed, so a later import cannot subscribe them."""
    conn.execute(
        insert(subs),
        [
            {
                "email": email,
                "name": None,
                "attributes": {},
                "status": entries[email].status.value,
                "status_changed_at": now,
                "status_reason": entries[email].reason,
                "created_at": now,
                "updated_at": now,
            }
            for email in emails
        ],
    )
    ids = {email: found[0] for email, found in _current(conn, emails).items()}
    conn.execute(insert(history), _history_rows(ids, entries, None, source, now))


def suppress_many(
    conn: Connection,
    entries: Iterable[Suppression],
    *,
    source: Source,
    now: datetime,
    erased: Erased | None = None,
) -> SuppressReport:
    """Record suppressions: subscribed and unknown addresses become suppressed; addresses
    suppressed already keep their first reason. An unknown address that `erased` names
    (see newsletter.store.erasures) is suppressed already and is not stored again."""
    wanted, invalid = _normalised(entries)
    current = _current(conn, list(wanted))
    known = {e: sid for e, (sid, status) in current.items() if status == Status.SUBSCRIBED.value}
    unknown = [email for email in wanted if email not in current]
    if unknown and erased is not None:
        gone = erased(conn, unknown)
        unknown = [email for email in unknown if email not in gone]
    if known:
        _suppress_known(conn, known, wanted, source, now)
    if unknown:
        _store_unknown(conn, unknown, wanted, source, now)
    changed = len(known) + len(unknown)
    return SuppressReport(len(wanted), changed, len(wanted) - changed, invalid)


# --------------------------------------------------------------------------- webhook events


def event_key(event_id: str) -> str:
    """The stored form of an event id: itself, or a digest when too long for the column."""
    if len(event_id) <= MAX_EVENT_ID:
        return event_id
    return "sha256:" + hashlib.sha256(event_id.encode("utf-8")).hexdigest()


def _insert_ignore(conn: Connection) -> Any:
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    return dialect.insert(webhook_events)


def claim_new_events(conn: Connection, events: Sequence[ProviderEvent], now: datetime) -> set[str]:
    """Record the events' ids; the keys of those never seen before.

    INSERT … ON CONFLICT DO NOTHING RETURNING reports exactly the rows this
    transaction added, so two deliveries of the same event racing on PostgreSQL
    still apply it once."""
    rows = {event_key(e.event_id): e.event[:32] for e in events}
    added: set[str] = set()
    items = list(rows.items())
    for part in chunks(items):
        statement = (
            _insert_ignore(conn)
            .values([{"event_id": k, "event": name, "received_at": now} for k, name in part])
            .on_conflict_do_nothing(index_elements=["event_id"])
            .returning(webhook_events.c.event_id)
        )
        added.update(conn.execute(statement).scalars())
    return added


def prune_events(conn: Connection, now: datetime) -> None:
    conn.execute(delete(webhook_events).where(webhook_events.c.received_at < now - KEEP_EVENT_IDS))


def first_of_each(events: Sequence[ProviderEvent], new: set[str]) -> list[ProviderEvent]:
    """The events to apply: new ones only, each id once (a batch may repeat an event)."""
    chosen: list[ProviderEvent] = []
    taken: set[str] = set()
    for event in events:
        key = event_key(event.event_id)
        if key in new and key not in taken:
            taken.add(key)
            chosen.append(event)
    return chosen


# --------------------------------------------------------------------------- deliveries


def _send_of(issue: Any, list_name: Any) -> Any:
    return (
        select(sends.c.id)
        .where(sends.c.issue_id == issue, sends.c.list_name == list_name)
        .scalar_subquery()
    )


def _delivery_statement(by_subscriber: bool) -> Any:
    who = (
        deliveries.c.subscriber_id == bindparam("b_sid")
        if by_subscriber
        else deliveries.c.email == bindparam("b_email")
    )
    at = bindparam("b_at", type_=UtcDateTime())
    # Events can arrive out of order: an older event never overwrites a newer one.
    return (
        update(deliveries)
        .where(
            deliveries.c.send_id == _send_of(bindparam("b_issue"), bindparam("b_list")),
            who,
            or_(deliveries.c.provider_event_at.is_(None), deliveries.c.provider_event_at <= at),
        )
        .values(
            provider_event=bindparam("b_event"),
            provider_event_at=at,
            provider_detail=bindparam("b_detail"),
        )
    )


def _delivery_params(update_: DeliveryEvent) -> dict[str, Any]:
    return {
        "b_issue": update_.issue_id,
        "b_list": update_.list_name,
        "b_sid": update_.subscriber_id,
        "b_email": update_.email,
        "b_event": update_.event[:32],
        "b_detail": (update_.detail or None) and update_.detail[:2000],
        "b_at": update_.at,
    }


def update_deliveries(conn: Connection, updates: Sequence[DeliveryEvent]) -> int:
    """Set each matching delivery's last provider event; how many rows changed."""
    ordered = sorted(updates, key=lambda u: u.at)
    changed = 0
    for by_subscriber in (True, False):
        params = [
            _delivery_params(u) for u in ordered if (u.subscriber_id is not None) == by_subscriber
        ]
        if params:
            result = conn.execute(_delivery_statement(by_subscriber), params)
            changed += max(int(result.rowcount or 0), 0)
    return changed


def apply_events(
    conn: Connection,
    events: Sequence[ProviderEvent],
    *,
    source: Source,
    now: datetime,
    erased: Erased | None = None,
) -> EventsReport:
    """Apply a webhook request's events once each: suppressions, then delivery records."""
    fresh = first_of_each(events, claim_new_events(conn, events, now))
    suppressions = suppress_many(
        conn,
        [e.suppression for e in fresh if e.suppression],
        source=source,
        now=now,
        erased=erased,
    )
    updated = update_deliveries(conn, [e.delivery for e in fresh if e.delivery])
    prune_events(conn, now)
    return EventsReport(
        received=len(events),
        duplicates=len(events) - len(fresh),
        suppressions=suppressions,
        deliveries_updated=updated,
    )


def delivery_event(conn: Connection, issue_id: str, list_name: str, subscriber_id: int) -> Any:
    """The provider event columns of one delivery (for reports and tests), or None."""
    return conn.execute(
        select(
            deliveries.c.state,
            deliveries.c.provider_event,
            deliveries.c.provider_event_at,
            deliveries.c.provider_detail,
        ).where(
            deliveries.c.send_id == _send_of(issue_id, list_name),
            deliveries.c.subscriber_id == subscriber_id,
        )
    ).first()
