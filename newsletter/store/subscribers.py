"""One subscriber at a time: look up, add to and remove from lists, change status.

Every function takes an open connection inside the caller's transaction and
changes a status only together with a status_history row saying who and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from newsletter.errors import SubscriberNotFoundError, SuppressedError
from newsletter.store.models import (
    SUPPRESSED,
    Consent,
    HistoryEntry,
    Membership,
    Source,
    Status,
    Subscriber,
    SubscriberDetails,
)
from newsletter.store.schema import memberships
from newsletter.store.schema import status_history as history
from newsletter.store.schema import subscribers as subs


class AddOutcome(StrEnum):
    ADDED = "added"
    ALREADY_MEMBER = "already a member"


@dataclass(frozen=True)
class StatusChange:
    """A status change asked for: what it was (None: a new address) and what it is now."""

    email: str
    before: Status | None
    after: Status

    @property
    def changed(self) -> bool:
        return self.before != self.after


def to_subscriber(row: Row[Any]) -> Subscriber:
    """A subscribers table row as a Subscriber."""
    values = row._mapping
    return Subscriber(
        id=values["id"],
        email=values["email"],
        name=values["name"],
        attributes=dict(values["attributes"] or {}),
        status=Status(values["status"]),
        status_changed_at=values["status_changed_at"],
        status_reason=values["status_reason"],
        created_at=values["created_at"],
        updated_at=values["updated_at"],
        paused_until=values.get("paused_until"),
    )


def find(conn: Connection, email: str) -> Subscriber | None:
    """The subscriber with this normalised address, if any."""
    row = conn.execute(select(subs).where(subs.c.email == email)).first()
    return to_subscriber(row) if row else None


def find_by_id(conn: Connection, subscriber_id: int) -> Subscriber | None:
    row = conn.execute(select(subs).where(subs.c.id == subscriber_id)).first()
    return to_subscriber(row) if row else None


def require(conn: Connection, email: str) -> Subscriber:
    """The subscriber with this address; SubscriberNotFoundError when there is none."""
    found = find(conn, email)
    if found is None:
        raise SubscriberNotFoundError(f"{email}: no such subscriber in the store")
    return found


def create(
    conn: Connection,
    email: str,
    *,
    status: Status,
    reason: str,
    source: Source,
    now: datetime,
    name: str | None = None,
    attributes: Mapping[str, str] | None = None,
) -> int:
    """Insert a subscriber and the history row of their first status; their id."""
    new_id: int = conn.execute(
        insert(subs)
        .values(
            email=email,
            name=name,
            attributes=dict(attributes or {}),
            status=status.value,
            status_changed_at=now,
            status_reason=reason,
            created_at=now,
            updated_at=now,
        )
        .returning(subs.c.id)
    ).scalar_one()
    _record(conn, new_id, None, status, reason, source, now)
    return new_id


def add_to_list(
    conn: Connection,
    email: str,
    list_name: str,
    *,
    name: str | None,
    attributes: Mapping[str, str] | None,
    now: datetime,
) -> AddOutcome:
    """Add an address to a list, creating the subscriber if new; suppression refuses."""
    found = find(conn, email)
    if found is None:
        reason = f"added to list {list_name}"
        new_id = create(
            conn,
            email,
            status=Status.SUBSCRIBED,
            reason=reason,
            source=Source.CLI,
            now=now,
            name=name,
            attributes=attributes,
        )
        return _join(conn, new_id, list_name, now)
    if found.suppressed:
        raise SuppressedError(
            f"{email} is {found.status} (since {found.status_changed_at:%Y-%m-%d}"
            f"{': ' + found.status_reason if found.status_reason else ''}); not added",
            hint="only if they asked to receive it again: newsletter subscribers resubscribe "
            f"{email}",
        )
    _update_details(conn, found, name, attributes, now)
    return _join(conn, found.id, list_name, now)


def _update_details(
    conn: Connection,
    found: Subscriber,
    name: str | None,
    attributes: Mapping[str, str] | None,
    now: datetime,
) -> None:
    merged = {**found.attributes, **(attributes or {})}
    if (name is None or name == found.name) and merged == found.attributes:
        return
    conn.execute(
        update(subs)
        .where(subs.c.id == found.id)
        .values(name=name or found.name, attributes=merged, updated_at=now)
    )


def join_list(conn: Connection, subscriber_id: int, list_name: str, now: datetime) -> AddOutcome:
    """Make a subscriber a member of a list (again); ALREADY_MEMBER if they are one."""
    return _join(conn, subscriber_id, list_name, now)


def _join(conn: Connection, subscriber_id: int, list_name: str, now: datetime) -> AddOutcome:
    key = (memberships.c.list_name == list_name, memberships.c.subscriber_id == subscriber_id)
    row = conn.execute(select(memberships.c.removed_at).where(*key)).first()
    if row is None:
        conn.execute(
            insert(memberships).values(
                list_name=list_name, subscriber_id=subscriber_id, added_at=now
            )
        )
        return AddOutcome.ADDED
    if row.removed_at is None:
        return AddOutcome.ALREADY_MEMBER
    conn.execute(update(memberships).where(*key).values(removed_at=None, added_at=now))
    return AddOutcome.ADDED


def remove_from_list(conn: Connection, email: str, list_name: str, now: datetime) -> None:
    """End an address's membership of a list; its status and other lists are untouched."""
    found = require(conn, email)
    result = conn.execute(
        update(memberships)
        .where(
            memberships.c.list_name == list_name,
            memberships.c.subscriber_id == found.id,
            memberships.c.removed_at.is_(None),
        )
        .values(removed_at=now)
    )
    if result.rowcount == 0:
        raise SubscriberNotFoundError(f"{email} is not on the list {list_name}")


def set_status(
    conn: Connection,
    email: str,
    status: Status,
    *,
    reason: str | None,
    source: Source,
    now: datetime,
    create_missing: bool,
) -> StatusChange:
    """Change an address's global status, recording it; optionally for a new address.

    An unknown address that unsubscribes, bounces or complains is stored anyway,
    as a suppression: a later import of it must not subscribe it."""
    found = find(conn, email)
    if found is None:
        if not create_missing:
            raise SubscriberNotFoundError(f"{email}: no such subscriber in the store")
        create(conn, email, status=status, reason=reason or "", source=source, now=now)
        return StatusChange(email, None, status)
    if found.status != status:
        conn.execute(
            update(subs)
            .where(subs.c.id == found.id)
            .values(
                status=status.value, status_changed_at=now, status_reason=reason, updated_at=now
            )
        )
        _record(conn, found.id, found.status, status, reason, source, now)
    return StatusChange(email, found.status, status)


def unsubscribe(
    conn: Connection, email: str, *, reason: str | None, source: Source, now: datetime
) -> StatusChange:
    """Stop all mail to an address; already suppressed (any way) is left as it is."""
    found = find(conn, email)
    if found is not None and found.status in SUPPRESSED:
        return StatusChange(email, found.status, found.status)
    return set_status(
        conn, email, Status.UNSUBSCRIBED, reason=reason, source=source, now=now, create_missing=True
    )


def resubscribe(
    conn: Connection, email: str, *, reason: str | None, source: Source, now: datetime
) -> StatusChange:
    """Lift a suppression: the one way an address returns to `subscribed`."""
    require(conn, email)
    return set_status(
        conn, email, Status.SUBSCRIBED, reason=reason, source=source, now=now, create_missing=False
    )


def _record(
    conn: Connection,
    subscriber_id: int,
    before: Status | None,
    after: Status,
    reason: str | None,
    source: Source,
    now: datetime,
) -> None:
    conn.execute(
        insert(history).values(
            subscriber_id=subscriber_id,
            from_status=before.value if before else None,
            to_status=after.value,
            reason=reason,
            source=source.value,
            at=now,
        )
    )


def details(conn: Connection, email: str) -> SubscriberDetails:
    """A subscriber with every list they were ever on and their whole status history."""
    found = require(conn, email)
    lists = conn.execute(
        select(memberships)
        .where(memberships.c.subscriber_id == found.id)
        .order_by(memberships.c.list_name)
    )
    changes = conn.execute(
        select(history).where(history.c.subscriber_id == found.id).order_by(history.c.id)
    )
    return SubscriberDetails(
        consent=consent(conn, found.id),
        subscriber=found,
        memberships=tuple(Membership(r.list_name, r.added_at, r.removed_at) for r in lists),
        history=tuple(
            HistoryEntry(
                from_status=Status(r.from_status) if r.from_status else None,
                to_status=Status(r.to_status),
                reason=r.reason,
                source=r.source,
                at=r.at,
            )
            for r in changes
        ),
    )


def consent(conn: Connection, subscriber_id: int) -> Consent | None:
    """The consent record of a subscriber who confirmed a sign-up; None for the others."""
    row = conn.execute(
        select(
            subs.c.consent_posted_at,
            subs.c.consent_confirmed_at,
            subs.c.consent_text_hash,
            subs.c.consent_ip,
        ).where(subs.c.id == subscriber_id)
    ).first()
    if row is None or row.consent_confirmed_at is None:
        return None
    return Consent(
        posted_at=row.consent_posted_at,
        confirmed_at=row.consent_confirmed_at,
        text_hash=row.consent_text_hash,
        ip=row.consent_ip,
    )
