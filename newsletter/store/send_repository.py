"""Sends and the ledger: what was sent to whom, batch by batch, and the run lock.

Each method is one transaction over the functions of `newsletter.store.ledger`
(the rules that make a send exactly-once live there) and `newsletter.store.lock`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import func, select

from newsletter.errors import InputError
from newsletter.states import DeliveryState, SendState
from newsletter.store import ledger
from newsletter.store.database import Database
from newsletter.store.ledger import Batch, ForcedSend, Outcomes, SendRecord
from newsletter.store.lock import SendLock
from newsletter.store.schema import deliveries


class SendRepository:
    """The sends of a store (`store.sends`): open, claim, record, finish, count."""

    def __init__(self, database: Database) -> None:
        self._db = database
        self._lock = SendLock(database)

    # ------------------------------------------------------------------ the lock

    @contextmanager
    def send_lock(self, issue_id: str, list_name: str) -> Iterator[None]:
        """Hold the store's lock on sending this issue to this list, or raise LockedError."""
        with self._lock.hold(issue_id, list_name):
            yield

    # ------------------------------------------------------------------ sends

    def find_send(self, issue_id: str, list_name: str) -> SendRecord | None:
        with self._db.read() as conn:
            return ledger.find_send(conn, issue_id, list_name)

    def get_send(self, send_id: int) -> SendRecord:
        with self._db.read() as conn:
            return ledger.get_send(conn, send_id)

    def sends(self, issue_id: str | None = None) -> list[SendRecord]:
        with self._db.read() as conn:
            return ledger.all_sends(conn, issue_id)

    def open_send(
        self,
        *,
        issue_id: str,
        list_name: str,
        content_hash: str,
        message_hash: str,
        transport: str,
        force: bool = False,
        send_at: datetime | None = None,
        batch_id: str | None = None,
        forced: ForcedSend | None = None,
    ) -> SendRecord:
        """The send of this issue to this list: created (audience frozen) on first use,
        resumed afterwards. A changed digest is refused unless `force`. `forced` (a send
        pushed past the pre-send check) is recorded on the send: reason, who, now."""
        with self._db.write() as conn:
            existing = ledger.find_send(conn, issue_id, list_name)
            if forced is not None and existing is not None:
                ledger.update_send(conn, existing.id, **self._forced(forced))
            if existing is None:
                created = ledger.create_send(
                    conn,
                    issue_id=issue_id,
                    list_name=list_name,
                    content_hash=content_hash,
                    message_hash=message_hash,
                    transport=transport,
                    now=self._db.clock.now(),
                    send_at=send_at,
                    batch_id=batch_id,
                )
                if forced is None:
                    return created
                ledger.update_send(conn, created.id, **self._forced(forced))
                return ledger.get_send(conn, created.id)
            if existing.content_hash != content_hash and not force:
                raise InputError(
                    f"{issue_id} changed since its send to {list_name} started "
                    f"({existing.started_at:%Y-%m-%d %H:%M} UTC): the recipients already sent "
                    "to got the earlier version",
                    hint="send the rest anyway with --force, or restore the digest as it was",
                )
            values: dict[str, object] = {"state": SendState.RUNNING, "transport": transport}
            if force:
                values.update(content_hash=content_hash, message_hash=message_hash)
            if send_at is not None:
                values.update(send_at=send_at, batch_id=batch_id)
            if existing.state == SendState.FINISHED:
                values["state"] = SendState.FINISHED
            ledger.update_send(conn, existing.id, **values)
            return ledger.get_send(conn, existing.id)

    def _forced(self, forced: ForcedSend) -> dict[str, object]:
        return {
            "force_reason": forced.reason,
            "forced_by": forced.by,
            "forced_at": self._db.clock.now(),
        }

    def mark_interrupted(self, send_id: int) -> int:
        with self._db.write() as conn:
            return ledger.mark_interrupted(conn, send_id, self._db.clock.now())

    def requeue(self, send_id: int, states: Iterable[str]) -> int:
        with self._db.write() as conn:
            count = ledger.requeue(conn, send_id, states, self._db.clock.now())
            if count:
                ledger.update_send(conn, send_id, state=SendState.RUNNING, finished_at=None)
            return count

    def finish_send(self, send_id: int, state: str, *, note: str | None) -> None:
        with self._db.write() as conn:
            ledger.update_send(
                conn, send_id, state=state, note=note, finished_at=self._db.clock.now()
            )

    def cancel_send(self, send_id: int) -> int:
        """A scheduled send was cancelled at the provider: its recipients are pending again."""
        with self._db.write() as conn:
            now = self._db.clock.now()
            count = ledger.requeue(conn, send_id, (DeliveryState.ACCEPTED,), now)
            ledger.update_send(
                conn,
                send_id,
                state=SendState.CANCELLED,
                note="scheduled send cancelled",
                finished_at=now,
                send_at=None,
                batch_id=None,
            )
            return count

    # ------------------------------------------------------------------ batches

    def last_batch_number(self, send_id: int) -> int:
        with self._db.read() as conn:
            value = conn.execute(
                select(func.max(deliveries.c.batch)).where(deliveries.c.send_id == send_id)
            ).scalar_one()
        return int(value or 0)

    def claim_batch(self, send_id: int, after_id: int, size: int, number: int) -> Batch | None:
        """Claim the next batch and commit it as `sending` before anything is sent."""
        with self._db.write() as conn:
            self._lock.check(conn)
            return ledger.claim_batch(conn, send_id, after_id, size, number, self._db.clock.now())

    def record_outcomes(self, send_id: int, batch: int, outcomes: Outcomes) -> None:
        """Record what happened to every delivery of one claimed batch."""
        with self._db.write() as conn:
            ledger.record_outcomes(conn, send_id, batch, outcomes, self._db.clock.now())

    def send_counts(self, send_id: int) -> dict[str, int]:
        with self._db.read() as conn:
            return ledger.counts(conn, send_id)

    def send_overlaps(self, send_id: int) -> dict[str, int]:
        """Members this send left out because another send of the issue has them, by
        that send's list (a reader on two lists gets the issue once)."""
        with self._db.read() as conn:
            return ledger.overlaps(conn, send_id)

    def ambiguous_batches(self, send_id: int, counts: dict[str, int] | None = None) -> int:
        """How many batches of the send hold readers in doubt. Given the send's `counts`
        (`send_counts`), 0 without a lookup when they hold none: the lookup reads the
        whole send (the ledger's index is by delivery id, not state: migration 0010)."""
        if counts is not None and not counts.get(DeliveryState.AMBIGUOUS):
            return 0
        with self._db.read() as conn:
            return ledger.ambiguous_batches(conn, send_id)

    def last_in_doubt_at(self, send_id: int) -> datetime | None:
        """About when the newest batch now in doubt (ambiguous or sending) went out;
        None when none is."""
        with self._db.read() as conn:
            return ledger.last_in_doubt_at(conn, send_id)

    def resolved_by_evidence(self, send_id: int) -> int:
        """Deliveries once ambiguous that SendGrid's events proved sent (now accepted)."""
        with self._db.read() as conn:
            return ledger.resolved_by_evidence(conn, send_id)

    def deliveries_in(self, send_id: int, state: str, *, limit: int = 5) -> list[tuple[str, str]]:
        with self._db.read() as conn:
            return ledger.deliveries_in(conn, send_id, state, limit)
