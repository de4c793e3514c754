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

from newsletter.states import DeliveryState, SendState
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
from newsletter.store.schema import deliveries, sends, signups
from newsletter.store.schema import subscribers as subs

CONFIRMATION_INTERVAL = timedelta(hours=1)  # at most one confirmation email per address
CONFIRMED_REASON = "confirmed sign-up (double opt-in)"
# The ledger's "list" of welcome issues: one send row per issue, holding each welcome
# delivery, so the (send, subscriber) unique index makes every welcome go out once, and
# a later send of the same issue counts its readers as already reached (an overlap).
WELCOME_LIST = "welcome"


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

    def claim_welcome(
        self,
        *,
        issue_id: str,
        subscriber_id: int,
        content_hash: str,
        message_hash: str,
        transport: str,
    ) -> int | None:
        """Claim the welcome delivery of `issue_id` to a subscriber, committed before it
        is sent: its delivery id, or None when that reader already has the issue (a
        welcome before, or any send of it). The issue's welcome send (list
        `WELCOME_LIST`) is created on first use, already finished: dispatch never
        resumes it, and a later send of the issue leaves its readers out."""
        now = self._db.clock.now()
        with self._db.write() as conn:
            dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
            conn.execute(
                dialect.insert(sends)
                .values(
                    issue_id=issue_id,
                    list_name=WELCOME_LIST,
                    content_hash=content_hash,
                    message_hash=message_hash,
                    transport=transport,
                    state=SendState.FINISHED,
                    started_at=now,
                    finished_at=now,
                    note="welcome issues of readers who confirmed a sign-up",
                    removed=0,
                )
                .on_conflict_do_nothing(index_elements=["issue_id", "list_name"])
            )
            send_id = conn.execute(
                select(sends.c.id).where(
                    sends.c.issue_id == issue_id, sends.c.list_name == WELCOME_LIST
                )
            ).scalar_one()
            reached = conn.execute(
                select(deliveries.c.id)
                .join(sends, sends.c.id == deliveries.c.send_id)
                .where(sends.c.issue_id == issue_id, deliveries.c.subscriber_id == subscriber_id)
                .limit(1)
            ).first()
            email = conn.execute(
                select(subs.c.email).where(
                    subs.c.id == subscriber_id, subs.c.status == Status.SUBSCRIBED
                )
            ).scalar_one_or_none()
            if reached is not None or email is None:
                return None
            inserted = conn.execute(
                dialect.insert(deliveries)
                .values(
                    send_id=send_id,
                    subscriber_id=subscriber_id,
                    email=email,
                    state=DeliveryState.SENDING,
                    attempts=1,
                    batch=0,
                    updated_at=now,
                )
                .on_conflict_do_nothing(index_elements=["send_id", "subscriber_id"])
                .returning(deliveries.c.id)
            ).scalar_one_or_none()
        return int(inserted) if inserted is not None else None

    def record_welcome(
        self, delivery_id: int, state: DeliveryState, provider_id: str | None, error: str | None
    ) -> None:
        """The outcome of a claimed welcome delivery (accepted, failed, ambiguous, or
        pending for a deferral: it then stays unsent; nothing retries a welcome)."""
        with self._db.write() as conn:
            conn.execute(
                update(deliveries)
                .where(deliveries.c.id == delivery_id, deliveries.c.state == DeliveryState.SENDING)
                .values(
                    state=state,
                    provider_message_id=provider_id,
                    last_error=error,
                    updated_at=self._db.clock.now(),
                )
            )

    def forget(self, address_hash: str) -> int:
        """Delete every sign-up of an address (for erasure); how many rows went."""
        with self._db.write() as conn:
            return int(
                conn.execute(delete(signups).where(signups.c.address_hash == address_hash)).rowcount
            )


def _aware(value: datetime | str) -> datetime:
    # An aggregate may lose the column's type on SQLite: naive UTC, or even text.
    found = datetime.fromisoformat(value) if isinstance(value, str) else value
    return found if found.tzinfo else found.replace(tzinfo=UTC)


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
            # The name typed on the form fills in a missing one, never replaces a stored
            # one: whoever posted the form may not be the address's owner, and the
            # Confirm page does not show the name the owner would be agreeing to.
            **(
                {"name": pending.name} if pending.name and (found is None or not found.name) else {}
            ),
        )
    )
    conn.execute(
        update(signups)
        .where(signups.c.id == pending.id)
        .values(confirmed_at=now, subscriber_id=subscriber_id, email=None, name=None)
    )
    subscriber = ops.find_by_id(conn, subscriber_id)
    return Confirmation(ConfirmState.SUBSCRIBED, subscriber, pending.lists, first_time)
