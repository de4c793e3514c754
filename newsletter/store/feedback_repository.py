"""Provider feedback in the store: suppressions and the provider's delivery events.

Each method is one transaction over the set-based functions of
`newsletter.store.feedback`, which also holds the rules that always apply
(nothing here resubscribes; an event id is applied once).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection

from newsletter.secrets import Secret, signing_secret
from newsletter.store import erasures
from newsletter.store.database import Database
from newsletter.store.feedback import (
    EventsReport,
    ProviderEvent,
    Suppression,
    SuppressReport,
    apply_events,
    delivery_event,
    suppress_many,
)
from newsletter.store.models import Source


class FeedbackRepository:
    """What the provider tells us back (`store.feedback`): suppressions and events."""

    def __init__(self, database: Database, secret: Callable[[], Secret] = signing_secret) -> None:
        self._db = database
        self._secret = secret  # read only once something was erased (store.erasures)

    def _erased(self, conn: Connection, emails: Sequence[str]) -> set[str]:
        return erasures.erased_among(conn, emails, self._secret)

    def suppress(self, entries: Iterable[Suppression], *, source: Source) -> SuppressReport:
        """Record suppressions in one transaction; never resubscribes anyone, and never
        stores an erased address again."""
        with self._db.write() as conn:
            return suppress_many(
                conn, entries, source=source, now=self._db.clock.now(), erased=self._erased
            )

    def apply_provider_events(
        self, events: Sequence[ProviderEvent], *, source: Source = Source.WEBHOOK
    ) -> EventsReport:
        """Apply a webhook request in one transaction, committed before it returns."""
        with self._db.write() as conn:
            return apply_events(
                conn, events, source=source, now=self._db.clock.now(), erased=self._erased
            )

    def provider_event(
        self, issue_id: str, list_name: str, subscriber_id: int
    ) -> tuple[str | None, datetime | None, str | None] | None:
        """(event, when, detail) last reported for a delivery; None if no such delivery."""
        with self._db.read() as conn:
            row = delivery_event(conn, issue_id, list_name, subscriber_id)
        return (
            None
            if row is None
            else (row.provider_event, row.provider_event_at, row.provider_detail)
        )
