"""The Store's dispatch side: sends, batches, outcomes and the run lock.

A mixin so the ledger's methods sit beside, not inside, the subscriber methods;
each one is a single transaction over `newsletter.store.ledger`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, func, select

from newsletter.errors import InputError, LockedError
from newsletter.store import ledger
from newsletter.store import subscribers as subscriber_ops
from newsletter.addresses import parse_email
from newsletter.store.ledger import Batch, LockHolder, Outcomes, SendRecord
from newsletter.store.models import Source, Status, Subscriber
from newsletter.store.schema import deliveries

STALE_LOCK_AFTER = timedelta(minutes=15)


def _now() -> datetime:
    return datetime.now(UTC)


class SendingMixin:
    """Ledger methods of `Store`; relies on its `_read` and `_write` transactions."""

    _held: tuple[str, LockHolder] | None = None

    def _read(self) -> AbstractContextManager[Connection]:  # provided by Store
        raise NotImplementedError

    def _write(self, *, dry_run: bool = False) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    # ------------------------------------------------------------------ the lock

    @contextmanager
    def send_lock(self, issue_id: str, list_name: str) -> Iterator[None]:
        """Hold the store's lock on sending this issue to this list, or raise LockedError."""
        name = f"send:{issue_id}:{list_name}"
        me = ledger.this_process("newsletter")
        with self._write() as conn:
            ledger.acquire_lock(conn, name, me, _now(), STALE_LOCK_AFTER)
        self._held = (name, me)
        try:
            yield
        finally:
            self._held = None
            with self._write() as conn:
                ledger.release_lock(conn, name, me)

    def _heartbeat(self, conn: Connection) -> None:
        if self._held is None:
            return
        name, me = self._held
        if not ledger.heartbeat(conn, name, me, _now()):
            raise LockedError(
                "this run lost its lock (another run took it over as stale); stopping",
                hint="`newsletter status` shows where the send stands",
            )

    # ------------------------------------------------------------------ sends

    def find_send(self, issue_id: str, list_name: str) -> SendRecord | None:
        with self._read() as conn:
            return ledger.find_send(conn, issue_id, list_name)

    def get_send(self, send_id: int) -> SendRecord:
        with self._read() as conn:
            return ledger.get_send(conn, send_id)

    def sends(self, issue_id: str | None = None) -> list[SendRecord]:
        with self._read() as conn:
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
    ) -> SendRecord:
        """The send of this issue to this list: created (audience frozen) on first use,
        resumed afterwards. A changed digest is refused unless `force`."""
        with self._write() as conn:
            existing = ledger.find_send(conn, issue_id, list_name)
            if existing is None:
                return ledger.create_send(
                    conn,
                    issue_id=issue_id,
                    list_name=list_name,
                    content_hash=content_hash,
                    message_hash=message_hash,
                    transport=transport,
                    now=_now(),
                    send_at=send_at,
                    batch_id=batch_id,
                )
            if existing.content_hash != content_hash and not force:
                raise InputError(
                    f"{issue_id} changed since its send to {list_name} started "
                    f"({existing.started_at:%Y-%m-%d %H:%M} UTC): the recipients already sent "
                    "to got the earlier version",
                    hint="send the rest anyway with --force, or restore the digest as it was",
                )
            values: dict[str, object] = {"state": ledger.RUNNING, "transport": transport}
            if force:
                values.update(content_hash=content_hash, message_hash=message_hash)
            if send_at is not None:
                values.update(send_at=send_at, batch_id=batch_id)
            if existing.state == ledger.FINISHED:
                values["state"] = ledger.FINISHED
            ledger.update_send(conn, existing.id, **values)
            return ledger.get_send(conn, existing.id)

    def mark_interrupted(self, send_id: int) -> int:
        with self._write() as conn:
            return ledger.mark_interrupted(conn, send_id, _now())

    def requeue(self, send_id: int, states: Iterable[str]) -> int:
        with self._write() as conn:
            count = ledger.requeue(conn, send_id, states, _now())
            if count:
                ledger.update_send(conn, send_id, state=ledger.RUNNING, finished_at=None)
            return count

    def finish_send(self, send_id: int, state: str, *, note: str | None) -> None:
        with self._write() as conn:
            ledger.update_send(conn, send_id, state=state, note=note, finished_at=_now())

    def cancel_send(self, send_id: int) -> int:
        """A scheduled send was cancelled at the provider: its recipients are pending again."""
        with self._write() as conn:
            count = ledger.requeue(conn, send_id, (ledger.ACCEPTED,), _now())
            ledger.update_send(
                conn,
                send_id,
                state=ledger.CANCELLED,
                note="scheduled send cancelled",
                finished_at=_now(),
                send_at=None,
                batch_id=None,
            )
            return count

    def ensure_subscriber(self, email: str) -> Subscriber:
        """The stored subscriber for an address, created (on no list) if new: previews
        to any address still carry a working unsubscribe link."""
        address = parse_email(email, new=True)
        with self._write() as conn:
            found = subscriber_ops.find(conn, address)
            if found is not None:
                return found
            subscriber_ops.create(
                conn,
                address,
                status=Status.SUBSCRIBED,
                reason="preview recipient",
                source=Source.CLI,
                now=_now(),
            )
            return subscriber_ops.require(conn, address)

    # ------------------------------------------------------------------ batches

    def last_batch_number(self, send_id: int) -> int:
        with self._read() as conn:
            value = conn.execute(
                select(func.max(deliveries.c.batch)).where(deliveries.c.send_id == send_id)
            ).scalar_one()
        return int(value or 0)

    def claim_batch(self, send_id: int, after_id: int, size: int, number: int) -> Batch | None:
        """Claim the next batch and commit it as `sending` before anything is sent."""
        with self._write() as conn:
            self._heartbeat(conn)
            return ledger.claim_batch(conn, send_id, after_id, size, number, _now())

    def record_outcomes(self, send_id: int, batch: int, outcomes: Outcomes) -> None:
        """Record what happened to every delivery of one claimed batch."""
        with self._write() as conn:
            ledger.record_outcomes(conn, send_id, batch, outcomes, _now())

    def send_counts(self, send_id: int) -> dict[str, int]:
        with self._read() as conn:
            return ledger.counts(conn, send_id)

    def send_overlaps(self, send_id: int) -> dict[str, int]:
        """Members this send left out because another send of the issue has them, by
        that send's list (a reader on two lists gets the issue once)."""
        with self._read() as conn:
            return ledger.overlaps(conn, send_id)

    def ambiguous_batches(self, send_id: int) -> int:
        with self._read() as conn:
            return ledger.ambiguous_batches(conn, send_id)

    def deliveries_in(self, send_id: int, state: str, *, limit: int = 5) -> list[tuple[str, str]]:
        with self._read() as conn:
            return ledger.deliveries_in(conn, send_id, state, limit)
