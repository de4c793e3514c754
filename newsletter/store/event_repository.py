"""SendGrid's events as the report reads them (`store.events`).

Each method is one read transaction over `newsletter.store.events` (what is kept and
the rules it follows) and the ledger's tables.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Connection, and_, func, select

from newsletter.states import DeliveryState
from newsletter.store import events
from newsletter.store.database import Database
from newsletter.store.event_types import ATTRIBUTION_WINDOW, EventTotals
from newsletter.store.models import Status
from newsletter.store.schema import deliveries, sends, status_history

REACHED = (DeliveryState.ACCEPTED.value, DeliveryState.AMBIGUOUS.value)
CHUNK = 500


class EventRepository:
    """What SendGrid's events say about each issue: counts, links, anomalies."""

    def __init__(self, database: Database, *, per_reader: bool = False) -> None:
        self._db = database
        # config `tracking.per_reader`: unique openers and clickers are known.
        self.per_reader = per_reader

    def totals(self, issue_id: str, list_name: str | None = None) -> EventTotals:
        """The counts of one issue's events (one list, or all its lists summed; an issue
        nobody reported on has every count 0). `unique_openers` and each link's
        `unique_clickers` are None unless per-reader engagement is kept."""
        with self._db.read() as conn:
            return events.totals(conn, issue_id, list_name, per_reader=self.per_reader)

    def anomaly_count(self, issue_id: str, list_name: str | None = None) -> int:
        """Every anomaly stored for the issue (`totals` lists the first 1,000)."""
        with self._db.read() as conn:
            return events.anomaly_count(conn, issue_id, list_name)

    def unsubscribes_attributed(
        self, issue_id: str, list_name: str | None = None, *, within: timedelta = ATTRIBUTION_WINDOW
    ) -> int:
        """Readers this issue reached (accepted or ambiguous) who unsubscribed within
        `within` after its send started, each counted once, by any route: the issue's
        one-click or unsubscribe page, the List-Unsubscribe header, SendGrid's own
        unsubscribe links (all recorded in the status history). An unsubscribe after a
        later issue reached the same reader belongs to that later issue. Our
        unsubscribe links name the reader, not the issue, so the time is what ties
        an unsubscribe to an issue."""
        with self._db.read() as conn:
            return _attributed(conn, issue_id, list_name, within)


def _attributed(conn: Connection, issue_id: str, list_name: str | None, within: timedelta) -> int:
    scope = sends.c.issue_id == issue_id
    if list_name is not None:
        scope = and_(scope, sends.c.list_name == list_name)
    readers: set[int] = set()
    for send_id, started in conn.execute(select(sends.c.id, sends.c.started_at).where(scope)):
        # Each reader's first unsubscribe in the window (the history's time index bounds
        # it), kept if this send reached them (the (send, subscriber) index): two steps,
        # so no database plans it as a scan of the send's every delivery.
        left = dict(
            conn.execute(
                select(status_history.c.subscriber_id, func.min(status_history.c.at))
                .where(
                    status_history.c.to_status == Status.UNSUBSCRIBED.value,
                    status_history.c.at >= started,
                    status_history.c.at < started + within,
                )
                .group_by(status_history.c.subscriber_id)
            ).all()
        )
        first = {reader: left[reader] for reader in _reached(conn, send_id, sorted(left))}
        for later_id, later_start in conn.execute(
            select(sends.c.id, sends.c.started_at).where(
                sends.c.issue_id != issue_id,
                sends.c.started_at > started,
                sends.c.started_at < started + within,
            )
        ):
            # A later issue that reached the reader before they left takes the unsubscribe.
            for reader in _reached(conn, later_id, sorted(first)):
                if later_start <= first[reader]:
                    del first[reader]
        readers.update(first)
    return len(readers)


def _reached(conn: Connection, send_id: int, readers: list[int]) -> list[int]:
    """Those of `readers` the send reached (accepted or ambiguous)."""
    found: list[int] = []
    for start in range(0, len(readers), CHUNK):
        # The state is checked here, not in SQL: with it there SQLite walks the send's
        # every accepted delivery by (send, state) instead of probing (send, subscriber).
        rows = conn.execute(
            select(deliveries.c.subscriber_id, deliveries.c.state).where(
                deliveries.c.send_id == send_id,
                deliveries.c.subscriber_id.in_(readers[start : start + CHUNK]),
            )
        )
        found.extend(reader for reader, state in rows if state in REACHED)
    return found
