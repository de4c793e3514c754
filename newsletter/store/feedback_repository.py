"""Provider feedback in the store: suppressions and the provider's delivery events.

Each method is one transaction over the set-based functions of
`newsletter.store.feedback`, which also holds the rules that always apply
(nothing here resubscribes; an event id is applied once).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

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

    def __init__(self, database: Database) -> None:
        self._db = database

    def suppress(self, entries: Iterable[Suppression], *, source: Source) -> SuppressReport:
        """Record suppressions in one transaction; never resubscribes anyone."""
        with self._db.write() as conn:
            return suppress_many(conn, entries, source=source, now=self._db.clock.now())

    def apply_provider_events(
        self,
        events: Sequence[ProviderEvent],
        *,
        source: Source = Source.WEBHOOK,
        per_reader: bool = False,
    ) -> EventsReport:
        """Apply a webhook request in one transaction, committed before it returns;
        `per_reader` (config `tracking.per_reader`) also keeps who opened and clicked."""
        with self._db.write() as conn:
            return apply_events(
                conn, events, source=source, now=self._db.clock.now(), per_reader=per_reader
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
