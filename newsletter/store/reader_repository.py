"""Readers' own sign-ups: pending double opt-in, confirmation, consent (`store.readers`).

A sign-up waits in `signups` until its owner confirms it from the email; only then
does the address become (or return to being) a subscriber, with its consent record.
An address is found by `address_hash`, the HMAC-SHA256 of the normalised address
under the signing secret (the caller computes it), so the confirmation-email rate
limit (`CONFIRMATION_INTERVAL`) holds across a sign-up's confirmation and purge.
Each method is one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from newsletter.store import subscribers as ops
from newsletter.store.database import Database
from newsletter.store.models import (
    Confirmation,
    ConfirmState,
    PendingSignup,
    SignupRecorded,
    Source,
    Status,
)
from newsletter.store.schema import signups
from newsletter.store.schema import subscribers as subs

CONFIRMATION_INTERVAL = timedelta(hours=1)  # at most one confirmation email per address
CONFIRMED_REASON = "confirmed sign-up (double opt-in)"


def _signup(row: Any) -> PendingSignup:
    values = row._mapping
    return PendingSignup(
        id=values["id"],
        email=values["email"],
        name=values["name"],
        lists=tuple(values["lists"] or ()),
        consent_text_hash=values["consent_text_hash"],
        consent_ip=values["consent_ip"],
        posted_at=values["posted_at"],
        confirmation_sent_at=values["confirmation_sent_at"],
        confirmed_at=values["confirmed_at"],
        subscriber_id=values["subscriber_id"],
    )


def _pending_row(conn: Connection, address_hash: str) -> Any:
    return conn.execute(
        select(signups)
        .where(signups.c.address_hash == address_hash, signups.c.confirmed_at.is_(None))
        .with_for_update()
    ).first()


class ReaderRepository:
    """Pending sign-ups, their confirmation and the consent record (`store.readers`)."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def record_signup(
        self,
        *,
        email: str,
        address_hash: str,
        name: str | None,
        lists: Sequence[str],
        consent_text_hash: str,
        consent_ip: str | None,
    ) -> SignupRecorded:
        """Store (or refresh) the address's one pending sign-up, dated now, and claim
        the right to send it a confirmation email: granted unless one went to the same
        address within the last hour. `email` must be normalised and `lists` checked by
        the caller. Concurrent posts of one address share one row (a unique index)."""
        now = self._db.clock.now()
        values = {
            "email": email,
            "name": name,
            "lists": list(lists),
            "consent_text_hash": consent_text_hash,
            "consent_ip": consent_ip,
            "posted_at": now,
        }
        with self._db.write() as conn:
            row = _pending_row(conn, address_hash)
            if row is None:
                dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
                conn.execute(
                    dialect.insert(signups)
                    .values(address_hash=address_hash, **values)
                    .on_conflict_do_nothing(
                        index_elements=["address_hash"],
                        index_where=signups.c.confirmed_at.is_(None),
                    )
                )
                row = _pending_row(conn, address_hash)
            conn.execute(update(signups).where(signups.c.id == row.id).values(**values))
            last_sent = conn.execute(
                select(func.max(signups.c.confirmation_sent_at)).where(
                    signups.c.address_hash == address_hash
                )
            ).scalar_one()
            send = last_sent is None or _aware(last_sent) <= now - CONFIRMATION_INTERVAL
            if send:
                conn.execute(
                    update(signups).where(signups.c.id == row.id).values(confirmation_sent_at=now)
                )
            stored = conn.execute(select(signups).where(signups.c.id == row.id)).one()
        return SignupRecorded(_signup(stored), send_confirmation=send)

    def get(self, signup_id: int) -> PendingSignup | None:
        """A sign-up by id (pending or confirmed), or None if purged or never made."""
        with self._db.read() as conn:
            row = conn.execute(select(signups).where(signups.c.id == signup_id)).first()
        return _signup(row) if row else None

    def confirm(self, signup_id: int) -> Confirmation | None:
        """Confirm a pending sign-up: the address becomes subscribed to its lists (created
        if new; an unsubscribe or bounce is lifted, because its owner has just confirmed
        by email), its consent record is written, every change goes into the status
        history, and the sign-up keeps no address any more. Confirming again changes
        nothing (ALREADY_CONFIRMED). An address that complained meanwhile stays
        suppressed (REFUSED). None when there is no such sign-up (purged)."""
        now = self._db.clock.now()
        with self._db.write() as conn:
            row = conn.execute(
                select(signups).where(signups.c.id == signup_id).with_for_update()
            ).first()
            if row is None:
                return None
            pending = _signup(row)
            if pending.confirmed or pending.email is None:
                found = ops.find_by_id(conn, pending.subscriber_id or 0)
                return Confirmation(
                    ConfirmState.ALREADY_CONFIRMED, found, pending.lists, first_time=False
                )
            return _confirm(conn, pending, pending.email, now)

    def purge_pending(self, older_than: datetime) -> int:
        """Delete the sign-ups posted before `older_than`: unconfirmed ones (the number
        returned) and confirmed ones (which hold no address any more, only the hash the
        hourly limit needs)."""
        with self._db.write() as conn:
            unconfirmed = conn.execute(
                delete(signups).where(
                    signups.c.posted_at < older_than, signups.c.confirmed_at.is_(None)
                )
            ).rowcount
            conn.execute(delete(signups).where(signups.c.posted_at < older_than))
        return int(unconfirmed)

    def pending_count(self) -> int:
        """How many sign-ups wait for their confirmation."""
        with self._db.read() as conn:
            return int(
                conn.execute(
                    select(func.count()).where(signups.c.confirmed_at.is_(None))
                ).scalar_one()
            )

    def forget(self, address_hash: str) -> int:
        """Delete every sign-up of an address (for erasure); how many rows went."""
        with self._db.write() as conn:
            return int(
                conn.execute(delete(signups).where(signups.c.address_hash == address_hash)).rowcount
            )


def _aware(value: datetime) -> datetime:
    # Defensive: an aggregate's value may come back naive (UTC) from SQLite.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _confirm(conn: Connection, pending: PendingSignup, email: str, now: datetime) -> Confirmation:
    found = ops.find(conn, email)
    first_time = found is None or found.status != Status.SUBSCRIBED
    if found is not None and found.status == Status.COMPLAINED:
        return Confirmation(ConfirmState.REFUSED, found, pending.lists, first_time=False)
    if found is None:
        subscriber_id = ops.create(
            conn,
            email,
            status=Status.SUBSCRIBED,
            reason=CONFIRMED_REASON,
            source=Source.WEB,
            now=now,
            name=pending.name,
        )
    else:
        subscriber_id = found.id
        if found.status != Status.SUBSCRIBED:
            ops.set_status(
                conn,
                email,
                Status.SUBSCRIBED,
                reason=CONFIRMED_REASON,
                source=Source.WEB,
                now=now,
                create_missing=False,
            )
    for list_name in pending.lists:
        ops.join_list(conn, subscriber_id, list_name, now)
    conn.execute(
        update(subs)
        .where(subs.c.id == subscriber_id)
        .values(
            consent_posted_at=pending.posted_at,
            consent_confirmed_at=now,
            consent_text_hash=pending.consent_text_hash,
            consent_ip=pending.consent_ip,
            updated_at=now,
            **({"name": pending.name} if pending.name else {}),
        )
    )
    conn.execute(
        update(signups)
        .where(signups.c.id == pending.id)
        .values(confirmed_at=now, subscriber_id=subscriber_id, email=None, name=None)
    )
    subscriber = ops.find_by_id(conn, subscriber_id)
    return Confirmation(ConfirmState.SUBSCRIBED, subscriber, pending.lists, first_time)
