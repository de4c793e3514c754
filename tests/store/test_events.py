"""The report's event counts on both databases: batches add up (the upsert path), first
and last times widen, links add up per URL, evidence settles ambiguous deliveries."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from newsletter.feedback import read_events
from newsletter.states import DeliveryState
from newsletter.store import Store
from tests.web.support import mark_sent, subscribe

ISSUE = "2025-09-12"
T0 = 1_800_000_000
LINK = "https://www.ft.com/content/abc?utm_source=digest#x"


def event(n: int, kind: str, event_id: str, at: int, **fields: Any) -> dict[str, Any]:
    return {
        "email": f"reader{n:05d}@example.com",
        "event": kind,
        "sg_event_id": event_id,
        "timestamp": at,
        "issue": ISSUE,
        "list": "weekly",
        "subscriber_id": str(n),
        **fields,
    }


def apply(store: Store, events: list[dict[str, Any]]) -> Any:
    batch = read_events(json.dumps(events).encode())
    return store.feedback.apply_provider_events(batch.changes)


def open_send(store: Store, state: str = DeliveryState.ACCEPTED) -> int:
    subscribe(store, 3)
    send = store.sends.open_send(
        issue_id=ISSUE, list_name="weekly", content_hash="c" * 64, message_hash="m" * 64,
        transport="sendgrid",
    )  # fmt: skip
    mark_sent(store, send.id, state)
    return send.id


def test_batches_add_up_and_times_widen(store: Store) -> None:
    """Two batches of the same kinds add to the stored counts (not replace them); the
    first and last times are the earliest and latest event seen, whatever the order."""
    open_send(store)
    apply(
        store, [event(1, "delivered", "d1", T0 + 10), event(1, "click", "c1", T0 + 500, url=LINK)]
    )
    apply(store, [event(2, "delivered", "d2", T0), event(2, "click", "c2", T0 + 900, url=LINK)])
    apply(store, [event(3, "dropped", "x3", T0 + 5, reason="Spam Content")])
    totals = store.events.totals(ISSUE)
    assert (totals.counts["delivered"], totals.counts["click_human"]) == (2, 2)
    assert totals.dropped_by_reason == {"Spam Content": 1}
    assert [(link.url, link.human, link.scanner) for link in totals.links] == [(LINK, 2, 0)]
    assert totals.first_event_at == datetime.fromtimestamp(T0, UTC)
    assert totals.last_event_at == datetime.fromtimestamp(T0 + 900, UTC)


def test_evidence_settles_ambiguous_on_both_databases(store: Store) -> None:
    """processed for an ambiguous delivery makes it accepted, once, with the event id."""
    send_id = open_send(store, DeliveryState.AMBIGUOUS)
    report = apply(store, [event(1, "processed", "p1", T0), event(1, "delivered", "d1", T0 + 1)])
    assert report.resolved == 1
    assert store.sends.send_counts(send_id) == {"accepted": 1, "ambiguous": 2}
    assert store.sends.resolved_by_evidence(send_id) == 1
    assert store.events.totals(ISSUE).resolved_by_evidence == 1
