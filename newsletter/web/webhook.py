"""SendGrid's Event Webhook: verify, parse, de-duplicate, apply; answer with a status.

Synchronous and free of HTTP: the app hands over the raw body and the two
signature headers and sends back the answer. Order matters: nothing is parsed,
let alone stored, before the signature and its age have been checked.

| request | answer | store |
|---|---|---|
| no webhook key in config.yaml | 503 (SendGrid keeps retrying) | untouched |
| signature headers missing | 401 | untouched |
| bad signature, other key, old or future timestamp | 403 | untouched |
| signed, but not a JSON array of events | 400 | untouched |
| signed events | 200 | applied once each, committed before the answer |
| the store failing | 503 (SendGrid retries) | rolled back |
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from newsletter.errors import MalformedEventsError, SignatureError, StoreError
from newsletter.store.feedback import EventsReport, ProviderEvent
from newsletter.store.models import Source
from newsletter.store.store import Store
from newsletter.web.events import Event, delivery_update, parse_events, suppression
from newsletter.web.signature import MAX_AGE_SECONDS, verify


@dataclass(frozen=True)
class Answer:
    """The HTTP status and JSON body to send back."""

    status: int
    body: dict[str, Any] = field(default_factory=dict)


def to_provider_event(event: Event) -> ProviderEvent:
    """What one SendGrid event changes in the store (see newsletter.web.events)."""
    return ProviderEvent(
        event_id=event.sg_event_id,
        event=event.event,
        suppression=suppression(event),
        delivery=delivery_update(event),
    )


def _report(report: EventsReport) -> dict[str, Any]:
    return {
        "received": report.received,
        "duplicates": report.duplicates,
        "suppressed": report.suppressions.suppressed,
        "deliveries_updated": report.deliveries_updated,
    }


class SendGridWebhook:
    """Receives SendGrid's signed event batches for one store."""

    def __init__(
        self,
        store: Store,
        key: ec.EllipticCurvePublicKey | None,
        *,
        max_age: int = MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.time,
        writes: AbstractContextManager[object] | None = None,
    ) -> None:
        self.store = store
        self.key = key
        self.max_age = max_age
        self.clock = clock
        self.writes = writes or nullcontext()

    def handle(self, body: bytes, signature: str | None, timestamp: str | None) -> Answer:
        if self.key is None:
            return Answer(503, {"error": "webhook.sendgrid_public_key is not configured"})
        if not signature or not timestamp:
            return Answer(401, {"error": "unsigned request"})
        try:
            verify(self.key, body, signature, timestamp, now=self.clock(), max_age=self.max_age)
            events = [to_provider_event(event) for event in parse_events(body)]
        except SignatureError as err:
            return Answer(403, {"error": err.message})
        except MalformedEventsError as err:
            return Answer(400, {"error": err.message})
        try:
            with self.writes:
                report = self.store.apply_provider_events(events, source=Source.WEBHOOK)
        except StoreError:
            return Answer(503, {"error": "the store is unavailable; retry later"})
        return Answer(200, _report(report))
