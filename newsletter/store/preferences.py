"""A reader's own choices, and their erasure: functions on an open connection.

Called inside one transaction by `SubscriberRepository`. Every change is recorded in
the status history (a list change or a pause keeps the status, so its row has the
same `from_status` and `to_status` and says what changed in `reason`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, or_, select, update

from newsletter.errors import SubscriberNotFoundError, SuppressedError
from newsletter.secrets import Secret
from newsletter.store import erasures
from newsletter.store.models import Source, Status, Subscriber
from newsletter.store.schema import address_changes, deliveries, memberships, sends, signups
from newsletter.store.schema import status_history as history
from newsletter.store.schema import subscribers as subs
from newsletter.store.subscribers import details, find, find_by_id

# What an erased subscriber's row keeps: its id (deliveries and tokens name it) under an
# address that is no one's (RFC 2606 `.invalid` can never receive mail).
ERASED_DOMAIN = "erased.invalid"
ERASED_REASON = "personal data erased on request"


def was_erased(subscriber: Subscriber) -> bool:
    """Whether this row is what `forget` left of a subscriber (no one's address)."""
    return subscriber.email.endswith("@" + ERASED_DOMAIN)


def erased_placeholder(subscriber_id: int) -> str:
    """The address an erased subscriber's row is left with: no byte of the real one."""
    return f"erased-{subscriber_id}@{ERASED_DOMAIN}"


@dataclass(frozen=True)
class AddressChange:
    """A pending change of address: the request's id (its confirmation link names it)."""

    id: int
    subscriber_id: int
    new_email: str
    requested_at: datetime
    expires_at: datetime


def _note(conn: Connection, found: Subscriber, reason: str, source: Source, now: datetime) -> None:
    """A history row for a change that keeps the status (lists, pause, address)."""
    conn.execute(
        insert(history).values(
            subscriber_id=found.id,
            from_status=found.status.value,
            to_status=found.status.value,
            reason=reason,
            source=source.value,
            at=now,
        )
    )
    conn.execute(update(subs).where(subs.c.id == found.id).values(updated_at=now))


def _require(conn: Connection, subscriber_id: int) -> Subscriber:
    found = find_by_id(conn, subscriber_id)
    if found is None:
        raise SubscriberNotFoundError("no such subscriber in the store")
    return found


def active_lists(conn: Connection, subscriber_id: int) -> set[str]:
    """The lists the subscriber is a current member of."""
    rows = conn.execute(
        select(memberships.c.list_name).where(
            memberships.c.subscriber_id == subscriber_id, memberships.c.removed_at.is_(None)
        )
    )
    return set(rows.scalars())


def choose_lists(
    conn: Connection,
    subscriber_id: int,
    wanted: set[str],
    offered: set[str],
    *,
    source: Source,
    now: datetime,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Make the subscriber a member of exactly `wanted` among `offered` (the public lists;
    other memberships are untouched); the lists joined and left. A suppressed reader
    changes no list here (SuppressedError): only a confirmed sign-up lifts that."""
    found = _require(conn, subscriber_id)
    if found.suppressed and wanted:
        raise SuppressedError("this address receives no mail; subscribe again first")
    current = active_lists(conn, subscriber_id) & offered
    joined = tuple(sorted((wanted & offered) - current))
    left = tuple(sorted(current - wanted))
    for name in joined:
        key = (memberships.c.list_name == name, memberships.c.subscriber_id == subscriber_id)
        if conn.execute(select(memberships.c.list_name).where(*key)).first() is None:
            conn.execute(
                insert(memberships).values(
                    list_name=name, subscriber_id=subscriber_id, added_at=now
                )
            )
        else:
            conn.execute(update(memberships).where(*key).values(removed_at=None, added_at=now))
    if left:
        conn.execute(
            update(memberships)
            .where(
                memberships.c.subscriber_id == subscriber_id,
                memberships.c.list_name.in_(left),
                memberships.c.removed_at.is_(None),
            )
            .values(removed_at=now)
        )
    if joined or left:
        parts = [f"joined {', '.join(joined)}"] if joined else []
        parts += [f"left {', '.join(left)}"] if left else []
        _note(conn, found, "lists: " + "; ".join(parts), source, now)
    return joined, left


def pause(
    conn: Connection,
    subscriber_id: int,
    until: datetime | None,
    *,
    source: Source,
    now: datetime,
) -> Subscriber:
    """Pause the subscriber's mail until `until` (None: resume now)."""
    found = _require(conn, subscriber_id)
    conn.execute(update(subs).where(subs.c.id == subscriber_id).values(paused_until=until))
    reason = f"paused until {until:%Y-%m-%d}" if until else "pause ended"
    _note(conn, found, reason, source, now)
    return _require(conn, subscriber_id)


def request_address_change(
    conn: Connection,
    subscriber_id: int,
    new_email: str,
    *,
    now: datetime,
    expires_at: datetime,
    source: Source,
) -> AddressChange:
    """Record a pending change to `new_email` (normalised), replacing any earlier request
    (whose link then no longer works)."""
    found = _require(conn, subscriber_id)
    conn.execute(delete(address_changes).where(address_changes.c.subscriber_id == subscriber_id))
    change_id: int = conn.execute(
        insert(address_changes)
        .values(
            subscriber_id=subscriber_id,
            new_email=new_email,
            requested_at=now,
            expires_at=expires_at,
        )
        .returning(address_changes.c.id)
    ).scalar_one()
    # The history says that a change was asked for, never to which address.
    _note(conn, found, "change of address requested; waiting for the new address", source, now)
    return AddressChange(change_id, subscriber_id, new_email, now, expires_at)


def pending_address_change(conn: Connection, subscriber_id: int) -> AddressChange | None:
    """The subscriber's pending change of address, if any."""
    row = conn.execute(
        select(address_changes.c.id).where(address_changes.c.subscriber_id == subscriber_id)
    ).first()
    return None if row is None else find_address_change(conn, row.id)


def cancel_address_change(conn: Connection, change_id: int) -> None:
    conn.execute(delete(address_changes).where(address_changes.c.id == change_id))


def find_address_change(conn: Connection, change_id: int) -> AddressChange | None:
    row = conn.execute(select(address_changes).where(address_changes.c.id == change_id)).first()
    if row is None:
        return None
    return AddressChange(row.id, row.subscriber_id, row.new_email, row.requested_at, row.expires_at)


def confirm_address_change(
    conn: Connection, change_id: int, *, source: Source, now: datetime
) -> Subscriber | None:
    """Replace the subscriber's address by the confirmed one; None when the request is
    gone (confirmed already, replaced, or erased). SuppressedError when the new address
    belongs to another subscriber (it cannot be two readers' address)."""
    change = find_address_change(conn, change_id)
    if change is None or change.expires_at <= now:
        return None
    found = _require(conn, change.subscriber_id)
    other = find(conn, change.new_email)
    if other is not None and other.id != found.id:
        raise SuppressedError("that address is already stored for another reader")
    conn.execute(
        update(subs).where(subs.c.id == found.id).values(email=change.new_email, updated_at=now)
    )
    conn.execute(delete(address_changes).where(address_changes.c.subscriber_id == found.id))
    _note(conn, found, "address changed, confirmed from the new address", source, now)
    return _require(conn, found.id)


def forget(
    conn: Connection, subscriber_id: int, secret: Secret, *, source: Source, now: datetime
) -> None:
    """Erase a subscriber's personal data; keep only the keyed hash of the address.

    The row stays under a placeholder address (deliveries and the ledger name it by id,
    and its pending deliveries are then dropped as unsubscribed), with no name, no
    attributes, no status reason and no pause; every memberships row and pending change
    of address goes; the status history keeps its dates and statuses but no text; each
    delivery keeps its state but not the address, error or provider detail; the consent
    record (times, text hash, IP) is cleared and every sign-up of the address (pending or
    confirmed, found by the same keyed hash that is kept) is deleted."""
    found = _require(conn, subscriber_id)
    erasures.record(conn, found.email, secret, now)
    placeholder = erased_placeholder(subscriber_id)
    conn.execute(
        delete(signups).where(
            or_(
                signups.c.address_hash == erasures.address_hash(found.email, secret),
                signups.c.subscriber_id == subscriber_id,
            )
        )
    )
    conn.execute(delete(memberships).where(memberships.c.subscriber_id == subscriber_id))
    conn.execute(delete(address_changes).where(address_changes.c.subscriber_id == subscriber_id))
    conn.execute(
        update(history).where(history.c.subscriber_id == subscriber_id).values(reason=None)
    )
    conn.execute(
        update(deliveries)
        .where(deliveries.c.subscriber_id == subscriber_id)
        .values(email=placeholder, last_error=None, provider_detail=None)
    )
    conn.execute(
        update(subs)
        .where(subs.c.id == subscriber_id)
        .values(
            email=placeholder,
            name=None,
            attributes={},
            status=Status.UNSUBSCRIBED.value,
            status_changed_at=now,
            status_reason=ERASED_REASON,
            paused_until=None,
            consent_posted_at=None,
            consent_confirmed_at=None,
            consent_text_hash=None,
            consent_ip=None,
            updated_at=now,
        )
    )
    conn.execute(
        insert(history).values(
            subscriber_id=subscriber_id,
            from_status=found.status.value,
            to_status=Status.UNSUBSCRIBED.value,
            reason=ERASED_REASON,
            source=source.value,
            at=now,
        )
    )


def person_data(conn: Connection, email: str) -> dict[str, Any]:
    """Everything stored about one address (GDPR art. 15), as JSON-ready values:
    the subscriber row, the consent record of a sign-up, every list membership, the
    status history, each delivery (issue, list, state, provider event), any pending
    change of address and any sign-up of the address still waiting for its confirmation
    (its lists, times and recorded IP)."""
    found = details(conn, email)
    subscriber = found.subscriber
    sent = conn.execute(
        select(
            sends.c.issue_id,
            sends.c.list_name,
            deliveries.c.email,
            deliveries.c.state,
            deliveries.c.attempts,
            deliveries.c.updated_at,
            deliveries.c.provider_event,
            deliveries.c.provider_event_at,
            deliveries.c.provider_detail,
            deliveries.c.last_error,
        )
        .join(sends, sends.c.id == deliveries.c.send_id)
        .where(deliveries.c.subscriber_id == subscriber.id)
        .order_by(deliveries.c.id)
    )
    change = conn.execute(
        select(address_changes).where(address_changes.c.subscriber_id == subscriber.id)
    ).first()
    agreed = found.consent
    return {
        "subscriber": {
            "id": subscriber.id,
            "email": subscriber.email,
            "name": subscriber.name,
            "attributes": subscriber.attributes,
            "status": subscriber.status.value,
            "status_changed_at": _time(subscriber.status_changed_at),
            "status_reason": subscriber.status_reason,
            "paused_until": _time(subscriber.paused_until),
            "created_at": _time(subscriber.created_at),
            "updated_at": _time(subscriber.updated_at),
        },
        "consent": None
        if agreed is None
        else {
            "form_posted_at": _time(agreed.posted_at),
            "confirmed_at": _time(agreed.confirmed_at),
            "consent_text_sha256": agreed.text_hash,
            "ip": agreed.ip,
        },
        "lists": [
            {
                "list": m.list_name,
                "added_at": _time(m.added_at),
                "removed_at": _time(m.removed_at),
            }
            for m in found.memberships
        ],
        "history": [
            {
                "from": h.from_status.value if h.from_status else None,
                "to": h.to_status.value,
                "reason": h.reason,
                "source": h.source,
                "at": _time(h.at),
            }
            for h in found.history
        ],
        "deliveries": [
            {
                "issue": row.issue_id,
                "list": row.list_name,
                "email": row.email,
                "state": row.state,
                "attempts": row.attempts,
                "updated_at": _time(row.updated_at),
                "provider_event": row.provider_event,
                "provider_event_at": _time(row.provider_event_at),
                "provider_detail": row.provider_detail,
                "last_error": row.last_error,
            }
            for row in sent
        ],
        "pending_address_change": None
        if change is None
        else {
            "new_email": change.new_email,
            "requested_at": _time(change.requested_at),
            "expires_at": _time(change.expires_at),
        },
        "pending_signups": pending_signups(conn, subscriber.email),
    }


def pending_signups(conn: Connection, email: str) -> list[dict[str, Any]]:
    """The sign-ups of the normalised address `email` still waiting for their
    confirmation, JSON-ready (a confirmed sign-up keeps no address, so none is found)."""
    rows = conn.execute(
        select(signups)
        .where(signups.c.email == email, signups.c.confirmed_at.is_(None))
        .order_by(signups.c.id)
    )
    return [
        {
            "email": row.email,
            "name": row.name,
            "lists": list(row.lists),
            "posted_at": _time(row.posted_at),
            "confirmation_sent_at": _time(row.confirmation_sent_at),
            "consent_text_sha256": row.consent_text_hash,
            "ip": row.consent_ip,
        }
        for row in rows
    ]


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
